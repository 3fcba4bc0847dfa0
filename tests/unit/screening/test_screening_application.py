"""Stories of screening's policies and commands, with the event store in memory: what
it publishes when registration's events arrive and when the office records interviews."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent

from events import registration, topics
from events.envelope import Envelope
from kernel import actor as acting
from runtime.inbox import Inbox, Outcome, QuarantinedMessage, ReceivedRecord
from services.screening.application.publishing import to_integration_event
from services.screening.application.service import NotFound, ScreeningApplication
from services.screening.domain.case import ScreeningCase
from services.screening.domain.cohort import Cohort, WaitListPage
from services.screening.domain.eligibility import assess
from tests import envelopes
from tests.screening_steps import (
    FAILING,
    HELD_AT,
    PASSING,
    accept_documents,
    hold_interviews,
    slot,
)

#: Who gives the commands in these tests (any actor will do).
ACTOR = acting.staff("staff-017", role="admin")

IN_MEMORY = {"PERSISTENCE_MODULE": "eventsourcing.popo"}


class Deliveries:
    """Feeds envelopes to the application's inbox as Kafka would, one offset each."""

    def __init__(self, app: ScreeningApplication) -> None:
        self.inbox = Inbox(app, accepts=ScreeningApplication.consumed_event_types())
        self.offset = 0

    def deliver(self, value: Envelope | bytes) -> Outcome:
        raw = value if isinstance(value, bytes) else value.model_dump_json().encode()
        record = ReceivedRecord(topics.REGISTRATION, 0, self.offset, raw)
        self.offset += 1
        return self.inbox.receive(record)


def published(app: ScreeningApplication) -> list[Envelope]:
    notifications = app.recorder.select_notifications(start=1, limit=1000)
    translated = (to_integration_event(app.mapper.to_domain_event(n)) for n in notifications)
    return [e for e in translated if e is not None]


@pytest.fixture
def app() -> ScreeningApplication:
    return ScreeningApplication(IN_MEMORY)


def test_a_registered_applicant_gets_a_case_once_however_often_it_is_delivered(
    app: ScreeningApplication,
) -> None:
    applicant_id = uuid.uuid4()
    registered = envelopes.applicant_registered(applicant_id)
    kafka = Deliveries(app)

    outcomes = [kafka.deliver(registered), kafka.deliver(registered)]

    assert outcomes == [Outcome.PROCESSED, Outcome.PROCESSED]
    [opened] = published(app)
    assert opened.event_type == "ScreeningCaseOpened"
    assert opened.payload.model_dump() == {
        "case_id": applicant_id,
        "applicant_id": applicant_id,
        "cohort_id": "FY2025",
    }
    # The case continues the applicant's flow, caused by the registration.
    assert opened.correlation_id == registered.correlation_id
    assert opened.causation_id == registered.event_id


def test_the_cohorts_rules_decide_eligibility_when_the_case_opens(
    app: ScreeningApplication,
) -> None:
    kafka = Deliveries(app)
    kafka.deliver(envelopes.cohort_opened())
    eligible, too_old = uuid.uuid4(), uuid.uuid4()

    kafka.deliver(envelopes.applicant_registered(eligible))
    kafka.deliver(envelopes.applicant_registered(too_old, date_of_birth=date(1980, 1, 1)))

    assert app.get_case(eligible).eligibility["result"] == "eligible"
    decision = app.get_case(too_old).eligibility
    assert decision["result"] == "ineligible"
    [age] = [c for c in decision["checks"] if not c["passed"]]
    assert (age["rule"], age["reason"]) == (
        "age_within_cohort_range",
        "older than 40 on 2025-08-25",
    )
    # Screening decided on the published age: it never held the date of birth.
    assert age["saw"] == 45
    assert "date_of_birth" not in app.get_case(too_old).facts


def test_a_cohort_announced_after_its_applicants_still_decides_their_eligibility(
    app: ScreeningApplication,
) -> None:
    # Registrations and cohorts travel on different partitions: a backlog may be read
    # in either order.
    kafka = Deliveries(app)
    early, too_old = uuid.uuid4(), uuid.uuid4()
    kafka.deliver(envelopes.applicant_registered(early))
    kafka.deliver(envelopes.applicant_registered(too_old, date_of_birth=date(1980, 1, 1)))
    assert app.get_case(early).eligibility is None

    kafka.deliver(envelopes.cohort_opened())

    assert app.get_case(early).eligibility["result"] == "eligible"
    assert app.get_case(too_old).eligibility is not None
    assert app.get_case(too_old).eligibility["result"] == "ineligible"


def assessments(app: ScreeningApplication) -> list[ScreeningCase.EligibilityAssessed]:
    notifications = app.recorder.select_notifications(start=1, limit=10_000)
    events = (app.mapper.to_domain_event(n) for n in notifications)
    return [e for e in events if isinstance(e, ScreeningCase.EligibilityAssessed)]


def test_a_backlog_of_applicants_waiting_for_their_cohort_is_assessed_once_it_opens(
    app: ScreeningApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small pages, so that the backlog fills several (and ends on a part-filled one).
    monkeypatch.setattr(WaitListPage, "CAPACITY", 4)
    kafka = Deliveries(app)
    waiting = [uuid.uuid4() for _ in range(19)]
    registrations = [envelopes.applicant_registered(a) for a in waiting]
    # Read by poll, as the consumer does, and one more time after a crash.
    for start in range(0, len(registrations), 5):
        records = []
        for registered in registrations[start : start + 5]:
            records.append(
                ReceivedRecord(
                    topics.REGISTRATION, 0, kafka.offset, registered.model_dump_json().encode()
                )
            )
            kafka.offset += 1
        kafka.inbox.receive_batch(records)
    kafka.deliver(registrations[3])
    assert assessments(app) == []

    opened = envelopes.cohort_opened()
    kafka.deliver(opened)
    kafka.deliver(opened)  # a relay may publish twice

    assessed = assessments(app)
    assert sorted(e.originator_id for e in assessed) == sorted(waiting)
    assert {e.causation_id for e in assessed} == {opened.event_id}
    # Each case continues its applicant's flow.
    correlations = {r.aggregate_id: r.correlation_id for r in registrations}
    assert all(e.correlation_id == correlations[e.originator_id] for e in assessed)

    # One who registers after the cohort opened is assessed at once, and only once.
    late = uuid.uuid4()
    kafka.deliver(envelopes.applicant_registered(late))
    assert [e.originator_id for e in assessments(app)[len(assessed) :]] == [late]


def test_a_registration_waiting_for_its_cohort_reads_no_more_than_one_page(
    app: ScreeningApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The work of a record must not grow with the backlog before it (it used to replay
    # one wait list holding every earlier case: quadratic in the backlog). Counted as
    # stored events turned back into domain events while each registration is handled.
    monkeypatch.setattr(WaitListPage, "CAPACITY", 10)
    kafka = Deliveries(app)
    replayed = 0
    to_domain_event = app.repository.event_store.mapper.to_domain_event

    def counting(stored: StoredEvent) -> object:
        nonlocal replayed
        replayed += 1
        return to_domain_event(stored)

    monkeypatch.setattr(app.repository.event_store.mapper, "to_domain_event", counting)
    per_record = []
    for _ in range(100):
        replayed = 0
        kafka.deliver(envelopes.applicant_registered(uuid.uuid4()))
        per_record.append(replayed)

    # At most a full page (its start and ten cases), then the next, new page.
    assert max(per_record) <= WaitListPage.CAPACITY + 1
    assert max(per_record[-20:]) == max(per_record[:20])


def test_documents_and_amendments_are_recorded_on_the_case_privately(
    app: ScreeningApplication,
) -> None:
    applicant_id = uuid.uuid4()
    kafka = Deliveries(app)
    kafka.deliver(envelopes.cohort_opened())
    kafka.deliver(envelopes.applicant_registered(applicant_id))
    amended = envelopes.details_amended(applicant_id, {"nationality": "CN", "family_name": "Tran"})

    kafka.deliver(
        envelopes.documents_submitted(
            applicant_id,
            ["certificate_of_graduation", "language_score_certificate", "letter_of_recommendation"],
            [],
        )
    )
    kafka.deliver(amended)
    kafka.deliver(amended)

    case = app.get_case(applicant_id)
    # received, and required by the applicant's facts (a graduate claiming language
    # scores), but not yet reviewed
    assert case.documents_state.outstanding == [
        "certificate_of_graduation",
        "letter_of_recommendation",
        "language_score_certificate",
    ]
    assert case.needs_review
    assert [a["changed_fields"] for a in case.amendments] == [["family_name", "nationality"]]
    assert case.eligibility is not None
    assert case.eligibility["result"] == "ineligible"
    # The decisions are published; the documents and the amendment are not.
    assert [e.event_type for e in published(app)] == [
        "ScreeningCaseOpened",
        "EligibilityAssessed",
        "EligibilityAssessed",
        "ApplicantRejected",
    ]


def test_events_for_an_unknown_applicant_are_passed_over(app: ScreeningApplication) -> None:
    kafka = Deliveries(app)

    outcome = kafka.deliver(envelopes.documents_submitted(uuid.uuid4(), ["resume"], []))

    assert outcome is Outcome.PROCESSED
    assert published(app) == []


def test_a_malformed_record_is_quarantined_and_the_next_one_processed(
    app: ScreeningApplication,
) -> None:
    applicant_id = uuid.uuid4()
    kafka = Deliveries(app)

    garbage = kafka.deliver(b"not json")
    broken = kafka.deliver(
        envelopes.with_broken_payload(envelopes.applicant_registered(applicant_id))
    )
    valid = kafka.deliver(envelopes.applicant_registered(applicant_id))

    assert (garbage, broken, valid) == (Outcome.QUARANTINED, Outcome.QUARANTINED, Outcome.PROCESSED)
    quarantined: QuarantinedMessage = app.repository.get(
        QuarantinedMessage.id_for(topics.REGISTRATION, 0, 1)
    )
    assert "payload.applicant_id" in quarantined.reason
    assert app.get_case(applicant_id).status == "awaiting_rules"  # a case, waiting for its cohort


def test_document_reviews_and_interviews_are_published(app: ScreeningApplication) -> None:
    passing, failing = uuid.uuid4(), uuid.uuid4()
    kafka = Deliveries(app)
    kafka.deliver(envelopes.cohort_opened())
    kafka.deliver(envelopes.applicant_registered(passing))
    kafka.deliver(envelopes.applicant_registered(failing))

    hold_interviews(app, passing, ACTOR)
    hold_interviews(app, failing, ACTOR, ("first",), failing="first")

    events = published(app)
    reviewed = [e for e in events if e.event_type == "DocumentReviewed"]
    assert [e.payload.documents_complete for e in reviewed if e.aggregate_id == passing] == [
        False,
        False,
        True,
    ]
    results = [e for e in events if e.event_type in ("InterviewPassed", "InterviewFailed")]
    assert [(e.event_type, e.payload.stage, e.aggregate_id) for e in results] == [
        ("InterviewPassed", "first", passing),
        ("InterviewPassed", "second", passing),
        ("InterviewFailed", "first", failing),
    ]
    first = results[0].payload
    assert (first.scorecard.total, first.scorecard.pass_mark) == (15, 12)
    assert first.scorecard.rule_set.id == "jip-fy2025"
    assert first.interviewer == "staff-017"
    scheduled = [e for e in events if e.event_type == "InterviewScheduled"]
    assert first.interview_id == scheduled[0].payload.interview_id


def test_no_interview_is_scheduled_for_an_applicant_without_a_case(
    app: ScreeningApplication,
) -> None:
    with pytest.raises(NotFound) as missing:
        app.schedule_interview(uuid.uuid4(), "first", slot("first"), actor=ACTOR)

    assert missing.value.field == "applicant_id"


def test_a_correction_and_the_rest_of_an_interviews_life_are_published(
    app: ScreeningApplication,
) -> None:
    applicant_id = uuid.uuid4()
    kafka = Deliveries(app)
    kafka.deliver(envelopes.cohort_opened())
    kafka.deliver(envelopes.applicant_registered(applicant_id))
    accept_documents(app, applicant_id, ACTOR)
    reason = {"code": "applicant_request", "text": "The applicant asked for another day."}

    _, moved, _ = app.schedule_interview(applicant_id, "first", slot("first"), ACTOR)
    app.reschedule_interview(
        applicant_id, moved, slot("first", HELD_AT.replace(day=2)), reason, ACTOR
    )
    app.cancel_interview(applicant_id, moved, reason, ACTOR)
    _, missed, _ = app.schedule_interview(applicant_id, "first", slot("first"), ACTOR)
    app.note_no_show(applicant_id, missed, ACTOR)
    _, held, _ = app.schedule_interview(applicant_id, "first", slot("first"), ACTOR)
    note = envelopes.UNIT_VAULT.seal(applicant_id, "Nervous; knew the program well.")
    app.record_interview_result(applicant_id, held, HELD_AT, FAILING, note, ACTOR)
    why = envelopes.UNIT_VAULT.seal(applicant_id, "Scores entered in the wrong rows.")
    app.correct_interview_record(applicant_id, held, {"scores": PASSING}, why, ACTOR)
    app.request_document(applicant_id, "resume", date(2025, 7, 31), None, ACTOR)

    kinds = [e.event_type for e in published(app) if e.aggregate_id == applicant_id]
    assert kinds[-9:] == [
        "InterviewScheduled",
        "InterviewRescheduled",
        "InterviewCancelled",
        "InterviewScheduled",
        "InterviewMissed",
        "InterviewScheduled",
        "InterviewFailed",
        "InterviewRecordCorrected",
        "DocumentRequested",
    ]
    corrected = next(e for e in published(app) if e.event_type == "InterviewRecordCorrected")
    assert (corrected.payload.passed_before, corrected.payload.passed_after) == (False, True)
    assert app.get_case(applicant_id).status == "first_interview_passed"


def test_a_cohort_opening_while_a_case_is_put_on_its_wait_list_still_assesses_the_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two consumers of one store (two instances, or two partitions read at once), with
    # the cohort's announcement recorded between the moment a registration finds the
    # cohort unknown and the moment its case is put on the wait list. The case must not
    # be left waiting on a list the cohort has already gone through.
    store = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "db")}
    registrations, cohorts = ScreeningApplication(store), ScreeningApplication(store)
    opened = envelopes.cohort_opened()
    announce = Inbox(cohorts, accepts=ScreeningApplication.consumed_event_types())
    find = registrations.find

    def cohort_opens_just_after_it_is_read(aggregate_id: uuid.UUID, kind: type) -> object:
        found = find(aggregate_id, kind)
        if (
            kind is Cohort
            and found is None
            and not announce.app.recorder.max_tracking_id(f"kafka:{topics.REGISTRATION}:1")
        ):
            announce.receive(
                ReceivedRecord(topics.REGISTRATION, 1, 0, opened.model_dump_json().encode())
            )
        return found

    monkeypatch.setattr(registrations, "find", cohort_opens_just_after_it_is_read)
    applicant_id = uuid.uuid4()

    outcome = Deliveries(registrations).deliver(envelopes.applicant_registered(applicant_id))

    assert outcome == Outcome.PROCESSED
    [assessed] = assessments(registrations)
    assert assessed.originator_id == applicant_id


def test_a_corrected_birth_date_reaches_screening_as_an_age_and_decides_again(
    app: ScreeningApplication,
) -> None:
    applicant_id = uuid.uuid4()
    kafka = Deliveries(app)
    kafka.deliver(envelopes.cohort_opened())
    kafka.deliver(envelopes.applicant_registered(applicant_id))
    assert app.get_case(applicant_id).eligibility["result"] == "eligible"

    kafka.deliver(
        envelopes.details_amended(
            applicant_id, {"date_of_birth": "1979-03-04"}, age_on_reference_date=46
        )
    )

    case = app.get_case(applicant_id)
    assert case.eligibility["result"] == "ineligible"
    [age] = [c for c in case.eligibility["checks"] if not c["passed"]]
    assert age["saw"] == 46 and case.eligibility["trigger"] == "amended"
    assert case.needs_review
    # Nothing personal is kept in clear: not the date, not the reason of the amendment.
    stored = b"".join(
        n.state for n in app.recorder.select_notifications(start=1, limit=1000)
    ).decode()
    assert "1979" not in stored
    assert "passport provided" not in stored
    assert case.amendments[0]["reason"].startswith("sealed:v1:")


def test_an_amended_education_or_language_changes_the_documents_required(
    app: ScreeningApplication,
) -> None:
    applicant_id = uuid.uuid4()
    kafka = Deliveries(app)
    kafka.deliver(envelopes.cohort_opened())
    kafka.deliver(envelopes.applicant_registered(applicant_id))
    assert app.get_case(applicant_id).required_documents == [
        "certificate_of_graduation",
        "letter_of_recommendation",
        "language_score_certificate",
    ]
    education = envelopes.golden(registration.ApplicantRegistered)["payload"]["education"]

    kafka.deliver(
        envelopes.details_amended(
            applicant_id,
            {
                "education": {**education, "status": "enrolled"},
                "languages": {"jlpt": None, "ielts": None, "toefl_ibt": None, "toeic": None},
            },
        )
    )

    assert app.get_case(applicant_id).required_documents == [
        "certificate_of_enrollment",
        "letter_of_recommendation",
    ]


def test_an_amended_nationality_language_or_education_decides_again_with_the_rule_set(
    app: ScreeningApplication,
) -> None:
    applicant_id = uuid.uuid4()
    kafka = Deliveries(app)
    kafka.deliver(envelopes.cohort_opened())
    kafka.deliver(envelopes.applicant_registered(applicant_id))
    first = app.get_case(applicant_id).eligibility
    assert first["result"] == "eligible"
    assert first["rule_set"] == {"id": "jip-fy2025", "version": 1}

    kafka.deliver(envelopes.details_amended(applicant_id, {"nationality": "CN"}, version=5))
    decision = app.get_case(applicant_id).eligibility
    assert decision["result"] == "ineligible"
    assert [c["rule"] for c in decision["checks"] if not c["passed"]] == [
        "nationality_not_excluded"
    ]

    kafka.deliver(envelopes.details_amended(applicant_id, {"nationality": "VN"}, version=6))
    kafka.deliver(envelopes.details_amended(applicant_id, {"languages": {"jlpt": "N4"}}, version=7))
    decision = app.get_case(applicant_id).eligibility
    assert [c["rule"] for c in decision["checks"] if not c["passed"]] == ["language"]
    [language] = [c for c in decision["checks"] if c["rule"] == "language"]
    assert language["saw"] == {"jlpt": "N4"}

    secondary = {
        "institution": "A high school",
        "level": "secondary",
        "status": "graduated",
        "field_of_study": "General",
        "graduation_date": "2019-03-31",
    }
    kafka.deliver(
        envelopes.details_amended(
            applicant_id, {"languages": {"jlpt": "N3"}, "education": secondary}, version=8
        )
    )
    decision = app.get_case(applicant_id).eligibility
    assert [c["rule"] for c in decision["checks"] if not c["passed"]] == ["education"]


def test_every_recorded_assessment_reruns_from_the_log_and_a_changed_rule_shows(
    app: ScreeningApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    kafka = Deliveries(app)
    kafka.deliver(envelopes.cohort_opened())
    eligible, too_old = uuid.uuid4(), uuid.uuid4()
    kafka.deliver(envelopes.applicant_registered(eligible))
    kafka.deliver(envelopes.applicant_registered(too_old, date_of_birth=date(1980, 1, 1)))
    kafka.deliver(envelopes.details_amended(eligible, {"nationality": "CN"}, version=5))

    count, discrepancies = app.rerun_assessments()

    assert (count, discrepancies) == (3, [])

    # A rule whose code changed without a new version no longer reproduces the decisions
    # it made: the re-run names each one.
    def lenient(facts: Any, rule_set: Any) -> Any:
        real = assess(facts, rule_set)
        return replace(real, result="eligible")

    monkeypatch.setattr("services.screening.application.service.assess", lenient)
    count, discrepancies = app.rerun_assessments()
    assert {(d.applicant_id, d.recorded, d.rerun) for d in discrepancies} == {
        (too_old, "ineligible", "eligible"),
        (eligible, "ineligible", "eligible"),
    }


def test_a_revised_rule_set_assesses_the_cohort_again_under_its_new_version(
    app: ScreeningApplication,
) -> None:
    kafka = Deliveries(app)
    opened = envelopes.cohort_opened()
    kafka.deliver(opened)
    strong, weak = uuid.uuid4(), uuid.uuid4()
    kafka.deliver(envelopes.applicant_registered(strong, languages={"jlpt": "N2"}))
    kafka.deliver(envelopes.applicant_registered(weak, languages={"ielts": 5.0}))
    assert app.get_case(weak).status == "rejected"

    # The office lowers the IELTS minimum to 5.0: version 2 of the rule set.
    rules = opened.payload.rules.model_dump(mode="json")
    language = {**rules["language"], "english_minimums": {"ielts": 5.0}}
    kafka.deliver(
        envelopes.upstream(
            registration.CohortRulesRevised,
            aggregate_id=uuid.uuid5(uuid.NAMESPACE_URL, f"cohort:{envelopes.COHORT}"),
            version=2,
            cohort_id=envelopes.COHORT,
            rules={**rules, "rule_set_version": 2, "language": language},
        )
    )

    for applicant_id in (strong, weak):
        decision = app.get_case(applicant_id).eligibility
        assert decision["rule_set"]["version"] == 2
        assert (decision["trigger"], decision["result"]) == ("rules_revised", "eligible")
    assert app.get_case(weak).status == "open", "reopened under the new version"
    assert [e.event_type for e in published(app) if e.payload.applicant_id == weak][-2:] == [
        "EligibilityAssessed",
        "ScreeningCaseReopened",
    ]
    # The same revision delivered again changes nothing.
    count = len(published(app))
    kafka.deliver(
        envelopes.upstream(
            registration.CohortRulesRevised,
            aggregate_id=uuid.uuid5(uuid.NAMESPACE_URL, f"cohort:{envelopes.COHORT}"),
            version=2,
            cohort_id=envelopes.COHORT,
            rules={**rules, "rule_set_version": 2, "language": language},
        )
    )
    assert len(published(app)) == count
