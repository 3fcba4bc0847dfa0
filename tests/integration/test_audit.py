"""The audit service on the real stack: it reads every topic from the beginning into its
own store and answers an auditor over HTTP. Events are published here as their
producers would (chained, keyed by aggregate), including what a producer should never
publish: a forged copy of an event, an event type this contract does not know, a record
that is not an envelope at all."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from events import matching, screening, topics
from events.chain import event_hash
from events.envelope import Envelope, derive_event_id
from infra import InfraSettings
from runtime.relay import link
from runtime.verify import read_topics, verify_records
from services.audit.adapters.history_view import HistoryProjector
from services.audit.application.verification import verify_audit_store
from services.audit.bootstrap import bootstrap, build_application, connect_view
from services.audit.settings import AuditSettings
from tests import envelopes
from tests.support import (
    HTTP_PORTS,
    IDENTITY,
    database_of,
    eventually,
    keystore_settings,
    running,
)

AUDITOR = {"Authorization": f"Bearer {IDENTITY.staff('auditor', 'au-1')}"}
SCREENER = {"Authorization": f"Bearer {IDENTITY.staff('screener', 'sc-1')}"}


def settings_of(infra: InfraSettings) -> AuditSettings:
    return AuditSettings(
        kafka_bootstrap=infra.kafka_bootstrap,
        pg_host=infra.pg_host,
        pg_port=infra.pg_port,
        pg_database=database_of("audit"),
        pg_user=infra.pg_user,
        pg_password=infra.pg_password,
        http_port=HTTP_PORTS["audit"],
        **IDENTITY.settings("audit"),
        **keystore_settings(infra),
    )


@pytest.fixture(scope="module")
async def audit(infra: InfraSettings) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        running(await bootstrap(settings_of(infra))) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=30) as client,
    ):
        yield client


class Producer:
    """Publishes one aggregate's events as its producer's relay does: each chained to
    the one before."""

    def __init__(self, kafka: AIOKafkaProducer) -> None:
        self.kafka = kafka
        self.last: dict[tuple[str, uuid.UUID], str] = {}

    async def publish(self, event: Envelope[Any]) -> Envelope[Any]:
        key = (event.producer, event.aggregate_id)
        chained, digest = link(event, self.last.get(key))
        self.last[key] = digest
        await self.kafka.send_and_wait(
            topics.TOPIC_OF_PRODUCER[event.producer],
            chained.model_dump_json().encode(),
            key=str(event.aggregate_id).encode(),
        )
        return chained


async def history_of(
    audit: httpx.AsyncClient, applicant: uuid.UUID, count: int, **params: str
) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        r = await audit.get(f"/applicants/{applicant}/history", headers=AUDITOR, params=params)
        if r.status_code != 200:
            return None
        body: dict[str, Any] = r.json()
        return body if len(body["events"]) >= count else None

    return await eventually(probe, timeout=60, what=f"{count} events in the history")


def at(minutes: int) -> str:
    return (datetime(2026, 5, 1, 9, 0, tzinfo=UTC) + timedelta(minutes=minutes)).isoformat()


def timed(event: Envelope[Any], minutes: int, cause: Envelope[Any] | None = None) -> Any:
    update: dict[str, Any] = {"occurred_at": datetime.fromisoformat(at(minutes))}
    if cause is not None:
        update["causation_id"] = cause.event_id
    return event.model_copy(update=update)


async def test_an_applicants_history_reads_across_services_in_causal_order_without_personal_data(
    audit, producer: AIOKafkaProducer
):
    applicant = uuid.uuid4()
    kafka = Producer(producer)
    registered = await kafka.publish(
        timed(envelopes.applicant_registered(applicant, email="ana.lima@example.org"), 0)
    )
    # Screening's clock runs two minutes behind: its events carry an earlier time than
    # the registration that caused them; causality still orders them after it.
    opened = await kafka.publish(
        timed(
            envelopes.upstream(screening.ScreeningCaseOpened, aggregate_id=applicant, version=1),
            -2,
            registered,
        )
    )
    assessed = await kafka.publish(
        timed(envelopes.eligibility_assessed(applicant, version=2), -1, opened)
    )
    rejected = await kafka.publish(
        timed(
            envelopes.upstream(
                screening.ApplicantRejected,
                aggregate_id=applicant,
                version=3,
                stage="documents",
                reasons=[{"code": "documents_incomplete", "text": "A document is missing."}],
            ),
            5,
            assessed,
        )
    )

    history = await history_of(audit, applicant, 4)

    assert [e["event_type"] for e in history["events"]] == [
        "ApplicantRegistered",
        "ScreeningCaseOpened",
        "EligibilityAssessed",
        "ApplicantRejected",
    ]
    assert [e["event_id"] for e in history["events"]] == [
        str(e.event_id) for e in (registered, opened, assessed, rejected)
    ]
    first, _, assessment, rejection = history["events"]
    assert first["producer"] == "registration" and first["where"].startswith(topics.REGISTRATION)
    assert first["payload"]["email"] == "[personal data]"
    assert "ana.lima" not in str(history)
    # Each decision explains itself: the rule set, each rule with what it saw.
    explanation = assessment["explanation"]
    assert explanation["kind"] == "eligibility"
    assert explanation["rule"] == assessed.payload.rule_set.model_dump()
    assert [c["rule"] for c in explanation["checks"]] == [c.rule for c in assessed.payload.checks]
    assert all("saw" in c for c in explanation["checks"])
    assert rejection["explanation"]["stage"] == "documents"
    assert rejection["explanation"]["reasons"][0]["code"] == "documents_incomplete"
    assert (rejection["actor"]["kind"], rejection["actor"]["id"]) == (
        rejected.actor.kind,
        rejected.actor.id,
    )
    assert history["state"]["rejected_at_stage"] == "documents"

    # As of a moment before the rejection, the applicant was not yet rejected.
    earlier = await history_of(audit, applicant, 3, as_of=at(1))
    assert [e["event_type"] for e in earlier["events"]][-1] == "EligibilityAssessed"
    assert earlier["state"]["rejected_at_stage"] is None


async def test_a_forged_copy_an_unknown_event_type_and_garbage_are_all_kept_and_shown(
    audit, producer: AIOKafkaProducer, infra: InfraSettings
):
    applicant = uuid.uuid4()
    kafka = Producer(producer)
    opened = await kafka.publish(
        envelopes.upstream(screening.ScreeningCaseOpened, aggregate_id=applicant, version=1)
    )
    # Not an envelope: set aside by the audit, which goes on with the next records.
    await producer.send_and_wait(topics.SCREENING, b"{not json", key=str(applicant).encode())
    # A newer producer's event type: kept, not skipped.
    newer = opened.model_dump(mode="json") | {
        "event_id": str(derive_event_id("screening", "CaseTransferred", applicant, 2)),
        "event_type": "CaseTransferred",
        "aggregate_version": 2,
        "previous_hash": event_hash(opened.model_dump(mode="json")),
        "payload": {"applicant_id": str(applicant), "to_office": "osaka"},
    }
    await producer.send_and_wait(
        topics.SCREENING,
        Envelope[dict[str, Any]].model_validate(newer).model_dump_json().encode(),
        key=str(applicant).encode(),
    )
    # A forged copy of the opening: same event id, other content.
    forged = opened.model_copy(update={"correlation_id": uuid.uuid4()})
    await producer.send_and_wait(
        topics.SCREENING, forged.model_dump_json().encode(), key=str(applicant).encode()
    )

    async def with_the_forgery() -> dict[str, Any] | None:
        history = await history_of(audit, applicant, 2)
        return history if history["events"][0]["conflicting_copies"] else None

    history = await eventually(with_the_forgery, timeout=60, what="the forged copy noticed")
    assert [e["event_type"] for e in history["events"]] == [
        "ScreeningCaseOpened",
        "CaseTransferred",
    ]
    assert history["events"][1]["what"] == "case transferred"
    [copy] = history["events"][0]["conflicting_copies"]
    assert copy.startswith(f"{topics.SCREENING}:")

    # The topic's own verification names the forged copy by its position and id.
    records = await read_topics(infra.kafka_bootstrap, [topics.SCREENING])
    mine = [f for f in verify_records(records) if f.aggregate_id == str(applicant)]
    assert [(f.kind, f.where, f.event_id) for f in mine] == [
        ("altered", copy, str(opened.event_id))
    ]


async def test_an_auditor_may_read_histories_and_others_may_not(audit):
    unknown = uuid.uuid4()
    r = await audit.get(f"/applicants/{unknown}/history", headers=AUDITOR)
    assert r.status_code == 404
    assert r.json()["errors"][0]["field"] == "applicant_id"
    r = await audit.get(f"/applicants/{unknown}/history", headers=SCREENER)
    assert r.status_code == 403
    r = await audit.get(f"/applicants/{unknown}/history")
    assert r.status_code == 401
    r = await audit.get("/applicants/not-an-id/history", headers=AUDITOR)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "applicant_id"
    r = await audit.get(
        f"/applicants/{unknown}/history", headers=AUDITOR, params={"as_of": "2026-05-01T09:00"}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "as_of"


async def test_a_company_history_holds_its_round_and_its_match(audit, producer: AIOKafkaProducer):
    company, applicant = uuid.uuid4(), uuid.uuid4()
    kafka = Producer(producer)
    registered = await kafka.publish(
        envelopes.upstream(
            matching.CompanyRegistered, aggregate_id=company, version=1, company_id=company
        )
    )
    confirmed = await kafka.publish(
        envelopes.upstream(
            matching.MatchConfirmed,
            aggregate_id=uuid.uuid4(),
            version=1,
            applicant_id=applicant,
            company_id=company,
            proposal_id=None,
            round_id=None,
        )
    )

    async def probe() -> dict[str, Any] | None:
        r = await audit.get(f"/companies/{company}/history", headers=AUDITOR)
        return r.json() if r.status_code == 200 and len(r.json()["events"]) == 2 else None

    history = await eventually(probe, timeout=60, what="the company's history")
    assert [e["event_id"] for e in history["events"]] == [
        str(registered.event_id),
        str(confirmed.event_id),
    ]
    assert history["state"]["confirmed"] == [str(applicant)]
    # Its registration explains itself: the SME rule, its version, what it saw.
    [check] = history["events"][0]["explanation"]["checks"]
    assert check["rule"] == "sme_basic_act_article_2" and check["passed"] is True
    assert check["saw"]["capital_yen"] == registered.payload.capital_yen
    # A match confirmed outside a round says who decided it.
    assert "decided directly by" in history["events"][1]["explanation"]["summary"]


async def test_the_history_table_rebuilt_from_the_audits_log_equals_the_live_one(
    audit, producer: AIOKafkaProducer, infra: InfraSettings
):
    applicant = uuid.uuid4()
    await Producer(producer).publish(envelopes.applicant_registered(applicant))
    await history_of(audit, applicant, 1)
    settings = settings_of(infra)
    view = await connect_view(settings)
    app = await asyncio.to_thread(build_application, settings)
    try:
        live = await view.all_rows()
        await view.clear()
        projector = HistoryProjector(app, view)
        while await projector.step():
            pass
        rebuilt = await view.all_rows()
    finally:
        await view.pool.close()
        app.close()
    assert live
    assert {r.event_id: r for r in rebuilt} == {r.event_id: r for r in live}


async def test_a_newer_producers_field_is_kept_as_published_and_its_copy_verifies(
    audit, producer: AIOKafkaProducer, infra: InfraSettings
):
    """A known event type with a payload field this contract does not read (a newer
    producer's, within v1), laid out differently: the audit keeps the record's JSON as
    published, not as this contract reads it back, so nothing is lost and its copy
    hashes as the producer's next event will name it."""
    applicant = uuid.uuid4()
    opened = envelopes.upstream(screening.ScreeningCaseOpened, aggregate_id=applicant, version=1)
    published = opened.model_dump(mode="json")
    published["payload"]["office"] = "osaka"  # unknown to this version of the contract
    value = json.dumps(dict(reversed(published.items())), indent=2).encode()
    await producer.send_and_wait(topics.SCREENING, value, key=str(applicant).encode())

    history = await history_of(audit, applicant, 1)
    assert [e["event_id"] for e in history["events"]] == [str(opened.event_id)]

    settings = settings_of(infra)
    app = await asyncio.to_thread(build_application, settings)
    try:
        kept = await asyncio.to_thread(app.repository.get, opened.event_id)
        assert kept.envelope == published
        assert kept.event_hash == event_hash(published)
        records = await read_topics(infra.kafka_bootstrap, [topics.SCREENING])
        found = await asyncio.to_thread(verify_audit_store, app, records)
    finally:
        app.close()
    assert [f for f in found if f.aggregate_id == str(applicant)] == []
    assert [f for f in verify_records(records) if f.aggregate_id == str(applicant)] == []
