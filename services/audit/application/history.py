"""The auditor's questions, answered from the history table: an applicant's or a host
company's history with an explanation of every decision, a matching round re-run, and
the state of an applicant, a screening queue or a matching board as of a moment."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from events.audit import (
    AuditHistory,
    CheckSeen,
    Explanation,
    HistoryEvent,
    ReasonGiven,
    RoundRerun,
    RuleRef,
)
from services.audit.domain.as_of import (
    Board,
    QueueEntry,
    applicant_state,
    matching_board,
    screening_queue,
)
from services.audit.domain.history import Entry, as_uuid, causal_order, entry_of
from services.audit.domain.rerun import rerun_round

log = logging.getLogger(__name__)


class Row(Protocol):
    event_id: uuid.UUID
    position: str
    envelope: dict[str, Any]
    conflicting: list[dict[str, str]]


class HistoryRows(Protocol):
    """Where the received events are kept (the history table)."""

    async def about_applicant(self, applicant_id: uuid.UUID) -> Sequence[Row]: ...
    async def about_company(self, company_id: uuid.UUID) -> Sequence[Row]: ...
    async def of_cohort(self, cohort_id: str, producers: Sequence[str]) -> Sequence[Row]: ...
    async def event(self, event_id: uuid.UUID) -> Row | None: ...
    async def round(self, round_id: uuid.UUID) -> Row | None: ...


class NotInTheLog(LookupError):
    """Nothing in the log is about what was asked."""


def _entry(row: Row) -> Entry:
    return entry_of(row.envelope, row.position, [c["position"] for c in row.conflicting])


def _up_to(entries: Sequence[Entry], as_of: datetime | None) -> list[Entry]:
    ordered = causal_order(entries)
    return ordered if as_of is None else [e for e in ordered if e.occurred_at <= as_of]


def _rule(ref: Any) -> RuleRef | None:
    if isinstance(ref, dict) and ref.get("id") is not None and ref.get("version") is not None:
        return RuleRef(id=str(ref["id"]), version=int(ref["version"]))
    return None


def _reasons(payload: dict[str, Any]) -> list[ReasonGiven]:
    given = []
    for r in payload.get("reasons") or ():
        if isinstance(r, dict):
            given.append(ReasonGiven(code=str(r.get("code")), text=r.get("text")))
        else:
            given.append(ReasonGiven(code=str(r)))
    if payload.get("reason_code"):
        given.append(ReasonGiven(code=str(payload["reason_code"])))
    return given


class Audit:
    """The audit's read side."""

    def __init__(self, rows: HistoryRows) -> None:
        self.rows = rows
        self._reruns: dict[uuid.UUID, RoundRerun | None] = {}

    # -- histories ---------------------------------------------------------------------
    async def history(
        self,
        subject_kind: Literal["applicant", "company"],
        subject_id: uuid.UUID,
        *,
        as_of: datetime | None = None,
    ) -> AuditHistory:
        """Everything the log holds about the subject, in causal order, each decision
        explained. NotInTheLog when it holds nothing."""
        if subject_kind == "applicant":
            found = await self.rows.about_applicant(subject_id)
        else:
            found = await self.rows.about_company(subject_id)
        if not found:
            raise NotInTheLog(f"the log holds no event about {subject_kind} {subject_id}")
        entries = _up_to([_entry(r) for r in found], as_of)
        events = [await self._history_event(e) for e in entries]
        erased = any(
            e.event_type == "SubjectErased" and e.payload.get("subject_id") == str(subject_id)
            for e in entries
        )
        state: dict[str, Any]
        if subject_kind == "applicant":
            state = asdict(applicant_state(subject_id, entries))
            state["applicant_id"] = str(subject_id)
        else:
            state = _company_state(subject_id, entries)
        return AuditHistory(
            subject_kind=subject_kind,
            subject_id=subject_id,
            as_of=as_of,
            generated_at=datetime.now(UTC),
            erased=erased,
            state=state,
            events=events,
        )

    async def _history_event(self, e: Entry) -> HistoryEvent:
        return HistoryEvent(
            event_id=e.event_id,
            event_type=e.event_type,
            schema_version=e.schema_version,
            producer=e.producer,
            occurred_at=e.occurred_at,
            where=e.where,
            aggregate_id=e.aggregate_id,
            aggregate_version=e.aggregate_version,
            correlation_id=e.correlation_id,
            causation_id=e.causation_id,
            actor=e.actor,  # type: ignore[arg-type]
            what=e.what,
            decision=e.decision,
            explanation=await self.explain(e),
            payload=e.payload,
            conflicting_copies=list(e.conflicting_copies),
        )

    # -- explanations ------------------------------------------------------------------
    async def explain(self, e: Entry) -> Explanation | None:
        """Why a decision was what it was; None for an event that decides nothing, or
        whose payload does not read as the contract says (the audit keeps such records,
        a forgery's or a broken producer's, and shows them with their payload)."""
        try:
            return await self._explain(e)
        except (AttributeError, KeyError, TypeError, ValueError):
            log.warning("event %s: its payload does not read as the contract says", e.event_id)
            return None

    async def _explain(self, e: Entry) -> Explanation | None:
        p, t = e.payload, e.event_type
        if t == "EligibilityAssessed":
            return Explanation(
                kind="eligibility",
                summary=e.what,
                rule=_rule(p.get("rule_set")),
                checks=[
                    CheckSeen(
                        rule=str(c.get("rule")),
                        version=int(c.get("version", 1)),
                        saw=c.get("saw"),
                        passed=bool(c.get("passed")),
                        reason=c.get("reason"),
                    )
                    for c in p.get("checks") or ()
                ],
            )
        if t in ("CompanyRegistered", "CompanyRefused"):
            rule = p.get("eligibility") or {}
            return Explanation(
                kind="company",
                summary=f"{e.what}: "
                + ("an eligible host" if rule.get("eligible") else "not eligible")
                + f" under {rule.get('rule_id')} v{rule.get('rule_version')}",
                rule=_rule({"id": rule.get("rule_id"), "version": rule.get("rule_version")}),
                checks=[
                    CheckSeen(
                        rule=str(rule.get("rule_id")),
                        version=int(rule.get("rule_version") or 1),
                        saw={
                            "industry_group": rule.get("industry_group"),
                            "capital_yen": p.get("capital_yen"),
                            "capital_limit_yen": rule.get("capital_limit_yen"),
                            "regular_employees": p.get("regular_employees"),
                            "employees_limit": rule.get("employees_limit"),
                        },
                        passed=bool(rule.get("eligible")),
                    )
                ],
                reasons=_reasons(p),
            )
        if t in ("ApplicantRejected", "CaseReferredToOffice"):
            return Explanation(
                kind="rejection" if t == "ApplicantRejected" else "referral",
                summary=e.what,
                rule=_rule(p.get("rule_set")),
                stage=p.get("stage"),
                reasons=_reasons(p),
            )
        if t == "CandidateSelected":
            eligibility = p.get("eligibility") or {}
            return Explanation(
                kind="selection",
                summary=f"selected after interviews (totals {p.get('interview_totals')})",
                rule=_rule(eligibility.get("rule_set")) if isinstance(eligibility, dict) else None,
                stage="selection",
            )
        if t in ("InterviewPassed", "InterviewFailed", "InterviewRecordCorrected"):
            return Explanation(kind="interview", summary=e.what, stage=p.get("stage"))
        if t in ("DocumentReviewed", "DocumentRequested"):
            return Explanation(kind="document", summary=e.what, reasons=_reasons(p))
        if t in ("MatchProposed", "MatchConfirmed", "MatchDeclined", "ProposalWithdrawn"):
            round_id = as_uuid(p.get("round_id"))
            rerun = await self.rerun(round_id) if round_id else None
            if round_id is None:
                summary = f"{e.what}, decided directly by {e.actor.get('kind')} {e.actor.get('id')}"
            elif rerun is None:
                summary = f"{e.what}; its round {round_id} is not in the log"
            else:
                verdict = "confirmed" if rerun.confirmed else "NOT confirmed"
                summary = f"{e.what}; round {rerun.round_number} re-run from its inputs: {verdict}"
            return Explanation(
                kind="proposal" if t == "MatchProposed" else "match",
                summary=summary,
                rule=rerun.algorithm if rerun else None,
                reasons=_reasons(p),
                round=rerun,
            )
        if t == "MatchingRoundCompleted":
            round_id = as_uuid(p.get("round_id"))
            rerun = await self.rerun(round_id) if round_id else None
            return Explanation(
                kind="round", summary=e.what, rule=_rule(p.get("algorithm")), round=rerun
            )
        if t == "PrivacyRequestAnswered":
            return Explanation(kind="privacy", summary=e.what, reasons=_reasons(p))
        if t in ("CandidatePreferencesStated",) and p.get("ranking"):
            return Explanation(kind="preferences", summary=e.what, rule=_rule(p.get("ranking")))
        return None

    async def rerun(self, round_id: uuid.UUID) -> RoundRerun | None:
        """A round solved again from its recorded inputs; None when it is not in the log."""
        if round_id not in self._reruns:
            row = await self.rows.round(round_id)
            if row is None:
                self._reruns[round_id] = None
            else:
                payload = row.envelope["payload"]
                result = rerun_round(payload)
                self._reruns[round_id] = RoundRerun(
                    round_id=round_id,
                    round_number=number
                    if isinstance(number := payload.get("round_number"), int)
                    else None,
                    algorithm=RuleRef(id=result.algorithm, version=result.version),
                    algorithm_known=result.known_algorithm,
                    inputs_digest=result.recorded_digest,
                    recomputed_digest=result.digest,
                    digest_matches=result.digest_matches,
                    same_result=result.same_result,
                    blocking_pairs=result.blocking_pairs,
                    differences=result.differences,
                    confirmed=result.confirmed,
                )
        return self._reruns[round_id]

    async def explain_event(self, event_id: uuid.UUID) -> tuple[HistoryEvent, Explanation | None]:
        row = await self.rows.event(event_id)
        if row is None:
            raise NotInTheLog(f"the log holds no event {event_id}")
        entry = _entry(row)
        event = await self._history_event(entry)
        return event, event.explanation

    # -- as of -------------------------------------------------------------------------
    async def screening_queue(self, cohort_id: str, as_of: datetime | None) -> list[QueueEntry]:
        rows = await self.rows.of_cohort(cohort_id, ["screening"])
        return screening_queue(_up_to([_entry(r) for r in rows], as_of))

    async def matching_board(self, cohort_id: str, as_of: datetime | None) -> Board:
        rows = await self.rows.of_cohort(cohort_id, ["matching", "screening"])
        return matching_board(_up_to([_entry(r) for r in rows], as_of))


def _company_state(company_id: uuid.UUID, entries: Sequence[Entry]) -> dict[str, Any]:
    state: dict[str, Any] = {
        "company_id": str(company_id),
        "registered": False,
        "refused": False,
        "capacity": None,
        "proposed": [],
        "confirmed": [],
        "declined": [],
        "events": len(entries),
    }
    for e in entries:
        p, t = e.payload, e.event_type
        if p.get("company_id") != str(company_id):
            continue
        if t == "CompanyRegistered":
            state.update(registered=True, capacity=p.get("capacity"), cohort_id=p.get("cohort_id"))
        elif t == "CompanyRefused":
            state["refused"] = True
        elif p.get("applicant_id") is None:
            continue  # a record that breaks the contract: shown, not folded
        elif t == "MatchProposed":
            state["proposed"].append(p["applicant_id"])
        elif t in ("MatchDeclined", "ProposalWithdrawn", "MatchConfirmed"):
            if p["applicant_id"] in state["proposed"]:
                state["proposed"].remove(p["applicant_id"])
            if t == "MatchConfirmed":
                state["confirmed"].append(p["applicant_id"])
            elif t == "MatchDeclined":
                state["declined"].append(p["applicant_id"])
    return state
