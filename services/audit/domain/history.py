"""An applicant's (or a host company's) history, read from the events every service
published: who the events are about, what each says in words, the decision it records
and why, in causal order. Pure: it works on envelopes as JSON objects (the contract's
published form), so it reads any event type, including ones newer than this code.

Personal data never leaves the seal: every sealed value (`sealed:v1:...`) is shown as
`PERSONAL_DATA`, whether or not its subject was erased, so a history reads the same
before and after an erasure, and an auditor sees facts and decisions, not a person's
details (those are the privacy officer's, through a disclosure).
"""

from __future__ import annotations

import heapq
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

#: What a history shows in place of a personal value.
PERSONAL_DATA: Final = "[personal data]"
_SEALED = re.compile(r"^sealed:v1:[0-9a-f-]{36}:[A-Za-z0-9_-]+$")

#: The payload fields that carry a decision's grounds; a history shows these of every
#: event that has them (and the whole payload in its JSON form).
DECISION_FIELDS: Final = (
    "result",
    "previous_result",
    "rule_set",
    "checks",
    "trigger",
    "changed_fields",
    "stage",
    "decision",
    "reasons",
    "reason",
    "reason_code",
    "outcome",
    "outcome_reason",
    "identity_check",
    "scorecard",
    "passed_before",
    "passed_after",
    "corrected",
    "eligibility",
    "interview_totals",
    "algorithm",
    "constraints",
    "inputs_digest",
    "round_id",
    "round_number",
    "candidate_rank",
    "company_rank",
    "basis",
    "ranking",
    "scores",
    "cause_event_id",
)


def without_personal_data(value: Any) -> Any:
    """The value with every sealed string replaced by `PERSONAL_DATA`."""
    if isinstance(value, str):
        return PERSONAL_DATA if _SEALED.match(value) else value
    if isinstance(value, Mapping):
        return {k: without_personal_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [without_personal_data(v) for v in value]
    return value


@dataclass(frozen=True)
class Subjects:
    """Whom an event is about: applicants, host companies, cohorts."""

    applicants: frozenset[uuid.UUID] = frozenset()
    companies: frozenset[uuid.UUID] = frozenset()
    cohorts: frozenset[str] = frozenset()


def as_uuid(value: Any) -> uuid.UUID | None:
    """`value` as a UUID; None when it is none or not one (the audit keeps records that
    break the contract, and reads them without failing)."""
    try:
        return uuid.UUID(str(value)) if value is not None else None
    except ValueError:
        return None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def subjects_of(envelope: Mapping[str, Any]) -> Subjects:
    """Read from the contract's naming: `applicant_id`, `company_id`, `cohort_id`, a
    privacy request's `subject_id` with its `subject_kind`, and a matching round's
    candidates and hosts (every applicant and company that took part in it)."""
    payload = envelope.get("payload")
    if not isinstance(payload, Mapping):
        return Subjects()
    applicants: set[uuid.UUID] = set()
    companies: set[uuid.UUID] = set()
    cohorts: set[str] = set()
    if (a := as_uuid(payload.get("applicant_id"))) is not None:
        applicants.add(a)
    if (c := as_uuid(payload.get("company_id"))) is not None:
        companies.add(c)
    if isinstance(payload.get("cohort_id"), str):
        cohorts.add(payload["cohort_id"])
    subject = as_uuid(payload.get("subject_id"))
    if subject is not None:
        kind = payload.get("subject_kind")
        if kind == "company":
            companies.add(subject)
        elif kind in ("applicant", None):
            applicants.add(subject)
    inputs = payload.get("inputs")
    if isinstance(inputs, Mapping):
        for candidate in _list(inputs.get("candidates")):
            if isinstance(candidate, Mapping) and (a := as_uuid(candidate.get("id"))) is not None:
                applicants.add(a)
        for host in _list(inputs.get("hosts")):
            if isinstance(host, Mapping) and (c := as_uuid(host.get("id"))) is not None:
                companies.add(c)
    return Subjects(frozenset(applicants), frozenset(companies), frozenset(cohorts))


@dataclass(frozen=True)
class Entry:
    """One event of a history: when, which service, what happened, who did it, and for
    a decision its grounds (rule or algorithm with its version, reasons, what it saw).
    `where` is the record's position (topic:partition:offset) on the log."""

    event_id: uuid.UUID
    event_type: str
    schema_version: int
    producer: str
    occurred_at: datetime
    aggregate_id: uuid.UUID
    aggregate_version: int
    correlation_id: uuid.UUID | None
    causation_id: uuid.UUID | None
    actor: dict[str, Any]
    where: str
    what: str
    decision: dict[str, Any] = field(default_factory=dict)
    payload: dict[str, Any] = field(default_factory=dict)
    #: Copies of this event id whose content differs (positions): tampering evidence.
    conflicting_copies: tuple[str, ...] = ()


def entry_of(
    envelope: Mapping[str, Any], where: str, conflicting_copies: Sequence[str] = ()
) -> Entry:
    """An envelope as a history entry, with its personal data left sealed."""
    payload = without_personal_data(envelope.get("payload") or {})
    decision = {k: payload[k] for k in DECISION_FIELDS if k in payload}
    occurred = envelope["occurred_at"]
    return Entry(
        event_id=uuid.UUID(str(envelope["event_id"])),
        event_type=str(envelope["event_type"]),
        schema_version=int(envelope.get("schema_version", 1)),
        producer=str(envelope["producer"]),
        occurred_at=occurred
        if isinstance(occurred, datetime)
        else datetime.fromisoformat(str(occurred).replace("Z", "+00:00")),
        aggregate_id=uuid.UUID(str(envelope["aggregate_id"])),
        aggregate_version=int(envelope["aggregate_version"]),
        correlation_id=as_uuid(envelope.get("correlation_id")),
        causation_id=as_uuid(envelope.get("causation_id")),
        actor=dict(without_personal_data(envelope.get("actor") or {})),
        where=where,
        what=_described(str(envelope["event_type"]), payload),
        decision=decision,
        payload=payload,
        conflicting_copies=tuple(conflicting_copies),
    )


def _words(event_type: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", " ", event_type).lower()


def _rule(ref: Any) -> str:
    if isinstance(ref, Mapping) and "id" in ref:
        return f"{ref['id']} v{ref.get('version', '?')}"
    return "?"


def _reasons(payload: Mapping[str, Any]) -> str:
    reasons = payload.get("reasons") or []
    codes = [r.get("code", "?") if isinstance(r, Mapping) else str(r) for r in reasons]
    return ", ".join(codes)


def _described(event_type: str, payload: Mapping[str, Any]) -> str:
    # The audit keeps records that break the contract too (a forgery, a broken
    # producer): such a payload is shown, and said to be unreadable, rather than failing.
    try:
        return describe(event_type, payload)
    except (AttributeError, KeyError, TypeError, ValueError):
        return f"{_words(event_type)} (its payload does not read as the contract says)"


def describe(event_type: str, payload: Mapping[str, Any]) -> str:
    """What happened, in a line: the event's name in words, and its outcome."""
    words = _words(event_type)
    p = payload
    if event_type == "EligibilityAssessed":
        failed = [c.get("rule") for c in p.get("checks") or () if not c.get("passed")]
        unmet = f"; unmet: {', '.join(map(str, failed))}" if failed else ""
        return f"eligibility assessed: {p.get('result')} by {_rule(p.get('rule_set'))}{unmet}"
    if event_type == "ApplicantRejected":
        return f"rejected at {p.get('stage')}: {_reasons(p)}"
    if event_type == "CaseReferredToOffice":
        return f"referred to the office: {_reasons(p)}"
    if event_type == "CompanyRefused":
        return f"company refused: {_reasons(p)}"
    if event_type in ("InterviewPassed", "InterviewFailed"):
        return f"{p.get('stage')} interview {'passed' if 'Passed' in event_type else 'failed'}"
    if event_type == "DocumentReviewed":
        return f"document {p.get('kind')} {p.get('decision')}" + (
            f" ({p['reason_code']})" if p.get("reason_code") else ""
        )
    if event_type == "MatchingRoundCompleted":
        return (
            f"matching round {p.get('round_number')} by {_rule(p.get('algorithm'))}: "
            f"{len(p.get('matches') or ())} proposed, "
            f"{len(p.get('unmatched_candidates') or ())} unmatched"
        )
    if event_type in ("MatchProposed", "MatchConfirmed", "MatchDeclined", "ProposalWithdrawn"):
        extra = f" ({p['reason_code']})" if p.get("reason_code") else ""
        return f"{words} with company {p.get('company_id')}{extra}"
    if event_type in ("NotificationSent", "NotificationFailed"):
        return f"{words}: {p.get('template')}"
    if event_type == "PrivacyRequestAnswered":
        return f"privacy request ({p.get('right')}) answered: {p.get('outcome')}"
    return words


def causal_order(entries: Iterable[Entry]) -> list[Entry]:
    """The entries so that each comes after the event that caused it (`causation_id`)
    and after the earlier events of its own aggregate from the same producer; among
    those free to come next, the earliest (`occurred_at`, then position). Clocks of
    different services may disagree by a little; causality does not."""
    items = list({e.event_id: e for e in entries}.values())
    by_id = {e.event_id: e for e in items}
    before: dict[uuid.UUID, set[uuid.UUID]] = {e.event_id: set() for e in items}
    last_of_aggregate: dict[tuple[str, uuid.UUID], Entry] = {}
    for e in sorted(items, key=lambda e: (e.producer, e.aggregate_id, e.aggregate_version)):
        key = (e.producer, e.aggregate_id)
        previous = last_of_aggregate.get(key)
        if previous is not None:
            before[e.event_id].add(previous.event_id)
        last_of_aggregate[key] = e
        if e.causation_id is not None and e.causation_id in by_id and e.causation_id != e.event_id:
            before[e.event_id].add(e.causation_id)
    after: dict[uuid.UUID, list[uuid.UUID]] = {e.event_id: [] for e in items}
    for event_id, causes in before.items():
        for cause in causes:
            after[cause].append(event_id)
    waiting = {k: len(v) for k, v in before.items()}

    def rank(e: Entry) -> tuple[datetime, str, str]:
        return (e.occurred_at, e.where, str(e.event_id))

    ready = [(rank(e), e.event_id) for e in items if waiting[e.event_id] == 0]
    heapq.heapify(ready)
    ordered: list[Entry] = []
    while ready:
        _, event_id = heapq.heappop(ready)
        ordered.append(by_id[event_id])
        for follower in after[event_id]:
            waiting[follower] -= 1
            if waiting[follower] == 0:
                heapq.heappush(ready, (rank(by_id[follower]), follower))
    if len(ordered) < len(items):
        # A cycle can only come from forged events; keep them, in time order, at the end.
        placed = {e.event_id for e in ordered}
        ordered.extend(sorted((e for e in items if e.event_id not in placed), key=rank))
    return ordered
