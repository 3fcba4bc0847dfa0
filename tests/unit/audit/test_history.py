"""What a history is made of: whom an event is about, its words without personal data,
and the causal order of events from services whose clocks disagree."""

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from events.envelope import derive_event_id
from services.audit.domain.history import (
    PERSONAL_DATA,
    causal_order,
    entry_of,
    subjects_of,
    without_personal_data,
)

APPLICANT, COMPANY = uuid.uuid4(), uuid.uuid4()
T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
SEALED = f"sealed:v1:{APPLICANT}:" + "A" * 40


def envelope(
    event_type: str,
    producer: str,
    version: int,
    minutes: int,
    *,
    aggregate: uuid.UUID = APPLICANT,
    cause: dict | None = None,
    **payload,
) -> dict:
    return {
        "event_id": str(derive_event_id(producer, event_type, aggregate, version)),
        "event_type": event_type,
        "schema_version": 1,
        "producer": producer,
        "occurred_at": (T0 + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z"),
        "aggregate_id": str(aggregate),
        "aggregate_version": version,
        "correlation_id": str(uuid.uuid4()),
        "causation_id": cause["event_id"] if cause else None,
        "actor": {"kind": "system", "id": producer},
        "previous_hash": None,
        "payload": {"applicant_id": str(APPLICANT), **payload},
    }


def test_an_event_is_about_the_applicants_and_companies_it_names_and_a_rounds_every_party():
    ana, ben = uuid.uuid4(), uuid.uuid4()
    round_ = {
        "payload": {
            "cohort_id": "FY2026",
            "inputs": {
                "candidates": [{"id": str(ana), "preferences": []}, {"id": str(ben)}],
                "hosts": [{"id": str(COMPANY), "capacity": 1, "preferences": []}],
            },
        }
    }
    about = subjects_of(round_)
    assert about.applicants == {ana, ben} and about.companies == {COMPANY}
    assert about.cohorts == {"FY2026"}
    erased = {"payload": {"subject_id": str(COMPANY), "subject_kind": "company"}}
    assert subjects_of(erased).companies == {COMPANY} and not subjects_of(erased).applicants
    assert subjects_of({"payload": "not an object"}).applicants == frozenset()


def test_sealed_values_read_as_personal_data_wherever_they_are():
    value = {"email": SEALED, "list": [SEALED, "code"], "nested": {"note": SEALED}, "n": 3}
    assert without_personal_data(value) == {
        "email": PERSONAL_DATA,
        "list": [PERSONAL_DATA, "code"],
        "nested": {"note": PERSONAL_DATA},
        "n": 3,
    }
    entry = entry_of(envelope("ApplicantRegistered", "registration", 3, 0, email=SEALED), "t:0:1")
    assert entry.payload["email"] == PERSONAL_DATA and SEALED not in str(entry)


def test_a_cause_comes_before_its_effect_even_when_its_clock_was_ahead():
    registered = envelope("ApplicantRegistered", "registration", 3, 5)
    opened = envelope("ScreeningCaseOpened", "screening", 1, 1, cause=registered)
    assessed = envelope("EligibilityAssessed", "screening", 2, 2, cause=opened, result="eligible")
    mail = envelope("NotificationSent", "notifications", 1, 3, aggregate=uuid.uuid4())
    entries = [entry_of(e, f"t:0:{i}") for i, e in enumerate([assessed, mail, opened, registered])]
    ordered = [e.event_type for e in causal_order(entries)]
    assert ordered == [
        "NotificationSent",
        "ApplicantRegistered",
        "ScreeningCaseOpened",
        "EligibilityAssessed",
    ]


@given(st.permutations(range(6)), st.lists(st.integers(-30, 30), min_size=6, max_size=6))
def test_causal_order_never_puts_an_event_before_its_cause_or_its_aggregates_earlier_events(
    order, skews
):
    chain: list[dict] = []
    for version in range(1, 7):
        producer = "screening" if version % 2 else "matching"
        cause = chain[-1] if chain else None
        chain.append(envelope(f"Step{version}", producer, version, skews[version - 1], cause=cause))
    entries = [entry_of(chain[i], f"t:0:{i}") for i in order]
    ordered = [e.event_type for e in causal_order(entries)]
    assert ordered == [f"Step{v}" for v in range(1, 7)]


def test_a_decision_says_in_a_line_what_was_decided():
    assessed = envelope(
        "EligibilityAssessed",
        "screening",
        2,
        0,
        result="ineligible",
        rule_set={"id": "fy2025", "version": 2},
        checks=[
            {"rule": "age_within_cohort_range", "version": 1, "saw": 36, "passed": False},
            {"rule": "language", "version": 1, "saw": "N3", "passed": True},
        ],
    )
    entry = entry_of(assessed, "t:0:1")
    assert entry.what == (
        "eligibility assessed: ineligible by fy2025 v2; unmet: age_within_cohort_range"
    )
    assert entry.decision["rule_set"] == {"id": "fy2025", "version": 2}


def test_a_record_that_breaks_the_contract_is_read_without_failing_and_not_folded():
    from services.audit.domain.as_of import applicant_state, matching_board

    company = str(COMPANY)
    events = [
        envelope("CompanyRegistered", "matching", 1, 0, aggregate=COMPANY, company_id=company),
        envelope("CandidateEnteredPool", "matching", 1, 1),
        # Forged or from a broken producer: a proposal naming no company.
        envelope("MatchProposed", "matching", 2, 2),
        envelope("MatchConfirmed", "matching", 3, 3, company_id=company),
    ]
    entries = [entry_of(e, f"jip.matching.v1:0:{i}") for i, e in enumerate(events)]
    board = matching_board(entries)
    assert board.companies[company].capacity == 0
    assert board.candidates[str(APPLICANT)].status == "confirmed"
    assert applicant_state(APPLICANT, entries).matching == "confirmed"
