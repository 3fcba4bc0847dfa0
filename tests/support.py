"""Helpers shared by the integration and e2e tests: the test stack's addresses, an
independent Kafka reader, the SMTP server's mailbox, and waiting for eventual effects.

Waiting is not timing: `eventually` polls until a condition holds and fails with the
last observation if it never does, so a slow machine makes a test slower, not red.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psycopg
from aiokafka import AIOKafkaProducer
from psycopg import sql

from events.envelope import Envelope
from infra import InfraSettings, kafka
from infra.services import SERVICES
from infra.settings import REPO_ROOT
from infra.smtp import read_messages
from runtime.identity import (
    OFFICE_ISSUER,
    REGISTRATION_ISSUER,
    Gate,
    RevocationList,
    RevocationStore,
    Role,
    TokenIssuer,
    Trust,
)
from runtime.identity.tokens import new_signing_key, private_key_pem, trust_entry
from runtime.process import ServiceProcess

T = TypeVar("T")

#: JIP_TEST_SLOT=N (default 0) gives a test session a stack of its own (ports shifted by
#: 1000 * N, its own data directory and databases), so that several checkouts on one
#: machine can run their suites at once without sharing a broker or consumer groups.
TEST_SLOT = int(os.environ.get("JIP_TEST_SLOT", "0"))
_SHIFT = 1000 * TEST_SLOT
HTTP_PORTS = {name: 18101 + i + _SHIFT for i, name in enumerate(SERVICES)}


class TestIdentity:
    """The test session's identity issuers: an office issuer and registration's, each
    with a key pair made for this session (never written anywhere), and the trust
    document every service under test is given. Tokens are issued as the admin command
    and registration issue them."""

    def __init__(self) -> None:
        self.office_key = new_signing_key()
        self.registration_key = new_signing_key()
        self.office = TokenIssuer(OFFICE_ISSUER, self.office_key)
        self.registration = TokenIssuer(REGISTRATION_ISSUER, self.registration_key)
        self.trust = json.dumps(
            {
                "issuers": [
                    trust_entry(OFFICE_ISSUER, ["staff", "company"], [self.office.jwk]),
                    trust_entry(REGISTRATION_ISSUER, ["applicant"], [self.registration.jwk]),
                ]
            }
        )

    def staff(self, role: Role, staff_id: str | None = None, **kw: Any) -> str:
        return self.office.issue(
            "staff", staff_id or f"test-{role}", HOURS_12, role=role, **kw
        ).token

    def company(self, company_id: uuid.UUID, user_id: str = "hr-manager") -> str:
        return self.office.issue("company", user_id, HOURS_12, company_id=company_id).token

    def applicant(self, applicant_id: uuid.UUID | str) -> str:
        return self.registration.issue("applicant", str(applicant_id), HOURS_12).token

    def settings(self, service: str) -> dict[str, Any]:
        """A service's identity settings on the test stack (trust, revocation store,
        registration's signing key)."""
        values: dict[str, Any] = {
            "trust": self.trust,
            "revocations_database": database_of("identity"),
        }
        if service == "registration":
            values["applicant_signing_key"] = private_key_pem(self.registration_key)
        return values

    def gate(self) -> Gate:
        """The gate of a service under test, for an HTTP API built without its bootstrap."""
        dsn = test_infra_settings().postgres_dsn(database_of("identity"))
        return Gate(
            Trust.from_document(json.loads(self.trust)),
            RevocationList(dsn),
        )

    def revocations(self) -> RevocationStore:
        store = RevocationStore(
            test_infra_settings().postgres_dsn(database_of("identity")), timedelta(days=90)
        )
        store.create()
        return store


HOURS_12 = timedelta(hours=12)
IDENTITY = TestIdentity()
#: The office's administrator, acting as the one office account the tests knew before
#: identities came (so the actor recorded is the same).
STAFF_TOKEN = IDENTITY.staff("admin", "office-staff")
STAFF = {"Authorization": f"Bearer {STAFF_TOKEN}"}
#: The privacy officer: the one office role that reads what a service holds on a person.
OFFICER = {"Authorization": f"Bearer {IDENTITY.staff('privacy_officer', 'privacy-officer')}"}


def test_infra_settings() -> InfraSettings:
    """A stack of its own for the test session, beside the development one."""
    return InfraSettings(
        var_dir=REPO_ROOT / "var" / ("test" if TEST_SLOT == 0 else f"test{TEST_SLOT}"),
        kafka_port=19092 + _SHIFT,
        kafka_controller_port=19093 + _SHIFT,
        smtp_port=18025 + _SHIFT,
        keystore_database=database_of("keystore"),
    )


def keystore_settings(infra: InfraSettings) -> dict[str, str]:
    """The test stack's key store, for a service's settings (`keystore_dsn=...`)."""
    return {
        "keystore_dsn": infra.keystore_dsn(),
        "keystore_master_key": infra.keystore_master_key(),
    }


def personal_data(infra: InfraSettings) -> Any:
    """A client of the test stack's key store, as a service has one."""
    from runtime.keystore import KeyStore, master_key_from_text
    from runtime.privacy import PersonalData

    return PersonalData(
        KeyStore(infra.keystore_dsn(), master_key_from_text(infra.keystore_master_key()))
    )


def database_of(service: str) -> str:
    return f"jip_test_{service}" if TEST_SLOT == 0 else f"jip_test{TEST_SLOT}_{service}"


def fresh_cohort_id(fiscal_year: int | None = None) -> str:
    """A cohort id that no cohort in the test store has (the store outlives a session,
    and a reused id would be a cohort with other terms): a further call of `fiscal_year`
    ("FY2026-T01234"), by default of the fiscal year whose window `cohort_window` gives,
    so that the office may open it now."""
    from kernel.fiscal import fiscal_year_of
    from services.registration.domain.cohort import cohort_aggregate_id

    year = fiscal_year or fiscal_year_of(datetime.now(UTC) + timedelta(days=31))
    dsn = test_infra_settings().postgres_dsn(database_of("registration"))
    with psycopg.connect(dsn) as conn:
        exists = conn.execute("SELECT to_regclass('registration_events')").fetchone()
        for _ in range(1000):
            cohort_id = f"FY{year}-T{random.randint(0, 99999):05d}"
            if exists is None or exists[0] is None:
                return cohort_id
            taken = conn.execute(
                "SELECT 1 FROM registration_events WHERE originator_id = %s LIMIT 1",
                (cohort_aggregate_id(cohort_id),),
            ).fetchone()
            if taken is None:
                return cohort_id
    raise RuntimeError(f"no free cohort id of FY{year} in the test store")


def current_cohort_id() -> str:
    """The call of the fiscal year `cohort_window` fits (e.g. "FY2026"), for an
    in-memory store, where no other test's cohort can clash with it."""
    from kernel.fiscal import fiscal_year_of

    return f"FY{fiscal_year_of(datetime.now(UTC) + timedelta(days=31))}"


def cohort_window(open_now: bool = True) -> dict[str, str]:
    """The calendar of a test cohort opened now, as `POST /cohorts` takes it: taking
    applications (from yesterday for 30 days) or closed since yesterday, with results
    due after it closes. It fits the fiscal year of `fresh_cohort_id()`."""
    now = datetime.now(UTC)
    opens = now - timedelta(days=1) if open_now else now - timedelta(days=30)
    closes = now + timedelta(days=30) if open_now else now - timedelta(days=1)
    return {
        "applications_open_at": opens.isoformat(),
        "applications_close_at": closes.isoformat(),
        "results_by": (closes + timedelta(days=1)).date().isoformat(),
    }


def registration_settings(infra: InfraSettings, documents_dir: Path, **extra: Any) -> Any:
    """Registration run in the test session, on the test stack, keeping its documents in
    `documents_dir`."""
    from services.registration.settings import RegistrationSettings

    port = HTTP_PORTS["registration"]
    return RegistrationSettings(
        http_port=port,
        public_base_url=f"http://127.0.0.1:{port}",
        pg_database=database_of("registration"),
        kafka_bootstrap=f"127.0.0.1:{infra.kafka_port}",
        smtp_port=infra.smtp_port,
        documents_dir=documents_dir,
        keystore_dsn=infra.keystore_dsn(),
        keystore_master_key=infra.keystore_master_key(),
        **{**IDENTITY.settings("registration"), **extra},
    )


def service_env(service: str, infra: InfraSettings, **extra: str) -> dict[str, str]:
    """Environment variables that point one service at the test stack."""
    prefix = f"JIP_{service.upper()}_"
    port = HTTP_PORTS[service]
    env = {
        "PG_DATABASE": database_of(service),
        "PG_HOST": infra.pg_host,
        "PG_PORT": str(infra.pg_port),
        "PG_USER": infra.pg_user,
        "PG_PASSWORD": infra.pg_password,
        "KAFKA_BOOTSTRAP": f"{infra.kafka_host}:{infra.kafka_port}",
        "SMTP_HOST": infra.smtp_host,
        "SMTP_PORT": str(infra.smtp_port),
        "HTTP_PORT": str(port),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "KEYSTORE_DSN": infra.keystore_dsn(),
        "KEYSTORE_MASTER_KEY": infra.keystore_master_key(),
        **identity_env(service),
        **extra,
    }
    if service == "registration":
        # Where registration asks the others for their part of a disclosure.
        peers = {s: f"http://127.0.0.1:{HTTP_PORTS[s]}" for s in SERVICES if s != service}
        env.setdefault("PRIVACY_PEERS", json.dumps(peers))
    return {prefix + k: v for k, v in env.items()}


def identity_env(service: str) -> dict[str, str]:
    """A service's identity settings on the test stack, as environment variables
    (without the service's prefix)."""
    return {k.upper(): str(v) for k, v in IDENTITY.settings(service).items()}


async def eventually(
    probe: Callable[[], Awaitable[T | None]] | Callable[[], T | None],
    *,
    timeout: float = 30.0,
    interval: float = 0.2,
    what: str = "condition",
) -> T:
    """Poll `probe` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        result = probe()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result  # type: ignore[return-value]
        last = result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what} (last: {last!r})")
        await asyncio.sleep(interval)


@dataclass
class Mailbox:
    """The test SMTP server's Maildir, read as a recipient would."""

    path: Path

    def messages_to(self, address: str) -> list[EmailMessage]:
        return [m for m in read_messages(self.path) if address.lower() in str(m["To"]).lower()]

    async def wait_for(
        self, address: str, subject_contains: str, *, count: int = 1, timeout: float = 30.0
    ) -> list[EmailMessage]:
        def probe() -> list[EmailMessage] | None:
            found = [m for m in self.messages_to(address) if subject_contains in str(m["Subject"])]
            return found if len(found) >= count else None

        return await eventually(
            probe, timeout=timeout, what=f"{count} mail(s) '{subject_contains}'"
        )


def body_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


async def read_topic(infra: InfraSettings, topic: str) -> list[tuple[bytes | None, dict[str, Any]]]:
    """Everything on a topic so far, as (key, JSON value), read by a bare aiokafka
    consumer with no group: what an independent subscriber or auditor would see."""
    records: list[tuple[bytes | None, dict[str, Any]]] = []
    for record in await kafka.read_all(infra, [topic]):
        try:
            records.append((record.key, json.loads(record.value)))
        except ValueError:
            records.append((record.key, {"_unreadable": True}))
    return records


async def wait_for_event(
    infra: InfraSettings,
    topic: str,
    event_type: str,
    match: Callable[[dict[str, Any]], bool],
    *,
    timeout: float = 30.0,
) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        for _, value in await read_topic(infra, topic):
            if value.get("event_type") == event_type and match(value):
                return value
        return None

    return await eventually(probe, timeout=timeout, what=f"{event_type} on {topic}")


async def healthy(http: httpx.AsyncClient) -> bool:
    try:
        return (await http.get("/health")).status_code == 200
    except httpx.TransportError:
        return False


@asynccontextmanager
async def running(process: ServiceProcess) -> AsyncIterator[str]:
    """Run a service (built by its bootstrap) in the test session's loop for the length
    of the block; yields its base URL once its HTTP API answers."""
    task = asyncio.create_task(process.run())
    base_url = f"http://{process.http_host}:{process.http_port}"
    try:
        async with httpx.AsyncClient(base_url=base_url) as http:
            await eventually(lambda: healthy(http), what=f"{process.name} to answer")
        yield base_url
    finally:
        process.stop_event.set()
        await task


async def publish(producer: AIOKafkaProducer, topic: str, event: Envelope) -> None:
    """Publish a contract event as its producing service would: keyed by aggregate."""
    await producer.send_and_wait(
        topic, event.model_dump_json().encode(), key=str(event.aggregate_id).encode()
    )


def found_in_clear(infra: InfraSettings, service: str, values: list[str]) -> list[str]:
    """Which of `values` appear in clear anywhere in a service's database: every table
    (event store, tracking, read models), every column, stored bytes read as text. What
    an auditor with SQL access would find; `table: value` for each hit."""
    hits: list[str] = []
    wanted = [v.lower() for v in values]
    with psycopg.connect(infra.postgres_dsn(database_of(service))) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            ).fetchall()
        ]
        for table in tables:
            rows = conn.execute(
                sql.SQL("SELECT * FROM {}").format(sql.Identifier(table))
            ).fetchall()
            for row in rows:
                text = " ".join(
                    bytes(cell).decode("utf-8", "replace")
                    if isinstance(cell, (bytes, memoryview))
                    else json.dumps(cell, default=str, ensure_ascii=False)
                    for cell in row
                ).lower()
                hits.extend(f"{table}: {v}" for v in wanted if v in text)
    return sorted(set(hits))
