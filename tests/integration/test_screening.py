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
from events.privacy import ERASED
from infra import InfraSettings
from runtime.inbox import QuarantinedMessage
from runtime.privacy import PersonalData
from services.screening.application.service import ScreeningApplication
from services.screening.bootstrap import bootstrap, build_application
from services.screening.settings import ScreeningSettings
from tests import envelopes
from tests.support import (
    OFFICER,
    STAFF_TOKEN,
    eventually,
    found_in_clear,
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
    #: Seals personal fields as registration does, with the test stack's key store.
    vault: PersonalData

    async def publish(self, key: uuid.UUID, value: Envelope | bytes) -> RecordMetadata:
        """As registration publishes: keyed by aggregate id, one record per event."""
        raw = value if isinstance(value, bytes) else value.model_dump_json().encode()
        return await self.producer.send_and_wait(topics.REGISTRATION, raw, key=str(key).encode())

    async def register(self, applicant_id: uuid.UUID, **details: Any) -> None:
        await self.publish(
            applicant_id,
            envelopes.applicant_registered(
                applicant_id, cohort_id=COHORT, vault=self.vault, **details
            ),
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
async def screening(
    infra: InfraSettings, producer: AIOKafkaProducer, vault: PersonalData
) -> AsyncIterator[Screening]:
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
            yield Screening(http, store, producer, infra, vault)
    finally:
        store.close()


async def test_a_registered_applicant_gets_a_screening_case(screening: Screening) -> None:
    applicant_id = uuid.uuid4()
    registered = envelopes.applicant_registered(
        applicant_id, cohort_id=COHORT, vault=screening.vault
    )

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
    assert case["eligibility"]["eligible"] is False
    assert case["eligibility"]["findings"] == [
        {"rule": "age_within_cohort_range", "version": 2, "reason": "older than 40 on 2025-08-25"}
    ]
    # The decision says the age it saw, published by registration for the cohort's
    # reference date: screening never held the date of birth.
    assert case["eligibility"]["age_on_reference_date"] == 55


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
            vault=screening.vault,
        ),
    )
    await screening.publish(
        applicant_id,
        envelopes.details_amended(applicant_id, {"given_name": "Thi Linh"}, vault=screening.vault),
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
    registered = envelopes.applicant_registered(
        applicant_id, cohort_id=COHORT, vault=screening.vault
    )
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
    registered = envelopes.applicant_registered(
        applicant_id, cohort_id=COHORT, vault=screening.vault
    )

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


async def test_screening_keeps_nothing_personal_in_clear_and_an_erasure_reaches_its_case(
    screening: Screening,
) -> None:
    # given an applicant registered with sealed details (as registration publishes
    # them), whose birth date and name were then corrected by the office
    applicant_id = uuid.uuid4()
    given, reason = f"Mai{applicant_id.hex[:8]}", f"Passport {applicant_id.hex[8:16]} shown"
    await screening.register(applicant_id, given_name=given, date_of_birth=date(1991, 2, 3))
    amended = envelopes.details_amended(
        applicant_id,
        {"given_name": given + "x", "date_of_birth": "1991-03-02"},
        age_on_reference_date=34,
        reason=reason,
        vault=screening.vault,
    )
    await screening.publish(applicant_id, amended)

    async def amended_case() -> dict[str, Any] | None:
        case = await screening.case(applicant_id)
        return case if case and case["amendments"] else None

    case = await eventually(amended_case, what="the amendment on the case")
    # then staff read the reason, opened for them; the decision used the new age
    assert case["amendments"][0]["reason"] == reason
    assert case["eligibility"]["age_on_reference_date"] == 34
    # and the store holds none of it in clear
    personal = [given, reason, "1991-02-03", "1991-03-02", f"{applicant_id.hex[:12]}@example"]
    assert await asyncio.to_thread(found_in_clear, screening.infra, "screening", personal) == []
    # (the same search does find what is kept in clear: the scan reads the stored events)
    assert await asyncio.to_thread(
        found_in_clear, screening.infra, "screening", [str(applicant_id)]
    )
    # and the applicant's disclosure shows what screening holds, opened
    before = await screening.http.get(f"/privacy/subjects/{applicant_id}/records", headers=OFFICER)
    assert before.status_code == 200, before.text
    assert before.json()["service"] == "screening"
    assert reason in before.text and "age_within_cohort_range" in before.text

    # (events of theirs already published, read only after the erasure)
    late = [
        envelopes.details_amended(
            applicant_id, {"nationality": "KH"}, version=6, vault=screening.vault
        ),
        envelopes.documents_submitted(
            applicant_id, ["resume"], [], version=7, vault=screening.vault
        ),
    ]

    # when the applicant is erased (their key destroyed)
    await asyncio.to_thread(screening.vault.erase, applicant_id)

    # then the case still reads, with the reason erased, and the trail of decisions kept
    case = await screening.case(applicant_id)
    assert case is not None
    assert case["amendments"][0]["reason"] == ERASED
    assert case["eligibility"]["age_on_reference_date"] == 34
    after = await screening.http.get(f"/privacy/subjects/{applicant_id}/records", headers=OFFICER)
    assert after.json()["erased"] is True
    assert reason not in after.text and ERASED in after.text
    # and their events read after the erasure are recorded like any other: nothing
    # stops their partition
    for event in late:
        await screening.publish(applicant_id, event)

    async def caught_up() -> dict[str, Any] | None:
        case = await screening.case(applicant_id)
        return case if case and case["documents"]["received"] == ["resume"] else None

    case = await eventually(caught_up, what="the late events on the erased case")
    assert [a["reason"] for a in case["amendments"]] == [ERASED, ERASED]
