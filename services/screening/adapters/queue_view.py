"""The office's screening queue: who waits for which step of screening, and since when.

A read model in screening's own PostgreSQL database, built from its event log: the
projector follows the log like any follower, translates each stored event to the event
screening publishes (`to_integration_event`, the stable contract) and folds that; the
one private event it needs is the arrival of documents (the office has something to
review). Each row keeps the version of the last event applied, so replaying an event
(at-least-once) changes nothing, and the queue can be dropped and rebuilt from the log
at any time (`python -m services.screening rebuild-read-models`).

The table holds no personal data: ids, the cohort, the step and times.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final, Literal, get_args

import asyncpg

from events.envelope import Envelope
from runtime.read_model import POSITIONS_SCHEMA, FoldedTable, FoldingProjector
from services.screening.application.publishing import to_integration_event
from services.screening.domain.case import ScreeningCase

WaitingFor = Literal[
    "eligibility",
    "office_review",
    "documents",
    "document_review",
    "first_interview_scheduling",
    "first_interview",
    "second_interview_scheduling",
    "second_interview",
    "selection",
    "none",
]
WAITING_FOR: Final[tuple[str, ...]] = get_args(WaitingFor)
Outcome = Literal["rejected", "failed", "selected"]

SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS screening_queue (
    applicant_id uuid PRIMARY KEY,
    cohort_id text NOT NULL,
    waiting_for text NOT NULL,
    outcome text,
    since timestamptz NOT NULL,
    rejection_stage text,
    progress jsonb NOT NULL,
    version integer NOT NULL
);
CREATE INDEX IF NOT EXISTS screening_queue_by_cohort
    ON screening_queue (cohort_id, waiting_for, since, applicant_id);
CREATE INDEX IF NOT EXISTS screening_queue_by_step
    ON screening_queue (waiting_for, since, applicant_id);
"""
    + POSITIONS_SCHEMA
)

PROJECTOR_NAME = "projector:screening_queue"

#: Writes a folded row; the version guard keeps an older event (a replay) from
#: overwriting a newer state.
UPSERT = """
INSERT INTO screening_queue AS q (applicant_id, cohort_id, waiting_for, outcome, since,
    rejection_stage, progress, version)
VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8)
ON CONFLICT (applicant_id) DO UPDATE SET waiting_for = EXCLUDED.waiting_for,
    outcome = EXCLUDED.outcome, since = EXCLUDED.since,
    rejection_stage = EXCLUDED.rejection_stage, progress = EXCLUDED.progress,
    version = EXCLUDED.version
WHERE q.version < EXCLUDED.version
"""


@dataclass(frozen=True)
class Step:
    """One event of a case as the queue reads it: a published event's type and payload,
    or the private arrival of documents (`DocumentsReceived`, payload `document_ids`)."""

    event_type: str
    payload: dict[str, Any]
    case_id: uuid.UUID
    version: int
    at: datetime

    @classmethod
    def of_envelope(cls, envelope: Envelope[Any]) -> Step:
        return cls(
            event_type=envelope.event_type,
            payload=envelope.payload.model_dump(mode="json"),
            case_id=envelope.aggregate_id,
            version=envelope.aggregate_version,
            at=envelope.occurred_at,
        )

    @classmethod
    def of_stored(cls, e: Any) -> Step | None:
        """The step a stored domain event is, or None if the queue does not care."""
        envelope = to_integration_event(e)
        if envelope is not None:
            return cls.of_envelope(envelope)
        if isinstance(e, ScreeningCase.DocumentsReceived):
            return cls(
                event_type="DocumentsReceived",
                payload={"document_ids": [str(d["document_id"]) for d in e.documents]},
                case_id=e.originator_id,
                version=e.originator_version,
                at=e.timestamp,
            )
        return None


@dataclass(frozen=True)
class Progress:
    """How far a case has come: what the queue's step is derived from."""

    eligibility: str | None = None
    #: Documents arrived and not reviewed yet (their ids).
    unreviewed: tuple[str, ...] = ()
    documents_complete: bool = False
    #: By round: "scheduled", "passed" or "failed" (None: nothing pending or decided).
    interviews: dict[str, str | None] = field(
        default_factory=lambda: {"first": None, "second": None}
    )
    referred: bool = False
    rejected: str | None = None
    selected: bool = False

    def as_json(self) -> str:
        return json.dumps(
            {
                "eligibility": self.eligibility,
                "unreviewed": list(self.unreviewed),
                "documents_complete": self.documents_complete,
                "interviews": self.interviews,
                "referred": self.referred,
                "rejected": self.rejected,
                "selected": self.selected,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Progress:
        data = json.loads(text)
        return cls(**{**data, "unreviewed": tuple(data["unreviewed"])})

    def with_interview(self, stage: str, state: str | None) -> Progress:
        return replace(self, interviews={**self.interviews, stage: state})

    def place(self) -> tuple[str, str | None, str | None]:
        """(waiting_for, outcome, rejection stage): the step the case waits for. An
        office referral comes before anything else (a selected candidate who no longer
        meets the rules); then an ending; then facts the office must look at; then the
        furthest step reached (selection, the two interview rounds, and before them the
        eligibility assessment and the documents)."""
        if self.referred:
            return "office_review", None, None
        if self.rejected is not None:
            return "none", "rejected", self.rejected
        for stage in ("first", "second"):
            if self.interviews[stage] == "failed":
                return "none", "failed", f"{stage}_interview"
        if self.selected:
            return "none", "selected", None
        if self.eligibility not in (None, "eligible"):
            # Implausible facts (or an ineligible case not rejected): the office looks.
            return "office_review", None, None
        # Once the interviews have begun they say where the case is, whether or not an
        # assessment was published before them.
        second, first = self.interviews["second"], self.interviews["first"]
        if second == "passed":
            return "selection", None, None
        if second == "scheduled":
            return "second_interview", None, None
        if first == "passed":
            return "second_interview_scheduling", None, None
        if first == "scheduled":
            return "first_interview", None, None
        if self.eligibility is None:
            return "eligibility", None, None
        if self.documents_complete:
            return "first_interview_scheduling", None, None
        if self.unreviewed:
            return "document_review", None, None
        return "documents", None, None


def advance(progress: Progress, step: Step) -> Progress:
    """The case's progress after one step."""
    p, kind = step.payload, step.event_type
    if kind == "EligibilityAssessed":
        # An eligible assessment releases a referred candidate (as matching does).
        referred = progress.referred and p["result"] != "eligible"
        return replace(progress, eligibility=p["result"], referred=referred)
    if kind == "ApplicantRejected":
        return replace(progress, rejected=p["stage"], referred=False, selected=False)
    if kind == "ScreeningCaseReopened":
        return replace(progress, rejected=None)
    if kind == "CaseReferredToOffice":
        return replace(progress, referred=True)
    if kind == "DocumentsReceived":
        arrived = tuple(i for i in p["document_ids"] if i not in progress.unreviewed)
        return replace(progress, unreviewed=progress.unreviewed + arrived)
    if kind == "DocumentReviewed":
        unreviewed = tuple(i for i in progress.unreviewed if i != p["document_id"])
        return replace(progress, unreviewed=unreviewed, documents_complete=p["documents_complete"])
    if kind == "DocumentRequested":
        return replace(progress, documents_complete=False)
    if kind in ("InterviewScheduled", "InterviewRescheduled"):
        return progress.with_interview(p["stage"], "scheduled")
    if kind in ("InterviewCancelled", "InterviewMissed"):
        return progress.with_interview(p["stage"], None)
    if kind == "InterviewPassed":
        return progress.with_interview(p["stage"], "passed")
    if kind == "InterviewFailed":
        return progress.with_interview(p["stage"], "failed")
    if kind == "InterviewRecordCorrected" and p.get("passed_after") is not None:
        return progress.with_interview(p["stage"], "passed" if p["passed_after"] else "failed")
    if kind == "CandidateSelected":
        return replace(progress, selected=True, referred=False)
    return progress


@dataclass(frozen=True)
class QueueRow:
    """One case's line in the office's queue."""

    applicant_id: uuid.UUID
    cohort_id: str
    waiting_for: str
    outcome: str | None
    since: datetime
    rejection_stage: str | None
    progress: Progress
    version: int

    @classmethod
    def from_record(cls, r: asyncpg.Record) -> QueueRow:
        return cls(
            applicant_id=r["applicant_id"],
            cohort_id=r["cohort_id"],
            waiting_for=r["waiting_for"],
            outcome=r["outcome"],
            since=r["since"],
            rejection_stage=r["rejection_stage"],
            progress=Progress.from_json(r["progress"]),
            version=r["version"],
        )

    def as_args(self) -> tuple[Any, ...]:
        return (
            self.applicant_id,
            self.cohort_id,
            self.waiting_for,
            self.outcome,
            self.since,
            self.rejection_stage,
            self.progress.as_json(),
            self.version,
        )

    def shown(self) -> dict[str, Any]:
        """The row as the office reads it."""
        return {
            "applicant_id": self.applicant_id,
            "cohort_id": self.cohort_id,
            "waiting_for": self.waiting_for,
            "outcome": self.outcome,
            "since": self.since,
            "rejection_stage": self.rejection_stage,
            "version": self.version,
        }


def fold(row: QueueRow | None, step: Step) -> QueueRow | None:
    """The row after one step. A step the row already reflects (its version is not
    newer) leaves it unchanged, so replaying the log changes nothing. `since` moves only
    when the case moves to another step (a rescheduled interview still waits since it
    was first scheduled)."""
    if row is not None and row.version >= step.version:
        return row
    if row is None:
        if "cohort_id" not in step.payload:
            return None  # the case's opening comes first; nothing to place this in
        row = QueueRow(
            applicant_id=step.case_id,
            cohort_id=step.payload["cohort_id"],
            waiting_for="",
            outcome=None,
            since=step.at,
            rejection_stage=None,
            progress=Progress(),
            version=0,
        )
    progress = advance(row.progress, step)
    waiting_for, outcome, stage = progress.place()
    moved = (waiting_for, outcome) != (row.waiting_for, row.outcome)
    return replace(
        row,
        waiting_for=waiting_for,
        outcome=outcome,
        rejection_stage=stage,
        since=step.at if moved else row.since,
        progress=progress,
        version=step.version,
    )


@dataclass(frozen=True)
class Page:
    rows: list[QueueRow]
    #: Where the next page starts (pass as `after`), or None on the last page.
    next_after: tuple[datetime, uuid.UUID] | None


class QueueView(FoldedTable[QueueRow]):
    """Reads and writes the `screening_queue` table through an asyncpg pool."""

    name = PROJECTOR_NAME
    table = "screening_queue"
    key_column = "applicant_id"
    upsert = UPSERT

    def items(self, batch: Sequence[tuple[Any, int]]) -> list[Step]:
        return [s for s in (Step.of_stored(e) for e, _ in batch) if s is not None]

    def key_of(self, item: Step) -> uuid.UUID:
        return item.case_id

    def row_of(self, record: asyncpg.Record) -> QueueRow:
        return QueueRow.from_record(record)

    def fold(self, row: QueueRow | None, item: Step) -> QueueRow | None:
        return fold(row, item)

    def args_of(self, row: QueueRow) -> tuple[Any, ...]:
        return row.as_args()

    async def create(self) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute(SCHEMA)

    async def page(
        self,
        *,
        cohort_id: str | None = None,
        waiting_for: str | None = None,
        limit: int = 50,
        after: tuple[datetime, uuid.UUID] | None = None,
    ) -> Page:
        """The cases in the order they have waited (longest first), `limit` at a time;
        keyset pagination on (since, applicant_id), so a page is stable while the
        queue moves."""
        conditions: list[str] = []
        args: list[Any] = []
        if cohort_id is not None:
            args.append(cohort_id)
            conditions.append(f"cohort_id = ${len(args)}")
        if waiting_for is not None:
            args.append(waiting_for)
            conditions.append(f"waiting_for = ${len(args)}")
        if after is not None:
            args.extend(after)
            conditions.append(f"(since, applicant_id) > (${len(args) - 1}, ${len(args)})")
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        args.append(limit + 1)
        async with self.pool.acquire() as conn:
            found = await conn.fetch(
                f"SELECT * FROM screening_queue {where} "  # noqa: S608 - placeholders only
                f"ORDER BY since, applicant_id LIMIT ${len(args)}",
                *args,
            )
        rows = [QueueRow.from_record(r) for r in found[:limit]]
        more = len(found) > limit
        return Page(rows, (rows[-1].since, rows[-1].applicant_id) if more else None)

    async def all_rows(self) -> list[QueueRow]:
        async with self.pool.acquire() as conn:
            found = await conn.fetch("SELECT * FROM screening_queue ORDER BY applicant_id")
        return [QueueRow.from_record(r) for r in found]

    async def get(self, applicant_id: uuid.UUID) -> QueueRow | None:
        async with self.pool.acquire() as conn:
            found = await conn.fetchrow(
                "SELECT * FROM screening_queue WHERE applicant_id = $1", applicant_id
            )
        return None if found is None else QueueRow.from_record(found)


class QueueProjector(FoldingProjector):
    """Keeps the office's queue in step with the log (and rebuilds it after `clear`).
    It reads every event: which of screening's events are published is
    `to_integration_event`'s to say, and it may grow."""
