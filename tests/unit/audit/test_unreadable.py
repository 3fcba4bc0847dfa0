"""The audit keeps records that break the contract (a forgery, a broken producer's) and
shows them: nothing that reads a history, a board, a queue or a round may fail on one,
whatever its payload holds."""

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.audit.adapters.history_view import fold
from services.audit.application.history import Audit, _company_state
from services.audit.domain.as_of import applicant_state, matching_board, screening_queue
from services.audit.domain.history import entry_of, subjects_of
from services.audit.domain.received import ReceivedEvent

APPLICANT, COMPANY = uuid.uuid4(), uuid.uuid4()

TYPES = [
    "ApplicantRegistered",
    "EligibilityAssessed",
    "ApplicantRejected",
    "CaseReferredToOffice",
    "DocumentReviewed",
    "InterviewScheduled",
    "InterviewPassed",
    "InterviewRecordCorrected",
    "CandidateSelected",
    "CandidateEnteredPool",
    "CompanyRegistered",
    "CompanyRefused",
    "MatchingRoundCompleted",
    "MatchProposed",
    "MatchConfirmed",
    "MatchDeclined",
    "ProposalWithdrawn",
    "CandidateWithdrawn",
    "ProcessingRestricted",
    "SubjectErased",
    "PrivacyRequestAnswered",
    "NotificationSent",
]
KEYS = [
    "applicant_id",
    "company_id",
    "cohort_id",
    "round_id",
    "round_number",
    "result",
    "rule_set",
    "checks",
    "stage",
    "reasons",
    "reason_code",
    "matches",
    "unmatched_candidates",
    "inputs",
    "inputs_digest",
    "algorithm",
    "capacity",
    "eligibility",
    "interview_totals",
    "passed_after",
    "documents_complete",
    "use_suspended",
    "subject_id",
    "subject_kind",
    "template",
    "right",
    "outcome",
    "kind",
    "decision",
]
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.sampled_from([str(APPLICANT), str(COMPANY), "x", ""]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["id", "version", "code", *KEYS[:6]]), inner, max_size=3)
    ),
    max_leaves=8,
)
payloads = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=8)


class Rows:
    """The history table, as the application sees it, holding the given rows."""

    def __init__(self, rows: list[Any]) -> None:
        self.rows = rows

    async def round(self, round_id: uuid.UUID) -> Any:
        return next(
            (r for r in self.rows if r.envelope["event_type"] == "MatchingRoundCompleted"), None
        )


class Row:
    def __init__(self, envelope: dict[str, Any]) -> None:
        self.envelope = envelope


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(TYPES), payloads), min_size=1, max_size=6))
def test_no_reading_of_the_log_fails_on_a_payload_that_breaks_the_contract(events):
    envelopes = [
        {
            "event_id": str(uuid.uuid4()),
            "event_type": event_type,
            "schema_version": 1,
            "producer": "matching",
            "occurred_at": datetime(2026, 5, 1, 9, i, tzinfo=UTC).isoformat(),
            "aggregate_id": str(APPLICANT),
            "aggregate_version": i + 1,
            "correlation_id": None,
            "causation_id": None,
            "actor": {"kind": "system", "id": "matching"},
            "previous_hash": None,
            "payload": {"applicant_id": str(APPLICANT), "cohort_id": "FY2026"} | payload,
        }
        for i, (event_type, payload) in enumerate(events)
    ]
    for i, e in enumerate(envelopes):
        subjects_of(e)
        kept = ReceivedEvent(uuid.UUID(e["event_id"]), "jip.matching.v1", 0, i, e, "hash")
        [received] = kept.collect_events()
        assert fold(None, received) is not None  # the history table's row
    entries = [entry_of(e, f"jip.matching.v1:0:{i}") for i, e in enumerate(envelopes)]
    applicant_state(APPLICANT, entries)
    screening_queue(entries)
    matching_board(entries)
    _company_state(COMPANY, entries)
    audit = Audit(Rows([Row(e) for e in envelopes]))  # type: ignore[arg-type]
    for entry in entries:
        asyncio.run(audit.explain(entry))
    asyncio.run(audit.rerun(uuid.uuid4()))  # the first round given, as `/rounds/{id}/rerun`
