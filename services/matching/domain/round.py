"""A matching round: the office runs it for a cohort, over the candidates still in the
pool and the places still open, and it proposes each candidate it matches to one host
company, which then decides.

`plan_round` is pure: from the candidates and companies in the round (each with its
ranked list) it keeps the pairs both sides listed and the hard constraints allow
(`preferences.judge_pair`), and says why every other listed pair was left out. The
instance it builds is exactly what `stable_matching.solve` (and `python -m
services.matching solve`) reads, so the round's event can carry it, with its digest,
and an auditor can solve it again.

`MatchingRound` records a completed round: one per cohort and number, created in the
same transaction as the proposals it made.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.domain import Aggregate, event

from kernel.actor import Actor
from services.matching.domain import stable_matching
from services.matching.domain.preferences import (
    HARD_CONSTRAINTS,
    CandidateFacts,
    CompanyFacts,
    judge_pair,
)

ROUND_NAMESPACE = uuid.UUID("2b8e6f1c-7d3a-4c59-b0e4-8a1f5d2c9e73")

#: Why a listed pair was left out, beyond the hard constraints.
NOT_LISTED_BY_COMPANY = "not_listed_by_company"
NOT_LISTED_BY_CANDIDATE = "not_listed_by_candidate"
NO_PLACE_OPEN = "company_not_in_round"


def round_id_for(cohort_id: str, round_number: int) -> uuid.UUID:
    return uuid.uuid5(ROUND_NAMESPACE, f"round:{cohort_id}:{round_number}")


@dataclass(frozen=True)
class RoundCandidate:
    facts: CandidateFacts
    #: Companies, best first, as the candidate's list says.
    preferences: Sequence[uuid.UUID]
    #: Companies that declined this candidate in an earlier round.
    declined_by: frozenset[uuid.UUID] = frozenset()


@dataclass(frozen=True)
class RoundCompany:
    facts: CompanyFacts
    #: Its places not taken by a confirmed match or a proposal awaiting its decision.
    open_places: int
    #: Candidates, best first, as the company's list says.
    preferences: Sequence[uuid.UUID]


@dataclass
class RoundPlan:
    """What a round solves, and what it left out and why."""

    instance: stable_matching.Instance
    excluded_pairs: list[dict[str, Any]] = field(default_factory=list)
    #: The course of each acceptable pair (candidate id, company id).
    courses: dict[tuple[uuid.UUID, uuid.UUID], str] = field(default_factory=dict)


def plan_round(
    candidates: Sequence[RoundCandidate], companies: Sequence[RoundCompany]
) -> RoundPlan:
    """The instance of a round: every candidate and company in it, each with only the
    pairs acceptable to both sides and to the hard constraints, in their own order."""
    in_round = {c.facts.company_id: c for c in companies if c.open_places > 0}
    listed_by_company = {
        company.facts.company_id: set(company.preferences) for company in in_round.values()
    }
    plan = RoundPlan(instance={"candidates": [], "hosts": []})
    excluded: dict[tuple[uuid.UUID, uuid.UUID], list[str]] = {}
    candidate_ids = {c.facts.applicant_id for c in candidates}
    for candidate in candidates:
        applicant_id = candidate.facts.applicant_id
        acceptable: list[str] = []
        for company_id in candidate.preferences:
            company = in_round.get(company_id)
            if company is None:
                excluded[(applicant_id, company_id)] = [NO_PLACE_OPEN]
                continue
            verdict = judge_pair(
                candidate.facts, company.facts, company_id in candidate.declined_by
            )
            reasons = list(verdict.reasons)
            if applicant_id not in listed_by_company[company_id]:
                reasons.append(NOT_LISTED_BY_COMPANY)
            if reasons:
                excluded[(applicant_id, company_id)] = reasons
                continue
            assert verdict.course is not None
            plan.courses[(applicant_id, company_id)] = verdict.course
            acceptable.append(str(company_id))
        plan.instance["candidates"].append({"id": str(applicant_id), "preferences": acceptable})
    for company in in_round.values():
        company_id = company.facts.company_id
        wanted: list[str] = []
        for applicant_id in company.preferences:
            if (applicant_id, company_id) in plan.courses:
                wanted.append(str(applicant_id))
            elif applicant_id in candidate_ids and (applicant_id, company_id) not in excluded:
                excluded[(applicant_id, company_id)] = [NOT_LISTED_BY_CANDIDATE]
        plan.instance["hosts"].append(
            {"id": str(company_id), "capacity": company.open_places, "preferences": wanted}
        )
    plan.excluded_pairs = [
        {"applicant_id": str(a), "company_id": str(c), "reasons": reasons}
        for (a, c), reasons in excluded.items()
    ]
    return plan


@dataclass(frozen=True)
class RoundOutcome:
    """The solved round: the pairs to propose (with their course and ranks)."""

    matches: list[dict[str, Any]]
    unmatched_candidates: list[str]
    blocking_pairs: int
    capacity_violations: int
    inputs_digest: str


def solve_round(plan: RoundPlan) -> RoundOutcome:
    """Solve the plan's instance and check the result (both counts are 0 unless the
    solver is wrong; the round records them either way)."""
    solved = stable_matching.solve(plan.instance)
    verdict = stable_matching.check(plan.instance, solved.matches)
    candidate_lists = {c["id"]: c["preferences"] for c in plan.instance["candidates"]}
    host_lists = {h["id"]: h["preferences"] for h in plan.instance["hosts"]}
    matches = [
        {
            "applicant_id": applicant,
            "company_id": company,
            "course": plan.courses[(uuid.UUID(applicant), uuid.UUID(company))],
            "candidate_rank": candidate_lists[applicant].index(company) + 1,
            "company_rank": host_lists[company].index(applicant) + 1,
        }
        for applicant, company in solved.matches
    ]
    return RoundOutcome(
        matches=matches,
        unmatched_candidates=list(solved.unmatched_candidates),
        blocking_pairs=verdict.blocking_pairs,
        capacity_violations=verdict.capacity_violations,
        inputs_digest=stable_matching.input_digest(plan.instance),
    )


class MatchingRound(Aggregate):
    """A completed round of a cohort; its id follows from the cohort and its number, so
    two rounds run at once cannot both take the same number."""

    @staticmethod
    def create_id(cohort_id: str, round_number: int, **_: Any) -> uuid.UUID:
        return round_id_for(cohort_id, round_number)

    @event("Completed")
    def __init__(
        self,
        cohort_id: str,
        round_number: int,
        algorithm: dict[str, Any],
        constraints: dict[str, Any],
        inputs_digest: str,
        inputs: dict[str, Any],
        excluded_pairs: list[dict[str, Any]],
        matches: list[dict[str, Any]],
        unmatched_candidates: list[str],
        blocking_pairs: int,
        capacity_violations: int,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.cohort_id = cohort_id
        self.round_number = round_number
        self.algorithm = algorithm
        self.constraints = constraints
        self.inputs_digest = inputs_digest
        self.inputs = inputs
        self.excluded_pairs = excluded_pairs
        self.matches = matches
        self.unmatched_candidates = unmatched_candidates
        self.blocking_pairs = blocking_pairs
        self.capacity_violations = capacity_violations
        self.correlation_id = correlation_id


ALGORITHM = {"id": stable_matching.ALGORITHM, "version": stable_matching.VERSION}
CONSTRAINTS = dict(HARD_CONSTRAINTS)
