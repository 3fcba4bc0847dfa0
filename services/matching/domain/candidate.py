"""A candidate: an applicant the office selected at the end of screening, in the pool
from which the office recommends candidates to host companies.

The company makes the final decision. Once it has chosen a candidate, the match is
final: the applicant cannot withdraw, and no other company can take them. Before
that, the applicant may withdraw (themself, or through the office): out of the pool.

A candidate found ineligible after their selection (their details were amended, or the
cohort's rules revised) is held while the office decides: not matched, not offered. A
new assessment that finds them eligible releases them; the office's rejection takes
them out of the pool for good.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from eventsourcing.domain import Aggregate, event

from kernel.actor import Actor
from kernel.rules import require
from services.matching.domain.match import Match

CandidateStatus = Literal["in_pool", "on_hold", "removed", "withdrawn", "matched"]


class Candidate(Aggregate):
    """Its id is the applicant's: one candidacy per applicant, however often the
    selection that creates it is delivered."""

    @staticmethod
    def create_id(applicant_id: uuid.UUID, **_: Any) -> uuid.UUID:
        return applicant_id

    @event("EnteredPool")
    def __init__(
        self,
        applicant_id: uuid.UUID,
        cohort_id: str,
        passed_screening_at: datetime,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
        course_preferences: list[str] | None = None,
        period_preferences: list[str] | None = None,
        internship_interests: list[str] | None = None,
        languages: dict[str, Any] | None = None,
    ) -> None:
        # The defaults read candidates who entered the pool on their second interview,
        # before the office's selection carried what matching needs to place them.
        self.applicant_id = applicant_id
        self.cohort_id = cohort_id
        #: When screening ended for them: the office's selection.
        self.passed_screening_at = passed_screening_at
        self.course_preferences = list(course_preferences or [])
        self.period_preferences = list(period_preferences or [])
        self.internship_interests = list(internship_interests or [])
        self.languages = dict(languages or {})
        #: Why the office is reviewing them (reason codes and words, no personal data);
        #: None while they are not held.
        self.hold: dict[str, Any] | None = None
        #: The stage at which the office rejected them, once it did.
        self.removed_at_stage: str | None = None
        #: The applicant's business flow; the office's decisions on them continue it.
        self.correlation_id = correlation_id
        self.match_id: uuid.UUID | None = None
        self.company_id: uuid.UUID | None = None
        self.course: str | None = None
        #: When the applicant withdrew from the program, once they did.
        self.withdrawn_at: datetime | None = None
        #: Host companies, best first, for the next rounds; None until stated.
        self.preferences: list[uuid.UUID] | None = None
        self.preferences_basis: str | None = None
        self.scores: list[int] = []

    @property
    def status(self) -> CandidateStatus:
        if self.removed_at_stage is not None:
            return "removed"
        if self.withdrawn_at is not None:
            return "withdrawn"
        if self.match_id is not None:
            return "matched"
        return "in_pool" if self.hold is None else "on_hold"

    @property
    def why_not_matchable(self) -> str | None:
        """Why the office may not match this candidate now, or None."""
        if self.removed_at_stage is not None:
            return (
                f"this candidate was rejected at {self.removed_at_stage.replace('_', ' ')} "
                "and is no longer in the pool"
            )
        if self.withdrawn_at is not None:
            return "this candidate withdrew from the program and is no longer in the pool"
        if self.hold is not None:
            codes = ", ".join(r["code"] for r in self.hold["reasons"])
            return (
                "this candidate is on hold: the office is reviewing their eligibility "
                f"after their selection ({codes})"
            )
        return None

    # -- the office's review after selection -------------------------------------------
    def put_on_hold(
        self,
        reasons: list[dict[str, str]],
        cause_event_id: uuid.UUID,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID,
        actor: Actor,
    ) -> bool:
        """Screening referred the candidate to the office; returns whether that is new
        (a removed candidate, or one already held for this cause, records nothing)."""
        if self.removed_at_stage is not None:
            return False
        if self.hold is not None and self.hold["cause_event_id"] == cause_event_id:
            return False
        self._put_on_hold(
            reasons=reasons,
            cause_event_id=cause_event_id,
            correlation_id=correlation_id,
            causation_id=causation_id,
            actor=actor,
        )
        return True

    @event("PutOnHold")
    def _put_on_hold(
        self,
        reasons: list[dict[str, str]],
        cause_event_id: uuid.UUID,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.hold = {"reasons": reasons, "cause_event_id": cause_event_id}

    def release_hold(
        self, correlation_id: uuid.UUID, causation_id: uuid.UUID, actor: Actor
    ) -> bool:
        """A new assessment found the held candidate eligible: back in the pool."""
        if self.hold is None or self.removed_at_stage is not None:
            return False
        self._hold_released(correlation_id=correlation_id, causation_id=causation_id, actor=actor)
        return True

    @event("HoldReleased")
    def _hold_released(
        self, correlation_id: uuid.UUID, causation_id: uuid.UUID | None, actor: Actor
    ) -> None:
        self.hold = None

    def remove_from_pool(
        self,
        stage: str,
        reasons: list[dict[str, str]],
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID,
        actor: Actor,
    ) -> bool:
        """The office rejected the candidate: out of the pool for good."""
        if self.removed_at_stage is not None:
            return False
        self._removed_from_pool(
            stage=stage,
            reasons=reasons,
            correlation_id=correlation_id,
            causation_id=causation_id,
            actor=actor,
        )
        return True

    @event("RemovedFromPool")
    def _removed_from_pool(
        self,
        stage: str,
        reasons: list[dict[str, str]],
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.removed_at_stage = stage
        self.hold = None

    # -- the applicant's withdrawal -----------------------------------------------------
    def withdraw(self, at: datetime, correlation_id: uuid.UUID, actor: Actor) -> bool:
        """The applicant withdraws from the program: out of the pool, before any
        company's final decision. Returns whether that is new (a withdrawal sent twice
        records one)."""
        if self.withdrawn_at is not None:
            return False
        require(
            self.match_id is None,
            "applicant_id",
            "this candidate is matched with a host company: once matched, an applicant "
            "cannot withdraw (the program's rule)",
            conflict=True,
        )
        require(
            self.removed_at_stage is None,
            "applicant_id",
            "this candidate is no longer in the pool (rejected by the office): there is "
            "nothing to withdraw from",
            conflict=True,
        )
        self._withdrew(
            cohort_id=self.cohort_id,
            withdrawn_at=at,
            correlation_id=correlation_id,
            causation_id=None,
            actor=actor,
        )
        return True

    @event("Withdrew")
    def _withdrew(
        self,
        cohort_id: str,
        withdrawn_at: datetime,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.withdrawn_at = withdrawn_at
        self.hold = None

    def is_matched_with(self, company_id: uuid.UUID, course: str) -> bool:
        return self.match_id is not None and (self.company_id, self.course) == (company_id, course)

    def record_match(self, match: Match, actor: Actor) -> None:
        """The company confirmed its proposal: the candidate leaves the pool for this
        match (saved together with it)."""
        why_not = self.why_not_matchable
        require(why_not is None, "applicant_id", why_not or "", conflict=True)
        require(
            self.match_id is None,
            "applicant_id",
            "this candidate is already matched; a matched applicant cannot withdraw "
            "and the company's decision is final",
            conflict=True,
        )
        self._matched(
            match_id=match.id,
            company_id=match.company_id,
            course=match.course,
            correlation_id=match.correlation_id,
            causation_id=None,
            actor=actor,
        )

    # -- preferences ----------------------------------------------------------------------
    def state_preferences(
        self,
        companies: list[uuid.UUID],
        basis: str,
        ranking: dict[str, Any] | None,
        scores: list[int],
        correlation_id: uuid.UUID,
        actor: Actor,
    ) -> bool:
        """The candidate's ranked companies, for the next rounds (replacing any earlier
        list). Returns whether anything changed."""
        require(len(set(companies)) == len(companies), "companies", "list each company once")
        if (companies, basis, scores) == (self.preferences, self.preferences_basis, self.scores):
            return False
        self._preferences_stated(
            cohort_id=self.cohort_id,
            companies=companies,
            basis=basis,
            ranking=ranking,
            scores=scores,
            correlation_id=correlation_id,
            causation_id=None,
            actor=actor,
        )
        return True

    @event("PreferencesStated")
    def _preferences_stated(
        self,
        cohort_id: str,
        companies: list[uuid.UUID],
        basis: str,
        ranking: dict[str, Any] | None,
        scores: list[int],
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.preferences = list(companies)
        self.preferences_basis = basis
        self.scores = list(scores)

    @event("Matched")
    def _matched(
        self,
        match_id: uuid.UUID,
        company_id: uuid.UUID,
        course: str,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.match_id = match_id
        self.company_id = company_id
        self.course = course
