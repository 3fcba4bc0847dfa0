"""The audit service's reports: what `python -m services.audit history --json` prints
and `GET /applicants/{id}/history` (and `/companies/{id}/history`) answers.

The audit service publishes no events; these reports are its part of the contract, with
a published JSON Schema (`events/schemas/AuditHistory.report.v1.json`) that a consumer
of the JSON form validates against. A history holds no personal value: each sealed value
of the log reads `[personal data]`.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import Field

from events.envelope import Actor, Contract, UtcDatetime

ExplanationKind = Literal[
    "eligibility",
    "rejection",
    "referral",
    "selection",
    "interview",
    "document",
    "proposal",
    "match",
    "round",
    "privacy",
    "company",
    "preferences",
]


class RuleRef(Contract):
    """A rule set, rule or algorithm, and the version that decided."""

    id: str
    version: int


class CheckSeen(Contract):
    """One rule of an eligibility assessment: the value it saw and its result."""

    rule: str
    version: int
    saw: Any = Field(description="The value the rule checked (never a personal value).")
    passed: bool
    reason: str | None = None


class ReasonGiven(Contract):
    code: str
    text: str | None = None


class RoundRerun(Contract):
    """A matching round solved again by the audit from the inputs it recorded, with an
    implementation of its algorithm written apart from matching's."""

    round_id: uuid.UUID
    round_number: int | None
    algorithm: RuleRef
    algorithm_known: bool = Field(description="Whether the audit can re-run this algorithm.")
    inputs_digest: str = Field(description="The digest the round recorded.")
    recomputed_digest: str = Field(description="The digest of the recorded inputs, again.")
    digest_matches: bool
    same_result: bool = Field(description="The re-run gives exactly the recorded matching.")
    blocking_pairs: int = Field(description="Pairs that would rather have each other: 0.")
    differences: list[dict[str, str | None]] = Field(
        description="Each candidate placed differently by the re-run (empty when the same)."
    )
    confirmed: bool = Field(description="Same inputs, same result, stable.")


class Explanation(Contract):
    """Why a decision was what it was: the rule or algorithm and its version, the values
    it saw, the stage and reasons, and for a match its round re-run."""

    kind: ExplanationKind
    summary: str
    rule: RuleRef | None = None
    checks: list[CheckSeen] = Field(default_factory=list)
    stage: str | None = None
    reasons: list[ReasonGiven] = Field(default_factory=list)
    round: RoundRerun | None = None


class HistoryEvent(Contract):
    """One event of a history."""

    event_id: uuid.UUID
    event_type: str
    schema_version: int
    producer: str = Field(description="The service that published it.")
    occurred_at: UtcDatetime
    where: str = Field(description="Where it is on the log: topic:partition:offset.")
    aggregate_id: uuid.UUID
    aggregate_version: int
    correlation_id: uuid.UUID | None
    causation_id: uuid.UUID | None
    actor: Actor = Field(description="Who did it.")
    what: str = Field(description="What happened, in a line.")
    decision: dict[str, Any] = Field(
        description="The payload's grounds of a decision (rule set, checks, stage, reasons, "
        "algorithm, digest...), as published."
    )
    explanation: Explanation | None = Field(description="For a decision: why.")
    payload: dict[str, Any] = Field(description="The whole payload, personal values sealed.")
    conflicting_copies: list[str] = Field(
        description="Positions of copies of this event id whose content differs: tampering."
    )


class AuditHistory(Contract):
    """Everything the log holds about one applicant or host company, in causal order."""

    subject_kind: Literal["applicant", "company"]
    subject_id: uuid.UUID
    as_of: UtcDatetime | None = Field(description="Only events up to then (null: all).")
    generated_at: UtcDatetime
    erased: bool = Field(description="The applicant was erased: their personal data is gone.")
    state: dict[str, Any] = Field(description="Where the subject stood (at `as_of`).")
    events: list[HistoryEvent]


#: The reports of the contract, by the schema file each is published as.
REPORTS: dict[str, type[Contract]] = {"AuditHistory.report.v1.json": AuditHistory}
