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
    IDENTITY,
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
#: What the golden registration requires: a graduate who claims language scores.
REQUIRED = ["certificate_of_graduation", "letter_of_recommendation", "language_score_certificate"]
#: Scores on the default scorecard (the module's cohort configures none): 15 of 20
#: passes (pass mark 12), 8 fails.
PASSING = {"motivation": 4, "communication": 4, "language": 3, "fit_with_program": 4}
FAILING = {"motivation": 2, "communication": 2, "language": 2, "fit_with_program": 2}
HELD_AT = "2025-07-01T10:00:00+09:00"


def slot(stage: str = "first", **changes: Any) -> dict[str, Any]:
    return {
        "scheduled_at": HELD_AT,
        "duration_minutes": 30,
        "interviewer": "staff-017",
        "language": "local" if stage == "first" else "japanese",
        "mode": "online",
        **changes,
    }


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

    async def submit(
        self, applicant_id: uuid.UUID, kinds: list[str], *, upload: int = 1
    ) -> dict[str, Any]:
        """The applicant uploads documents (their `upload`-th time, which makes the
        documents new ones), as registration publishes them; the case once screening
        has recorded them."""
        submitted = envelopes.documents_submitted(
            applicant_id, kinds, [], version=3 + upload, vault=self.vault, upload=upload
        )
        await self.publish(applicant_id, submitted)
        sent = {str(d.document_id) for d in submitted.payload.documents}

        async def received() -> dict[str, Any] | None:
            case = await self.case(applicant_id)
            seen = {i["document_id"] for i in case["documents"]["items"]} if case else set()
            return case if sent <= seen else None

        return await eventually(received, what="the documents on the case")

    async def review(
        self, applicant_id: uuid.UUID, document_id: str, decision: str = "accepted", **extra: Any
    ) -> httpx.Response:
        return await self.http.post(
            f"/cases/{applicant_id}/documents/{document_id}/review",
            json={"decision": decision, **extra},
        )

    async def ready_for_interviews(self, applicant_id: uuid.UUID) -> None:
        """Registered, eligible, every required document received and accepted."""
        await self.register(applicant_id)
        case = await self.submit(applicant_id, REQUIRED)
        for item in case["documents"]["items"]:
            reviewed = await self.review(applicant_id, item["document_id"])
            assert reviewed.status_code == 201, reviewed.text

    async def schedule(
        self, applicant_id: uuid.UUID, stage: str = "first", **changes: Any
    ) -> httpx.Response:
        return await self.http.post(
            f"/cases/{applicant_id}/interviews",
            json={"stage": stage, "slot": slot(stage, **changes)},
        )

    async def result(
        self,
        applicant_id: uuid.UUID,
        interview_id: str,
        scores: dict[str, int],
        at: str = HELD_AT,
        **extra: Any,
    ) -> httpx.Response:
        return await self.http.post(
            f"/cases/{applicant_id}/interviews/{interview_id}/result",
            json={"interviewed_at": at, "scores": scores, **extra},
        )

    async def hold(
        self, applicant_id: uuid.UUID, stage: str, scores: dict[str, int], at: str = HELD_AT
    ) -> str:
        scheduled = await self.schedule(applicant_id, stage)
        assert scheduled.status_code == 201, scheduled.text
        interview_id: str = scheduled.json()["interview_id"]
        recorded = await self.result(applicant_id, interview_id, scores, at)
        assert recorded.status_code == 201, recorded.text
        return interview_id

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
    assert case["eligibility"]["result"] == "ineligible"
    [unmet] = [c for c in case["eligibility"]["checks"] if not c["passed"]]
    assert (unmet["rule"], unmet["version"], unmet["reason"]) == (
        "age_within_cohort_range",
        2,
        "older than 40 on 2025-08-25",
    )
    # The decision says the age it saw, published by registration for the cohort's
    # reference date: screening never held the date of birth.
    assert unmet["saw"] == 55
    # and it decides: the applicant is rejected, with the rule as the reason, and the
    # decisions are published for notifications (who tells them) and auditors.
    assert case["status"] == "rejected"
    assert case["rejection"]["stage"] == "eligibility"
    assert [r["code"] for r in case["rejection"]["reasons"]] == ["age_within_cohort_range"]
    for event_type in ("EligibilityAssessed", "ApplicantRejected"):
        published = await wait_for_event(
            screening.infra,
            topics.SCREENING,
            event_type,
            lambda e: e["payload"]["applicant_id"] == str(too_old),
        )
        assert published["payload"]["cohort_id"] == COHORT


def _saw(case: dict[str, Any], rule: str) -> Any:
    """What a rule of the case's last assessment saw."""
    [check] = [c for c in case["eligibility"]["checks"] if c["rule"] == rule]
    return check["saw"]


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
        received = case and len(case["documents"]["received"]) == 3
        return case if case and case["needs_review"] and received else None

    case = await eventually(reviewed, what="documents and amendment on the case")
    # received, not yet accepted: outstanding by screening's own count
    assert case["documents"]["required"] == REQUIRED
    assert case["documents"]["outstanding"] == REQUIRED
    assert {i["state"] for i in case["documents"]["items"]} == {"awaiting_review"}
    assert case["amendments"] == [
        {
            "changed_fields": ["given_name"],
            "reason": "Corrected on the applicant's request; passport provided.",
            "amended_by": "staff-017",
        }
    ]


async def test_passing_both_scored_rounds_is_published_once_each(screening: Screening) -> None:
    applicant_id = uuid.uuid4()
    await screening.ready_for_interviews(applicant_id)

    first = await screening.schedule(applicant_id)
    again = await screening.schedule(applicant_id)  # a double click
    interview_id = first.json()["interview_id"]
    passed = await screening.result(applicant_id, interview_id, PASSING, note="Well prepared.")
    repeated = await screening.result(applicant_id, interview_id, PASSING)
    await screening.hold(applicant_id, "second", PASSING, at="2025-07-15T10:00:00+09:00")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["interview_id"] == interview_id
    assert (passed.status_code, repeated.status_code) == (201, 200)
    assert repeated.json()["recorded"] is False
    case = await screening.case(applicant_id)
    assert case is not None and case["status"] == "passed"
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
    assert passed_second["payload"]["scorecard"]["total"] == 15
    assert passed_second["payload"]["scorecard"]["pass_mark"] == 12
    # scored on the scorecard of the cohort's rule set (the golden cohort's)
    assert passed_second["payload"]["scorecard"]["rule_set"] == {"id": "jip-fy2025", "version": 1}
    results = [
        value["payload"]
        for _, value in await read_topic(screening.infra, topics.SCREENING)
        if value.get("event_type") == "InterviewPassed"
        and value["payload"]["applicant_id"] == str(applicant_id)
    ]
    assert [r["stage"] for r in results] == ["first", "second"]  # the repeats recorded nothing
    assert results[0]["interview_id"] == interview_id
    # the interviewer's note travels sealed, and staff read it opened
    assert results[0]["note"].startswith("sealed:")
    assert case["interviews"][0]["result"]["note"] == "Well prepared."


async def test_an_interview_is_refused_while_a_document_is_outstanding(
    screening: Screening,
) -> None:
    # given an applicant whose letter of recommendation has not come, and whose language
    # certificate the office rejected as unreadable
    applicant_id = uuid.uuid4()
    await screening.register(applicant_id)
    case = await screening.submit(
        applicant_id, ["certificate_of_graduation", "language_score_certificate"]
    )
    diploma, scores = (i["document_id"] for i in case["documents"]["items"])
    assert (await screening.review(applicant_id, diploma)).status_code == 201
    rejected = await screening.review(
        applicant_id, scores, "rejected", reason_code="unreadable", note="Page 2 is blank."
    )
    assert rejected.status_code == 201, rejected.text
    same_again = await screening.review(applicant_id, scores, "rejected", reason_code="unreadable")
    assert (same_again.status_code, same_again.json()["recorded"]) == (200, False)

    # when the office tries to schedule the first interview
    refused = await screening.schedule(applicant_id)

    # then it is refused, naming the documents still outstanding
    assert refused.status_code == 409
    [error] = refused.json()["errors"]
    assert error["field"] == "documents"
    assert "letter_of_recommendation" in error["reason"]
    assert "language_score_certificate" in error["reason"]
    # and the review was published, with what is still outstanding and the note sealed
    reviewed = await wait_for_event(
        screening.infra,
        topics.SCREENING,
        "DocumentReviewed",
        lambda e: (
            e["payload"]["applicant_id"] == str(applicant_id)
            and e["payload"]["decision"] == "rejected"
        ),
    )
    assert reviewed["payload"]["reason_code"] == "unreadable"
    assert reviewed["payload"]["outstanding"] == [
        "letter_of_recommendation",
        "language_score_certificate",
    ]
    assert reviewed["payload"]["documents_complete"] is False
    assert screening.vault.unseal(reviewed["payload"]["note"]) == "Page 2 is blank."
    assert (
        await asyncio.to_thread(found_in_clear, screening.infra, "screening", ["Page 2 is blank."])
        == []
    )

    # when the applicant sends a new certificate and the letter, and both are accepted
    case = await screening.submit(
        applicant_id, ["language_score_certificate", "letter_of_recommendation"], upload=2
    )
    states = [(i["kind"], i["state"]) for i in case["documents"]["items"]]
    assert ("language_score_certificate", "superseded") in states
    for item in case["documents"]["items"]:
        if item["state"] == "awaiting_review":
            assert (await screening.review(applicant_id, item["document_id"])).status_code == 201

    # then the interview can be scheduled
    assert (await screening.schedule(applicant_id)).status_code == 201


async def test_the_office_requests_a_document_and_it_becomes_required(
    screening: Screening,
) -> None:
    applicant_id = uuid.uuid4()
    await screening.ready_for_interviews(applicant_id)

    asked = await screening.http.post(
        f"/cases/{applicant_id}/document-requests",
        json={"kind": "resume", "due_by": "2025-07-31", "note": "A one-page résumé."},
    )

    assert asked.status_code == 201, asked.text
    assert asked.json()["documents"]["outstanding"] == ["resume"]
    requested = await screening.published("DocumentRequested", applicant_id)
    assert requested["payload"]["kind"] == "resume"
    assert requested["payload"]["reason_code"] == "requested_by_office"
    assert requested["payload"]["due_by"] == "2025-07-31"
    assert screening.vault.unseal(requested["payload"]["note"]) == "A one-page résumé."
    refused = await screening.schedule(applicant_id)
    assert refused.status_code == 409 and "resume" in refused.json()["errors"][0]["reason"]


async def test_a_mistyped_interview_date_is_corrected_by_an_event_that_says_why(
    screening: Screening,
) -> None:
    # given a first interview recorded with a date typed a month late
    applicant_id = uuid.uuid4()
    await screening.ready_for_interviews(applicant_id)
    interview_id = await screening.hold(applicant_id, "first", PASSING, at=HELD_AT)
    await screening.result(applicant_id, interview_id, PASSING, at="2025-08-01T10:00:00+09:00")

    # when an administrator corrects it, saying why
    url = f"/cases/{applicant_id}/interviews/{interview_id}/corrections"
    corrected = await screening.http.post(
        url, json={"interviewed_at": "2025-06-01T10:00:00+09:00", "reason": "Typed July for June."}
    )
    again = await screening.http.post(
        url, json={"interviewed_at": "2025-06-01T10:00:00+09:00", "reason": "Typed July for June."}
    )

    # then the record reads the right date, and the correction says what, from, to, why
    assert corrected.status_code == 201, corrected.text
    assert (again.status_code, again.json()["recorded"]) == (200, False)
    interview = corrected.json()["interview"]
    assert interview["result"]["interviewed_at"] == "2025-06-01T01:00:00Z"
    assert interview["corrections"][0]["reason"] == "Typed July for June."
    event = await screening.published("InterviewRecordCorrected", applicant_id)
    assert event["payload"]["corrected"] == {
        "interviewed_at": {"from": "2025-07-01T01:00:00+00:00", "to": "2025-06-01T01:00:00+00:00"}
    }
    assert (event["payload"]["passed_before"], event["payload"]["passed_after"]) == (True, True)
    assert screening.vault.unseal(event["payload"]["reason"]) == "Typed July for June."
    assert event["actor"]["role"] == "admin"


async def test_a_corrected_score_can_no_longer_flip_a_first_round_once_a_second_exists(
    screening: Screening,
) -> None:
    applicant_id = uuid.uuid4()
    await screening.ready_for_interviews(applicant_id)
    first = await screening.hold(applicant_id, "first", FAILING)
    url = f"/cases/{applicant_id}/interviews/{first}/corrections"

    flipped = await screening.http.post(
        url, json={"scores": PASSING, "reason": "Scores entered in the wrong rows."}
    )
    assert flipped.status_code == 201, flipped.text
    assert flipped.json()["status"] == "first_interview_passed"
    assert (await screening.schedule(applicant_id, "second")).status_code == 201

    refused = await screening.http.post(url, json={"scores": FAILING, "reason": "Oops."})
    assert refused.status_code == 409
    assert refused.json()["errors"][0]["field"] == "scores"
    assert "second round exists" in refused.json()["errors"][0]["reason"]


async def test_an_interview_is_moved_cancelled_missed_and_scheduled_again(
    screening: Screening,
) -> None:
    applicant_id = uuid.uuid4()
    await screening.ready_for_interviews(applicant_id)
    reason = {"code": "interviewer_unavailable", "text": "The interviewer is away."}
    interview_id = (await screening.schedule(applicant_id)).json()["interview_id"]
    url = f"/cases/{applicant_id}/interviews/{interview_id}"

    moved = await screening.http.post(
        url + "/reschedule",
        json={"slot": slot(scheduled_at="2025-07-02T10:00:00+09:00"), "reason": reason},
    )
    cancelled = await screening.http.post(url + "/cancellation", json={"reason": reason})
    cancelled_again = await screening.http.post(url + "/cancellation", json={"reason": reason})
    missed_id = (await screening.schedule(applicant_id)).json()["interview_id"]
    missed = await screening.http.post(f"/cases/{applicant_id}/interviews/{missed_id}/no-show")
    third = await screening.schedule(applicant_id)

    assert moved.status_code == 201, moved.text
    assert moved.json()["interview"]["history"][0]["slot"]["scheduled_at"] == (
        "2025-07-01T01:00:00Z"
    )
    assert (cancelled.status_code, cancelled_again.status_code) == (201, 200)
    assert missed.status_code == 201, missed.text
    assert third.status_code == 201
    rescheduled = await screening.published("InterviewRescheduled", applicant_id)
    assert rescheduled["payload"]["previous_slot"]["scheduled_at"] == "2025-07-01T01:00:00Z"
    assert rescheduled["payload"]["slot"]["scheduled_at"] == "2025-07-02T01:00:00Z"
    assert rescheduled["payload"]["reason"] == reason
    assert (await screening.published("InterviewCancelled", applicant_id))["payload"][
        "reason"
    ] == reason
    assert (await screening.published("InterviewMissed", applicant_id))["payload"][
        "interview_id"
    ] == missed_id
    case = await screening.case(applicant_id)
    assert case is not None
    assert [i["state"] for i in case["interviews"]] == ["cancelled", "missed", "scheduled"]


async def test_an_interview_scheduled_by_staff_continues_the_applicants_flow(
    screening: Screening,
) -> None:
    applicant_id = uuid.uuid4()
    registered = envelopes.applicant_registered(
        applicant_id, cohort_id=COHORT, vault=screening.vault
    )
    await screening.publish(applicant_id, registered)
    await eventually(lambda: screening.case(applicant_id), what="the screening case")
    case = await screening.submit(applicant_id, REQUIRED)
    for item in case["documents"]["items"]:
        await screening.review(applicant_id, item["document_id"])

    # The office's client sends no X-Correlation-ID: the interview belongs to the
    # applicant's flow, which screening knows from the registration.
    scheduled = await screening.schedule(applicant_id)

    assert scheduled.status_code == 201
    event = await screening.published("InterviewScheduled", applicant_id)
    assert event["correlation_id"] == str(registered.correlation_id)
    assert event["actor"] == {
        "kind": "staff",
        "id": "office-staff",
        "role": "admin",
        "company_id": None,
    }


async def test_a_failed_interview_ends_the_screening(screening: Screening) -> None:
    applicant_id = uuid.uuid4()
    await screening.ready_for_interviews(applicant_id)

    await screening.hold(applicant_id, "first", FAILING)
    after = await screening.schedule(applicant_id, "second")

    assert after.status_code == 409
    assert after.json()["errors"][0]["field"] == "eligibility"
    event = await screening.published("InterviewFailed", applicant_id)
    assert event["payload"]["stage"] == "first"
    assert event["payload"]["scorecard"]["total"] == 8


async def test_a_second_interview_needs_a_passed_first(screening: Screening) -> None:
    applicant_id = uuid.uuid4()
    await screening.ready_for_interviews(applicant_id)

    response = await screening.schedule(applicant_id, "second")

    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "stage"


async def test_no_interview_before_the_case_is_open(screening: Screening) -> None:
    response = await screening.schedule(uuid.uuid4())

    assert response.status_code == 404
    assert response.json()["errors"][0]["field"] == "applicant_id"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"stage": "third"}, "stage"),
        ({"slot": slot(language="french")}, "slot.language"),
        ({"slot": slot(interviewer="")}, "slot.interviewer"),
        ({"slot": slot(scheduled_at="2025-07-01T10:00:00")}, "slot.scheduled_at"),
    ],
)
async def test_a_bad_schedule_is_refused_naming_the_field(
    screening: Screening, change: dict[str, Any], field: str
) -> None:
    body = {"stage": "first", "slot": slot(), **change}

    response = await screening.http.post(f"/cases/{uuid.uuid4()}/interviews", json=body)

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_scores_off_the_scorecard_are_refused_naming_the_criterion(
    screening: Screening,
) -> None:
    applicant_id = uuid.uuid4()
    await screening.ready_for_interviews(applicant_id)
    interview_id = (await screening.schedule(applicant_id)).json()["interview_id"]

    too_high = await screening.result(applicant_id, interview_id, {**PASSING, "language": 6})
    missing = await screening.result(
        applicant_id, interview_id, {k: v for k, v in PASSING.items() if k != "motivation"}
    )

    assert too_high.status_code == missing.status_code == 422
    assert too_high.json()["errors"] == [
        {"field": "scores.language", "reason": "a score is from 0 to 5"}
    ]
    assert missing.json()["errors"][0]["field"] == "scores.motivation"
    case = await screening.case(applicant_id)
    assert case is not None and case["interviews"][0]["state"] == "scheduled"


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
    assert _saw(case, "age_within_cohort_range") == 34
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
    assert _saw(case, "age_within_cohort_range") == 34
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


async def test_an_interviewer_scores_the_interviews_assigned_to_them(
    screening: Screening,
) -> None:
    applicant_id = uuid.uuid4()
    await screening.ready_for_interviews(applicant_id)
    scheduled = await screening.schedule(applicant_id, interviewer="iv-assigned")
    assert scheduled.status_code == 201, scheduled.text
    interview_id = scheduled.json()["interview_id"]
    body = {"interviewed_at": HELD_AT, "scores": PASSING}

    def interviewer(staff_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {IDENTITY.staff('interviewer', staff_id)}"}

    url = f"/cases/{applicant_id}/interviews/{interview_id}/result"
    other = await screening.http.post(url, json=body, headers=interviewer("iv-other"))
    assert other.status_code == 403, other.text
    assigned = await screening.http.post(url, json=body, headers=interviewer("iv-assigned"))
    assert assigned.status_code == 201, assigned.text
    case = await screening.case(applicant_id)
    [held] = [i for i in case["interviews"] if i["interview_id"] == interview_id]
    assert held["result"]["passed"] is True
