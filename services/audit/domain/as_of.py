"""The state of things as they were at a moment, folded from the published events up to
it: an applicant's, a cohort's screening queue, a cohort's matching board.

Read from the log alone (the events every service published), so an auditor gets the
same answer from any copy of the log, whatever the services' own read models say now.
The vocabulary follows the services' own views where the log tells the same thing
(the board's `in_pool`, `on_hold`, `proposed`, `confirmed`, `withdrawn`, `removed`); the
screening queue shows the last step each applicant reached.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.audit.domain.history import Entry


@dataclass
class ApplicantState:
    """Where an applicant stood: in registration, screening and matching, with the last
    decision about them."""

    applicant_id: uuid.UUID
    cohort_id: str | None = None
    registered: bool = False
    erased: bool = False
    use_suspended: bool = False
    amendments: int = 0
    screening: str | None = None
    eligibility: str | None = None
    rejected_at_stage: str | None = None
    interviews: dict[str, str] = field(default_factory=dict)
    selected: bool = False
    matching: str | None = None
    company_id: str | None = None
    agreement_signed: bool = False
    last_decision: dict[str, Any] | None = None
    notifications_sent: int = 0
    events: int = 0


_DECISIONS = {
    "EligibilityAssessed",
    "ApplicantRejected",
    "CaseReferredToOffice",
    "DocumentReviewed",
    "InterviewPassed",
    "InterviewFailed",
    "InterviewRecordCorrected",
    "CandidateSelected",
    "MatchProposed",
    "MatchConfirmed",
    "MatchDeclined",
    "ProposalWithdrawn",
}


def applicant_state(applicant_id: uuid.UUID, entries: Iterable[Entry]) -> ApplicantState:
    """Fold the applicant's history (in causal order, up to the moment asked)."""
    s = ApplicantState(applicant_id)
    for e in entries:
        p = e.payload
        s.events += 1
        s.cohort_id = p.get("cohort_id") or s.cohort_id
        t = e.event_type
        if t in ("ApplicantRegistered", "ApplicantPreregistered"):
            s.registered = s.registered or t == "ApplicantRegistered"
        elif t == "ApplicantDetailsAmended":
            s.amendments += 1
        elif t == "SubjectErased":
            s.erased = True
        elif t == "ProcessingRestricted":
            s.use_suspended = bool(p.get("use_suspended"))
        elif t == "ScreeningCaseOpened":
            s.screening = "opened"
        elif t == "EligibilityAssessed":
            s.eligibility = p.get("result")
            s.screening = f"eligibility {p.get('result')}"
        elif t == "ScreeningCaseReopened":
            s.rejected_at_stage = None
            s.screening = "reopened"
        elif t == "CaseReferredToOffice":
            s.screening = "referred to the office"
        elif t == "DocumentRequested":
            s.screening = "documents requested"
        elif t == "DocumentReviewed" and p.get("documents_complete"):
            s.screening = "documents complete"
        elif t in ("InterviewScheduled", "InterviewRescheduled"):
            s.screening = f"{p.get('stage')} interview scheduled"
        elif t in ("InterviewPassed", "InterviewFailed"):
            result = "passed" if t == "InterviewPassed" else "failed"
            s.interviews[str(p.get("stage"))] = result
            s.screening = f"{p.get('stage')} interview {result}"
        elif t == "InterviewRecordCorrected":
            s.interviews[str(p.get("stage"))] = "passed" if p.get("passed_after") else "failed"
        elif t == "ApplicantRejected":
            s.rejected_at_stage = p.get("stage")
            s.screening = f"rejected at {p.get('stage')}"
            if s.matching in ("in_pool", "proposed", "on_hold"):
                s.matching = "removed"
        elif t == "CandidateSelected":
            s.selected = True
            s.screening = "selected"
        elif t == "CandidateEnteredPool":
            s.matching = "in_pool"
        elif t == "MatchProposed":
            s.matching, s.company_id = "proposed", p.get("company_id")
        elif t in ("MatchDeclined", "ProposalWithdrawn"):
            s.matching, s.company_id = "in_pool", None
        elif t == "MatchConfirmed":
            s.matching, s.company_id = "confirmed", p.get("company_id")
        elif t == "AgreementSigned":
            s.agreement_signed = True
        elif t == "CandidateWithdrawn":
            s.matching = "withdrawn"
        elif t == "NotificationSent":
            s.notifications_sent += 1
        if t in _DECISIONS:
            s.last_decision = {
                "event_id": str(e.event_id),
                "event_type": t,
                "at": e.occurred_at.isoformat(),
                "actor": e.actor,
                **e.decision,
            }
    return s


@dataclass(frozen=True)
class QueueEntry:
    applicant_id: str
    step: str
    since: datetime


def screening_queue(entries: Iterable[Entry]) -> list[QueueEntry]:
    """Each applicant of the cohort's screening events (in causal order) at the last
    step they reached, and since when."""
    steps: dict[str, QueueEntry] = {}
    for e in entries:
        if e.producer != "screening" or "applicant_id" not in e.payload:
            continue
        applicant = str(e.payload["applicant_id"])
        state = applicant_state(uuid.UUID(applicant), [e])
        step = state.screening
        if step is None:
            continue
        if (
            e.event_type == "EligibilityAssessed"
            and applicant in steps
            and steps[applicant].step not in ("opened", "reopened")
            and not step.endswith("ineligible")
        ):
            continue  # a re-assessment that changes nothing does not move the case
        previous = steps.get(applicant)
        if previous is None or previous.step != step:
            steps[applicant] = QueueEntry(applicant, step, e.occurred_at)
    return sorted(steps.values(), key=lambda q: (q.since, q.applicant_id))


@dataclass
class BoardCandidate:
    applicant_id: str
    status: str = "in_pool"
    company_id: str | None = None
    round_id: str | None = None
    declined_by: list[str] = field(default_factory=list)


@dataclass
class BoardCompany:
    company_id: str
    capacity: int = 0
    proposed: list[str] = field(default_factory=list)
    confirmed: list[str] = field(default_factory=list)

    @property
    def places_open(self) -> int:
        return max(self.capacity - len(self.proposed) - len(self.confirmed), 0)


@dataclass
class Board:
    candidates: dict[str, BoardCandidate] = field(default_factory=dict)
    companies: dict[str, BoardCompany] = field(default_factory=dict)
    rounds: list[dict[str, Any]] = field(default_factory=list)


def matching_board(entries: Iterable[Entry]) -> Board:
    """The cohort's board from its matching events (and the screening decisions that
    hold or remove a candidate), in causal order."""
    board = Board()
    for e in entries:
        p, t = e.payload, e.event_type
        if t == "CompanyRegistered":
            if p.get("company_id") is not None:
                capacity = p.get("capacity")
                board.companies[str(p["company_id"])] = BoardCompany(
                    str(p["company_id"]), capacity if isinstance(capacity, int) else 0
                )
            continue
        if t == "MatchingRoundCompleted":
            board.rounds.append(
                {
                    "round_id": p.get("round_id"),
                    "round_number": p.get("round_number"),
                    "proposed": len(p.get("matches") or ()),
                    "at": e.occurred_at.isoformat(),
                }
            )
            continue
        applicant = p.get("applicant_id")
        if applicant is None:
            continue
        applicant = str(applicant)
        if t == "CandidateEnteredPool":
            board.candidates[applicant] = BoardCandidate(applicant)
            continue
        c = board.candidates.get(applicant)
        if c is None:
            continue
        company_id = p.get("company_id")
        company = board.companies.get(str(company_id))
        if company_id is None and t in ("MatchProposed", "MatchDeclined", "MatchConfirmed"):
            continue  # a record that breaks the contract: shown in histories, not folded
        if t == "MatchProposed":
            c.status, c.company_id, c.round_id = "proposed", str(company_id), p.get("round_id")
            if company is not None:
                company.proposed.append(applicant)
        elif t in ("MatchDeclined", "ProposalWithdrawn"):
            if t == "MatchDeclined":
                c.declined_by.append(str(company_id))
            if c.status == "proposed":
                c.status, c.company_id, c.round_id = "in_pool", None, None
            if company is not None and applicant in company.proposed:
                company.proposed.remove(applicant)
        elif t == "MatchConfirmed":
            c.status, c.company_id = "confirmed", str(company_id)
            if company is not None:
                if applicant in company.proposed:
                    company.proposed.remove(applicant)
                company.confirmed.append(applicant)
        elif t == "CandidateWithdrawn":
            c.status = "withdrawn"
        elif t == "CaseReferredToOffice" and c.status == "in_pool":
            c.status = "on_hold"
        elif t == "EligibilityAssessed" and c.status == "on_hold" and p.get("result") == "eligible":
            c.status = "in_pool"
        elif t == "ApplicantRejected" and c.status in ("in_pool", "on_hold"):
            c.status = "removed"
    return board
