"""The registration link mailer against real SMTP servers that misbehave: an address the
server defers, one it refuses, one it cannot take (non-ASCII, no SMTPUTF8) must not
hold up anyone else's link; the refused ones are recorded for the office, the deferred
one is retried on its own; and nothing logged shows an address.

The event store is the in-memory one here (the mail server is the subject); the crash
test runs registration as a real process on PostgreSQL."""

import logging
import os
import signal
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from events.registration import Course
from infra import InfraSettings
from kernel import actor as acting
from runtime.mail import SENT, MailDelivery, MailServerUnavailable, RetrySchedule
from runtime.mail import SmtpMailer as Smtp
from services.registration.adapters.mail import (
    RegistrationLinkMailer,
    link_message_key,
    undeliverable_links,
)
from services.registration.application.service import RegistrationApplication
from services.registration.bootstrap import bootstrap, build_application
from services.registration.domain.applicant import EmailClaim
from services.registration.settings import RegistrationSettings
from tests.in_memory import registration_in_memory
from tests.smtp_servers import MisbehavingHandler, free_port, smtp_server
from tests.support import (
    IDENTITY,
    STAFF,
    current_cohort_id,
    database_of,
    eventually,
    fresh_cohort_id,
    keystore_settings,
    running,
    service_env,
)

SENDER = "JIP <office@jip.example>"
QUICK_RETRIES = RetrySchedule(first=timedelta(milliseconds=50), attempts=50)


#: The in-memory stores' cohort, taking applications now.
COHORT = current_cohort_id()


def cohort_spec(cohort_id: str = COHORT) -> dict:
    now = datetime.now(UTC)
    return {
        "cohort_id": cohort_id,
        "applications_open_at": now - timedelta(days=1),
        "applications_close_at": now + timedelta(days=1),
        "age_reference_date": date(2025, 8, 25),
        "min_age": 18,
        "max_age": 40,
        "results_by": (now + timedelta(days=2)).date(),
        # As the office's endpoint records it: the crash test runs registration's relay,
        # which publishes it, so it must read as the contract says.
        "courses": [
            Course(code="B", name="Online", mode="online", daily_allowance_yen=1000).model_dump(
                mode="json"
            )
        ],
        "rules": {"excluded_nationalities": ["CN"]},
    }


def registration_with_applicants(*addresses: str) -> RegistrationApplication:
    app = registration_in_memory()
    app.open_cohort(cohort_spec(), acting.staff("staff-017", role="admin"), uuid.uuid4())
    for address in addresses:
        app.preregister(COHORT, address, uuid.uuid4())
    return app


def link_delivery(
    app: RegistrationApplication, address: str, cohort_id: str = COHORT
) -> MailDelivery | None:
    claim = app.find(app.claim_id_of(cohort_id, address), EmailClaim)
    assert claim is not None and claim.applicant_id is not None
    applicant = app.get_applicant(claim.applicant_id)
    return app.find(link_message_key(applicant.id, applicant.link_number), MailDelivery)


async def test_deferred_and_refused_addresses_do_not_hold_up_the_next_links(caplog):
    # given links owed, in this order, to an address the server defers, one it
    # refuses, one with non-ASCII characters (the server has no SMTPUTF8) and one fine
    addresses = [
        "deferred-an@example.org",
        "refused-linh@example.org",
        "nguyễn@example.org",
        "budi@example.org",
    ]
    app = registration_with_applicants(*addresses)
    server = MisbehavingHandler()
    with smtp_server(server, smtputf8=False) as port:
        mailer = RegistrationLinkMailer(
            app, Smtp("127.0.0.1", port, SENDER), "http://jip.example", schedule=QUICK_RETRIES
        )

        # when the mailer goes through the log once
        with caplog.at_level(logging.DEBUG):
            await mailer.step()

        # then the fine address has its link; the deferred one waits for its retry
        assert [str(m["To"]) for m in server.accepted] == ["budi@example.org"]
        assert "/registration?token=" in server.accepted[0].get_content()
        assert link_delivery(app, "deferred-an@example.org").state == "retrying"
        # the refused and the unwritable are recorded for the office, without addresses
        refused = {u.reason for u in undeliverable_links(app)}
        assert refused == {
            "recipient refused: SMTP 550",
            "address has non-ASCII characters; the mail server has no SMTPUTF8",
        }

        # when the server takes the deferred address again, its link goes on its own
        server.deferring.clear()

        async def retried() -> bool:
            await mailer.step()
            return bool(server.to("deferred-an@example.org"))

        await eventually(retried, what="the deferred link retried")
        assert link_delivery(app, "deferred-an@example.org").state == SENT
        assert mailer.waiting == 0

    # (the test server's own log, aiosmtpd's "mail.log", shows addresses: it is not ours)
    logged = "\n".join(
        r.getMessage() for r in caplog.records if r.name.startswith(("runtime", "services"))
    )
    assert "refused-linh" not in logged and "deferred-an" not in logged and "budi" not in logged
    assert "recipient refused: SMTP 550" in logged


async def test_an_address_with_non_ascii_characters_goes_when_the_server_offers_smtputf8():
    app = registration_with_applicants("nguyễn@example.org")
    server = MisbehavingHandler()
    with smtp_server(server, smtputf8=True) as port:
        mailer = RegistrationLinkMailer(app, Smtp("127.0.0.1", port, SENDER), "http://x")
        await mailer.step()
    assert [str(m["To"]) for m in server.accepted] == ["nguyễn@example.org"]


async def test_no_link_goes_to_an_erased_or_suspended_applicant_and_neither_is_retried():
    # given three links owed, of which one applicant was erased and one suspended at the
    # office's hands before the mailer read them
    app = registration_with_applicants(
        "erased-ana@example.org", "suspended-ben@example.org", "budi@example.org"
    )
    officer = acting.staff("staff-023", role="privacy_officer")
    for address, right in [
        ("erased-ana@example.org", "deletion"),
        ("suspended-ben@example.org", "suspension_of_use"),
    ]:
        applicant_id = app.find(app.claim_id_of(COHORT, address), EmailClaim).applicant_id
        app.make_privacy_request(
            applicant_id, right, "privacy_officer", "passport seen", None, officer, uuid.uuid4()
        )
    server = MisbehavingHandler()
    with smtp_server(server) as port:
        mailer = RegistrationLinkMailer(
            app, Smtp("127.0.0.1", port, SENDER), "http://jip.example", schedule=QUICK_RETRIES
        )
        # when the mailer goes through the log
        await mailer.step()
    # then only the third link is sent; the others are settled as not sendable, with
    # the reason, and nothing waits to be retried
    assert [str(m["To"]) for m in server.accepted] == ["budi@example.org"]
    assert sorted(u.reason for u in undeliverable_links(app)) == [
        "not sent: the applicant's data was erased",
        "not sent: the use of the applicant's data is suspended",
    ]
    assert mailer.waiting == 0


async def test_a_mail_server_that_is_down_delays_the_link_without_losing_it(caplog):
    app = registration_with_applicants("mai@example.org")
    port = free_port()
    mailer = RegistrationLinkMailer(app, Smtp("127.0.0.1", port, SENDER), "http://x")
    with pytest.raises(MailServerUnavailable) as failed:
        await mailer.step()
    assert "mai@example.org" not in str(failed.value)
    assert link_delivery(app, "mai@example.org") is None, "nothing recorded: still owed"
    assert mailer.waiting == 1

    server = MisbehavingHandler()
    with smtp_server(server) as port:
        mailer.mailer = Smtp("127.0.0.1", port, SENDER)
        await mailer.step()
    assert len(server.to("mai@example.org")) == 1
    assert link_delivery(app, "mai@example.org").state == SENT


def stored_links(app: RegistrationApplication, cohort_id: str, addresses: set[str]) -> int:
    """Links recorded as sent for these addresses, read from registration's store."""
    return sum(1 for a in addresses if (d := link_delivery(app, a, cohort_id)) and d.state == SENT)


def settings_for(infra: InfraSettings, *, smtp_port: int, **extra: object) -> RegistrationSettings:
    return RegistrationSettings(
        **extra,  # type: ignore[arg-type]
        pg_host=infra.pg_host,
        pg_port=infra.pg_port,
        pg_database=database_of("registration"),
        pg_user=infra.pg_user,
        pg_password=infra.pg_password,
        smtp_port=smtp_port,
        link_secret="a-test-secret-of-enough-length",
        **keystore_settings(infra),
    )


async def test_a_crash_in_the_middle_of_a_batch_sends_at_most_one_link_twice(infra):
    # given 15 links owed in registration's store (PostgreSQL) while its mailer is not
    # running, as after an outage
    tag = uuid.uuid4().hex[:8]
    cohort_id = fresh_cohort_id()
    addresses = [f"crash-{tag}-{i:02}@example.org" for i in range(15)]
    app = build_application(settings_for(infra, smtp_port=0))
    try:
        app.open_cohort(
            cohort_spec(cohort_id), acting.staff("staff-017", role="admin"), uuid.uuid4()
        )
        for address in addresses:
            app.preregister(cohort_id, address, uuid.uuid4())
    finally:
        app.close()

    # when registration runs as its own process and is killed (SIGKILL) right after
    # the mail server took the 8th of those links, before the mailer heard the reply
    server = MisbehavingHandler()
    ours = lambda: [m for m in server.accepted if tag in str(m["To"])]  # noqa: E731
    process: subprocess.Popen[bytes] | None = None

    def kill_at_the_eighth(_: object) -> None:
        if len(ours()) == 8 and process is not None:
            os.kill(process.pid, signal.SIGKILL)

    server.on_accepted = kill_at_the_eighth
    with smtp_server(server) as port:
        env = {
            **os.environ,
            **service_env("registration", infra, SMTP_PORT=str(port)),
            "JIP_REGISTRATION_LINK_SECRET": "a-test-secret-of-enough-length",
            "JIP_REGISTRATION_HTTP_PORT": str(free_port()),
        }
        command = [sys.executable, "-m", "services.registration", "serve"]
        process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
        await eventually(lambda: process.poll() is not None, what="the kill", timeout=60)
        assert process.returncode == -signal.SIGKILL
        assert len(ours()) == 8

        # and restarted. (The store is read by an application built before the restart:
        # building one creates the tables if missing, and eventsourcing's CREATE OR
        # REPLACE FUNCTION run by two starting processes at once fails with PostgreSQL's
        # "tuple concurrently updated".)
        reader = build_application(settings_for(infra, smtp_port=0))
        process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
        try:
            await eventually(
                lambda: stored_links(reader, cohort_id, set(addresses)) == 15,
                what="all links recorded as sent",
                timeout=60,
            )
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
            reader.close()

    # then every applicant has their link, and at most one link came twice
    received = [str(m["To"]) for m in ours()]
    assert set(received) == set(addresses)
    assert len(received) - len(set(received)) <= 1
    # a repeat is the same message (same Message-ID), recognisable as such
    ids = [str(m["Message-ID"]) for m in ours()]
    assert len(set(ids)) == 15


async def test_a_deferred_link_replaced_by_a_newer_one_is_not_sent_after_it():
    # given a link to an address the server defers
    app = registration_with_applicants("deferred-tuan@example.org")
    server = MisbehavingHandler()
    with smtp_server(server) as port:
        mailer = RegistrationLinkMailer(
            app, Smtp("127.0.0.1", port, SENDER), "http://x", schedule=QUICK_RETRIES
        )
        await mailer.step()
        assert link_delivery(app, "deferred-tuan@example.org").state == "retrying"

        # when the applicant asks for a new link, and the server takes the address again
        app.reissue_registration_link(COHORT, "deferred-tuan@example.org", uuid.uuid4())
        server.deferring.clear()

        async def sent() -> bool:
            await mailer.step()
            return bool(server.to("deferred-tuan"))

        await eventually(sent, what="the new link")

        async def nothing_owed() -> bool:
            await mailer.step()
            return mailer.waiting == 0

        await eventually(nothing_owed, what="the replaced link given up")

    # then only the new link arrives: the replaced one would no longer work
    [mail] = server.to("deferred-tuan")
    assert (
        mail["Message-ID"] == f"<{link_delivery(app, 'deferred-tuan@example.org').id}@jip.example>"
    )


def applicant_of(infra: InfraSettings, cohort_id: str, address: str) -> uuid.UUID:
    app = build_application(settings_for(infra, smtp_port=0))
    try:
        claim = app.find(app.claim_id_of(cohort_id, address), EmailClaim)
        assert claim is not None and claim.applicant_id is not None
        return claim.applicant_id
    finally:
        app.close()


async def test_the_office_sees_a_refused_link_without_the_address(infra):
    # given registration running on the real stack, with a mail server that refuses
    server = MisbehavingHandler()
    cohort_id = fresh_cohort_id()
    address = f"refused-{uuid.uuid4().hex[:8]}@example.org"
    with smtp_server(server) as smtp_port:
        settings = settings_for(
            infra,
            smtp_port=smtp_port,
            kafka_bootstrap=infra.kafka_bootstrap,
            http_port=free_port(),
            **IDENTITY.settings("registration"),
        )
        staff = STAFF
        async with (
            running(await bootstrap(settings)) as base_url,
            httpx.AsyncClient(base_url=base_url) as http,
        ):
            spec = cohort_spec(cohort_id)
            for field in ("applications_open_at", "applications_close_at"):
                spec[field] = spec[field].isoformat()
            for field in ("age_reference_date", "results_by"):
                spec[field] = spec[field].isoformat()
            opened = await http.post("/cohorts", json=spec, headers=staff)
            assert opened.status_code == 201, opened.text

            # when an applicant pre-registers with an address the server refuses
            answer = await http.post(
                f"/cohorts/{cohort_id}/preregistrations", json={"email": address}
            )
            assert answer.status_code == 202
            applicant_id = str(applicant_of(infra, cohort_id, address))

            # then the office sees which applicant's link was refused, and why
            async def listed() -> dict | None:
                found = await http.get("/mail/undeliverable", headers=staff)
                assert found.status_code == 200, found.text
                mine = [m for m in found.json()["messages"] if m["applicant_id"] == applicant_id]
                return mine[0] if mine else None

            refused = await eventually(listed, what="the refused link listed")
            assert refused["kind"] == "registration_link"
            assert refused["reason"] == "recipient refused: SMTP 550"
            assert address not in str(refused)
            assert (await http.get("/mail/undeliverable")).status_code == 401

    # and so does the operator's command line
    env = {**os.environ, **service_env("registration", infra)}
    printed = subprocess.run(
        [sys.executable, "-m", "services.registration", "undeliverable"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert applicant_id in printed and "recipient refused: SMTP 550" in printed
    assert address not in printed
