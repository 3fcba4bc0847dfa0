"""The matching board: per cohort, who is proposed where, who is confirmed, which places
are open, and the rounds run so far.

A read model in matching's own PostgreSQL database, folded from its event log: the
projector follows the log like any follower, translates each stored event to the event
matching publishes (`to_integration_event`, the stable contract) and folds that; the
private events it needs besides are the office's hold on a candidate and its release
and removal. Each row keeps the log position of the last event applied, so replaying an
event (at-least-once) changes nothing, and the board can be dropped and rebuilt from
the log at any time (`python -m services.matching rebuild-read-models`).

A stored event that cannot be translated (a bug, or a shape a newer version stored)
does not stop the board: it is logged by its id and position only (never its values)
and skipped, and the projector goes on with the next; the service's log names it.

The table holds no personal data: ids, the cohort, courses, statuses, times, and the
companies' legal names.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final

import asyncpg

from runtime.read_model import POSITIONS_SCHEMA, FoldedTable, FoldingProjector
from services.matching.application.publishing import to_integration_event
from services.matching.domain.candidate import Candidate

log = logging.getLogger(__name__)

SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS matching_board (
    key uuid PRIMARY KEY,
    cohort_id text NOT NULL,
    kind text NOT NULL,
    state jsonb NOT NULL,
    position bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS matching_board_by_cohort ON matching_board (cohort_id, kind);
"""
    + POSITIONS_SCHEMA
)

PROJECTOR_NAME = "projector:matching_board"

#: Writes a folded row; the position guard keeps a replayed event from overwriting a
#: newer state.
UPSERT = """
INSERT INTO matching_board AS b (key, cohort_id, kind, state, position)
VALUES ($1, $2, $3, $4::jsonb, $5)
ON CONFLICT (key) DO UPDATE SET state = EXCLUDED.state, position = EXCLUDED.position
WHERE b.position < EXCLUDED.position
"""

CANDIDATE: Final = "candidate"
COMPANY: Final = "company"
ROUND: Final = "round"

#: The private events of a candidate the board reads (the office's review).
_HOLDS = {"PutOnHold": "on_hold", "HoldReleased": "in_pool", "RemovedFromPool": "removed"}


@dataclass(frozen=True)
class Entry:
    """One event as the board reads it, for one row."""

    key: uuid.UUID
    kind: str
    event_type: str
    payload: dict[str, Any]
    at: datetime
    position: int


@dataclass(frozen=True)
class BoardRow:
    key: uuid.UUID
    cohort_id: str
    kind: str
    state: dict[str, Any]
    position: int

    @classmethod
    def from_record(cls, r: asyncpg.Record) -> BoardRow:
        return cls(r["key"], r["cohort_id"], r["kind"], json.loads(r["state"]), r["position"])

    def as_args(self) -> tuple[Any, ...]:
        return (self.key, self.cohort_id, self.kind, json.dumps(self.state), self.position)


def entries_of(stored: Any, position: int) -> list[Entry]:
    """The board's entries for one stored event: none, or one per row it changes."""
    if isinstance(stored, Candidate.PutOnHold | Candidate.HoldReleased | Candidate.RemovedFromPool):  # type: ignore[attr-defined]
        return [
            Entry(
                stored.originator_id,
                CANDIDATE,
                type(stored).__name__,
                {},
                stored.timestamp,
                position,
            )
        ]
    try:
        envelope = to_integration_event(stored)
    except Exception:
        log.exception(
            "matching board: skipped stored event %s v%s at position %d (not translatable)",
            stored.originator_id,
            stored.originator_version,
            position,
        )
        return []
    if envelope is None:
        return []
    kind = envelope.event_type
    payload = envelope.payload.model_dump(mode="json")
    at = envelope.occurred_at

    def entry(key: str | uuid.UUID, row_kind: str) -> Entry:
        return Entry(uuid.UUID(str(key)), row_kind, kind, payload, at, position)

    if kind in ("CandidateEnteredPool", "CandidateWithdrawn", "CandidatePreferencesStated"):
        return [entry(payload["applicant_id"], CANDIDATE)]
    if kind in ("CompanyRegistered", "CompanyPreferencesStated"):
        return [entry(payload["company_id"], COMPANY)]
    if kind in ("MatchProposed", "MatchDeclined", "ProposalWithdrawn", "MatchConfirmed"):
        return [entry(payload["applicant_id"], CANDIDATE), entry(payload["company_id"], COMPANY)]
    if kind == "AgreementSigned":
        return [entry(payload["applicant_id"], CANDIDATE)]
    if kind == "MatchingRoundCompleted":
        return [entry(payload["round_id"], ROUND)]
    return []


def _new_state(entry: Entry) -> dict[str, Any] | None:
    p = entry.payload
    if entry.kind == CANDIDATE and "cohort_id" in p:
        return {
            "applicant_id": str(entry.key),
            "status": "in_pool",
            "has_list": False,
            "company_id": None,
            "course": None,
            "match_id": None,
            "round_id": None,
            "decide_by": None,
            "declined_by": [],
            "proposals_withdrawn": 0,
            "agreements_signed": 0,
            "since": entry.at.isoformat(),
        }
    if entry.kind == COMPANY and "cohort_id" in p:
        return {
            "company_id": str(entry.key),
            "legal_name": p.get("legal_name"),
            "capacity": p.get("capacity", 0),
            "has_list": False,
            "proposed": [],
            "confirmed": [],
            "places_open": p.get("capacity", 0),
        }
    if entry.kind == ROUND:
        return {}
    return None


def _candidate(state: dict[str, Any], entry: Entry) -> dict[str, Any]:
    p, kind = entry.payload, entry.event_type
    s = dict(state)
    if kind in _HOLDS:
        if kind == "HoldReleased" and s["status"] != "on_hold":
            return s
        if s["status"] in ("confirmed", "withdrawn"):
            return s
        s["status"] = _HOLDS[kind]
    elif kind == "CandidateWithdrawn":
        s["status"] = "withdrawn"
    elif kind == "CandidatePreferencesStated":
        s["has_list"] = bool(p["companies"])
    elif kind == "MatchProposed":
        s.update(
            status="proposed",
            company_id=p["company_id"],
            course=p["course"],
            match_id=p["match_id"],
            round_id=p["round_id"],
            decide_by=p["decide_by"],
        )
    elif kind == "MatchDeclined":
        s.update(status="in_pool", company_id=None, course=None, round_id=None, decide_by=None)
        s["declined_by"] = [*s["declined_by"], p["company_id"]]
    elif kind == "ProposalWithdrawn":
        if s["status"] == "proposed":
            s["status"] = "in_pool"
        s.update(company_id=None, course=None, round_id=None, decide_by=None)
        s["proposals_withdrawn"] += 1
    elif kind == "MatchConfirmed":
        s.update(
            status="confirmed",
            company_id=p["company_id"],
            course=p["course"],
            match_id=p["match_id"],
            decide_by=None,
        )
    elif kind == "AgreementSigned":
        s["agreements_signed"] += 1
    if s["status"] != state.get("status"):
        s["since"] = entry.at.isoformat()
    return s


def _company(state: dict[str, Any], entry: Entry) -> dict[str, Any]:
    p, kind = entry.payload, entry.event_type
    s = dict(state)
    applicant = p.get("applicant_id")
    proposed = [a for a in s["proposed"] if a != applicant]
    if kind == "CompanyRegistered":
        s.update(legal_name=p["legal_name"], capacity=p["capacity"])
    elif kind == "CompanyPreferencesStated":
        s["has_list"] = bool(p["candidates"])
    elif kind == "MatchProposed":
        s["proposed"] = [*proposed, applicant]
    elif kind in ("MatchDeclined", "ProposalWithdrawn"):
        s["proposed"] = proposed
    elif kind == "MatchConfirmed":
        s["proposed"] = proposed
        s["confirmed"] = [*[a for a in s["confirmed"] if a != applicant], applicant]
    s["places_open"] = max(s["capacity"] - len(s["proposed"]) - len(s["confirmed"]), 0)
    return s


def _round(entry: Entry) -> dict[str, Any]:
    p = entry.payload
    return {
        "round_id": p["round_id"],
        "round_number": p["round_number"],
        "algorithm": p["algorithm"],
        "inputs_digest": p["inputs_digest"],
        "proposed": len(p["matches"]),
        "unmatched": len(p["unmatched_candidates"]),
        "blocking_pairs": p["blocking_pairs"],
        "completed_at": entry.at.isoformat(),
    }


def fold(row: BoardRow | None, entry: Entry) -> BoardRow | None:
    """The row after one entry; an entry the row already reflects changes nothing."""
    if row is not None and row.position >= entry.position:
        return row
    if row is None:
        state = _new_state(entry)
        if state is None:
            return None  # nothing to place it in (its row's first event is missing)
        row = BoardRow(entry.key, entry.payload["cohort_id"], entry.kind, state, 0)
    if entry.kind == CANDIDATE:
        state = _candidate(row.state, entry)
    elif entry.kind == COMPANY:
        state = _company(row.state, entry)
    else:
        state = _round(entry)
    return replace(row, state=state, position=entry.position)


@dataclass(frozen=True)
class Board:
    cohort_id: str
    candidates: list[dict[str, Any]]
    companies: list[dict[str, Any]]
    rounds: list[dict[str, Any]]


class BoardView(FoldedTable[BoardRow]):
    """Reads and writes the `matching_board` table through an asyncpg pool."""

    name = PROJECTOR_NAME
    table = "matching_board"
    key_column = "key"
    upsert = UPSERT

    def items(self, batch: Sequence[tuple[Any, int]]) -> list[Entry]:
        return [entry for stored, position in batch for entry in entries_of(stored, position)]

    def key_of(self, item: Entry) -> uuid.UUID:
        return item.key

    def row_of(self, record: asyncpg.Record) -> BoardRow:
        return BoardRow.from_record(record)

    def fold(self, row: BoardRow | None, item: Entry) -> BoardRow | None:
        return fold(row, item)

    def args_of(self, row: BoardRow) -> tuple[Any, ...]:
        return row.as_args()

    async def create(self) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute(SCHEMA)

    async def board(self, cohort_id: str) -> Board:
        """The cohort's board, in one query: candidates by the time they reached their
        status, companies by name, rounds by number."""
        async with self.pool.acquire() as conn:
            found = await conn.fetch("SELECT * FROM matching_board WHERE cohort_id = $1", cohort_id)
        rows = [BoardRow.from_record(r) for r in found]
        by_kind = {
            kind: [r.state for r in rows if r.kind == kind] for kind in (CANDIDATE, COMPANY, ROUND)
        }
        return Board(
            cohort_id,
            sorted(by_kind[CANDIDATE], key=lambda s: (s["since"], s["applicant_id"])),
            sorted(by_kind[COMPANY], key=lambda s: (s["legal_name"] or "", s["company_id"])),
            sorted(by_kind[ROUND], key=lambda s: s["round_number"]),
        )

    async def company(self, company_id: uuid.UUID) -> tuple[BoardRow, list[BoardRow]] | None:
        """A company's row and the rows of the candidates proposed to it or confirmed
        with it; None for a company the board does not have."""
        async with self.pool.acquire() as conn:
            found = await conn.fetchrow(
                "SELECT * FROM matching_board WHERE key = $1 AND kind = $2", company_id, COMPANY
            )
            if found is None:
                return None
            row = BoardRow.from_record(found)
            ids = [uuid.UUID(a) for a in [*row.state["proposed"], *row.state["confirmed"]]]
            candidates = await conn.fetch(
                "SELECT * FROM matching_board WHERE key = ANY($1::uuid[])", ids
            )
        return row, [BoardRow.from_record(r) for r in candidates]

    async def all_rows(self) -> list[BoardRow]:
        async with self.pool.acquire() as conn:
            found = await conn.fetch("SELECT * FROM matching_board ORDER BY key")
        return [BoardRow.from_record(r) for r in found]


class BoardProjector(FoldingProjector):
    """Keeps the matching board in step with the log (and rebuilds it after `clear`).
    It reads every event: which of matching's events are published is
    `to_integration_event`'s to say, and it may grow."""
