"""Screening on the real Kafka and PostgreSQL: registration's events go in on
`jip.registration.v1` as registration would publish them, office staff use the HTTP
API, and what screening publishes is read back from `jip.screening.v1` by an
independent consumer."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.structs import RecordMetadata

from events import topics
from events.envelope import Envelope
from infra import InfraSettings
from runtime.inbox import QuarantinedMessage
from services.screening.application.service import ScreeningApplication
from services.screening.bootstrap import bootstrap, build_application
from services.screening.settings import ScreeningSettings
from tests import envelopes
from tests.support import (
    STAFF_TOKEN,
    eventually,
    read_topic,
    running,
    service_env,
    wait_for_event,
)

#: A cohort of this module's own: the topic is shared with other tests of the session,
#: and screening adopts a cohort's rules only the first time it is announced.
COHORT = f"FY{random.randint(5000, 9999)}"
FIRST = {"stage": "first", "language": "local", "passed": True, "interviewer": "staff-017"}
SECOND = {"stage": "second", "language": "japanese", "passed": True, "interviewer": "staff-017"}


@dataclass
class Screening:
    http: httpx.AsyncClient
    store: ScreeningApplication
    producer: AIOKafkaProducer
    infra: InfraSettings

    async def publish(self, key: uuid.UUID, value: Envelope | bytes) -> RecordMetadata:
        """As registration publishes: keyed by aggregate id, one record per event."""
        raw = value if isinstance(value, bytes) else value.model_dump_json().encode()
        return await self.producer.send_and_wait(topics.REGISTRATION, raw, key=str(key).encode())

    async def register(self, applicant_id: uuid.UUID, **details: Any) -> None:
        await self.publish(
            applicant_id, envelopes.applicant_registered(applicant_id, cohort_id=COHORT, **details)
        )
        await eventually(
            lambda: self.case(applicant_id), what=f"the screening case of {applicant_id}"
        )

    async def case(self, applicant_id: uuid.UUID) -> dict[str, Any] | None:
        response = await self.http.get(f"/cases/{applicant_id}")
        return response.json() if response.status_code == 200 else None

    async def interview(
        self, applicant_id: uuid.UUID, result: dict[str, Any], at: str = "2025-07-01T10:00:00+09:00"
    ) -> httpx.Response:
        return await self.http.post(
            f"/cases/{applicant_id}/interviews", json={**result, "interviewed_at": at}
        )

    async def published(self, event_type: str, applicant_id: uuid.UUID) -> dict[str, Any]:
        return await wait_for_event(
            self.infra,
            topics.SCREENING,
            event_type,
            lambda e: e["payload"]["applicant_id"] == str(applicant_id),
        )


@pytest.fixture(scope="module")
async def screening(infra: InfraSettings, producer: AIOKafkaProducer) -> AsyncIterator[Screening]:
    with pytest.MonkeyPatch.context() as env:
        for name, value in service_env("screening", infra).items():
            env.setenv(name, value)
        settings = ScreeningSettings()
    store = build_application(settings)
    headers = {"Authorization": f"Bearer {STAFF_TOKEN}"}
    try:
        async with (
            running(await bootstrap(settings)) as base_url,
            httpx.AsyncClient(base_url=base_url, headers=headers) as http,
        ):
            cohort = envelopes.cohort_opened(COHORT)
            await producer.send_and_wait(
                topics.REGISTRATION,
                cohort.model_dump_json().encode(),
                key=str(cohort.aggregate_id).encode(),
            )
            yield Screening(http, store, producer, infra)
    finally:
        store.close()


async def test_a_registered_applicant_gets_a_screening_case(screening: Screening) -> None:
    applicant_id = uuid.uuid4()
    registered = envelopes.applicant_registered(applicant_id, cohort_id=COHORT)

    await screening.publish(applicant_id, registered)
    await screening.publish(applicant_id, registered)  # a relay may publish twice

    opened = await screening.published("ScreeningCaseOpened", applicant_id)
    assert opened["payload"] == {
        "case_id": str(applicant_id),
        "applicant_id": str(applicant_id),
        "cohort_id": COHORT,
    }
    assert opened["correlation_id"] == str(registered.correlation_id)
    assert opened["causation_id"] == str(registered.event_id)
    case = await screening.case(applicant_id)
    assert case is not None
    assert case["status"] == "open"


async def test_the_cohorts_rules_are_applied_to_each_applicant(screening: Screening) -> None:
    too_old = uuid.uuid4()

    await screening.register(too_old, date_of_birth=date(1970, 1, 1))

    case = await eventually(
        lambda: _with_eligibility(screening, too_old), what="the eligibility assessment"
    )
    assert case["eligibility"] == {
        "eligible": False,
        "findings": [{"rule": "age_within_cohort_range", "reason": "older than 40 on 2025-08-25"}],
    }


async def _with_eligibility(screening: Screening, applicant_id: uuid.UUID) -> dict[str, Any] | None:
    case = await screening.case(applicant_id)
    return case if case and case["eligibility"] is not None else None


async def test_documents_and_amendments_show_on_the_case(screening: Screening) -> None:
    applicant_id = uuid.uuid4()
    await screening.register(applicant_id)

    await screening.publish(
        applicant_id,
        envelopes.documents_submitted(
            applicant_id,
            ["certificate_of_graduation", "language_score_certificate", "letter_of_recommendation"],
            [],
        ),
    )
    await screening.publish(
        applicant_id, envelopes.details_amended(applicant_id, {"given_name": "Thi Linh"})
    )

    async def reviewed() -> dict[str, Any] | None:
        case = await screening.case(applicant_id)
        return case if case and case["needs_review"] and case["documents"]["complete"] else None

    case = await eventually(reviewed, what="documents and amendment on the case")
    assert case["amendments"] == [
        {
            "changed_fields": ["given_name"],
            "reason": "Corrected on the applicant's request; passport provided.",
            "amended_by": "staff-017",
        }
    ]


async def test_passing_both_interviews_is_published_once_each(screening: Screening) -> None:
    applicant_id = uuid.uuid4()
    await screening.register(applicant_id)

    first = await screening.interview(applicant_id, FIRST)
    repeated = await screening.interview(applicant_id, FIRST)
    second = await screening.interview(applicant_id, SECOND, at="2025-07-15T10:00:00+09:00")

    assert (first.status_code, repeated.status_code, second.status_code) == (201, 200, 201)
    assert repeated.json()["recorded"] is False
    assert second.json()["status"] == "passed"
    passed_second = await wait_for_event(
        screening.infra,
        topics.SCREENING,
        "InterviewPassed",
        lambda e: (
            e["payload"]["applicant_id"] == str(applicant_id) and e["payload"]["stage"] == "second"
        ),
    )
    assert passed_second["payload"]["interviewed_at"] == "2025-07-15T01:00:00Z"
    assert passed_second["payload"]["language"] == "japanese"
    stages = [
        value["payload"]["stage"]
        for _, value in await read_topic(screening.infra, topics.SCREENING)
        if value.get("event_type") == "InterviewPassed"
        and value["payload"]["applicant_id"] == str(applicant_id)
    ]
    assert stages == ["first", "second"]  # the repeated request recorded nothing


async def test_an_interview_recorded_by_staff_continues_the_applicants_flow(
    screening: Screening,
) -> None:
    applicant_id = uuid.uuid4()
    registered = envelopes.applicant_registered(applicant_id, cohort_id=COHORT)
    await screening.publish(applicant_id, registered)
    await eventually(lambda: screening.case(applicant_id), what="the screening case")

    # The office's client sends no X-Correlation-ID: the result belongs to the
    # applicant's flow, which screening knows from the registration.
    recorded = await screening.interview(applicant_id, FIRST)

    assert recorded.status_code == 201
    passed = await screening.published("InterviewPassed", applicant_id)
    assert passed["correlation_id"] == str(registered.correlation_id)
    [*_, recorded_event] = screening.store.events.get(applicant_id)
    assert recorded_event.actor == {"kind": "staff", "id": "office-staff", "role": "admin"}


async def test_a_failed_interview_ends_the_screening(screening: Screening) -> None:
    applicant_id = uuid.uuid4()
    await screening.register(applicant_id)

    failed = await screening.interview(applicant_id, {**FIRST, "passed": False})
    after = await screening.interview(applicant_id, SECOND)

    assert failed.status_code == 201
    assert after.status_code == 409
    assert after.json()["errors"] == [
        {"field": "stage", "reason": "the screening ended with a failed interview"}
    ]
    event = await screening.published("InterviewFailed", applicant_id)
    assert event["payload"]["stage"] == "first"
    assert "interviewer" not in event["payload"]


async def test_a_second_interview_needs_a_passed_first(screening: Screening) -> None:
    applicant_id = uuid.uuid4()
    await screening.register(applicant_id)

    response = await screening.interview(applicant_id, SECOND)

    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "stage"


async def test_no_interview_before_the_case_is_open(screening: Screening) -> None:
    response = await screening.interview(uuid.uuid4(), FIRST)

    assert response.status_code == 404
    assert response.json()["errors"][0]["field"] == "applicant_id"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"stage": "third"}, "stage"),
        ({"language": "french"}, "language"),
        ({"interviewer": ""}, "interviewer"),
        ({"interviewed_at": "2025-07-01T10:00:00"}, "interviewed_at"),
    ],
)
async def test_a_bad_interview_result_is_refused_naming_the_field(
    screening: Screening, change: dict[str, Any], field: str
) -> None:
    body = {**FIRST, "interviewed_at": "2025-07-01T10:00:00+09:00", **change}

    response = await screening.http.post(f"/cases/{uuid.uuid4()}/interviews", json=body)

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_staff_endpoints_need_the_staff_token(screening: Screening) -> None:
    response = await screening.http.get(
        f"/cases/{uuid.uuid4()}", headers={"Authorization": "Bearer guess"}
    )

    assert response.status_code == 401
    assert response.json()["errors"][0]["field"] == "authorization"


async def test_malformed_records_are_quarantined_and_do_not_stop_the_consumer(
    screening: Screening,
) -> None:
    applicant_id = uuid.uuid4()
    registered = envelopes.applicant_registered(applicant_id, cohort_id=COHORT)

    # Same key, so the same partition: the valid event is read after the two bad ones.
    garbage = await screening.publish(applicant_id, b"not json")
    broken = await screening.publish(applicant_id, envelopes.with_broken_payload(registered))
    await screening.publish(applicant_id, registered)

    await screening.published("ScreeningCaseOpened", applicant_id)
    for record in (garbage, broken):
        quarantined = await asyncio.to_thread(_quarantined, screening.store, record)
        assert quarantined is not None
        assert quarantined.offset == record.offset
    assert "payload" in _quarantined(screening.store, broken).reason  # type: ignore[union-attr]


def _quarantined(store: ScreeningApplication, record: RecordMetadata) -> QuarantinedMessage | None:
    aggregate_id = QuarantinedMessage.id_for(record.topic, record.partition, record.offset)
    if aggregate_id not in store.repository:
        return None
    message: QuarantinedMessage = store.repository.get(aggregate_id)
    return message
