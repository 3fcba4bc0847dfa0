"""A candidate: an applicant who passed screening, in the pool from which the office
recommends candidates to host companies.

The company makes the final decision. Once it has chosen a candidate, the match is
final: the applicant cannot withdraw, and no other company can take them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from eventsourcing.domain import Aggregate, event

from kernel.actor import Actor
from kernel.rules import require
from services.matching.domain.match import Match


class Candidate(Aggregate):
    """Its id is the applicant's: one candidacy per applicant, however often the
    interview result that creates it is delivered."""

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
    ) -> None:
        self.applicant_id = applicant_id
        self.cohort_id = cohort_id
        self.passed_screening_at = passed_screening_at
        #: The applicant's business flow; the office's decisions on them continue it.
        self.correlation_id = correlation_id
        self.match_id: uuid.UUID | None = None
        self.company_id: uuid.UUID | None = None
        self.course: str | None = None

    @property
    def status(self) -> str:
        """in_pool | matched"""
        return "in_pool" if self.match_id is None else "matched"

    def is_matched_with(self, company_id: uuid.UUID, course: str) -> bool:
        return self.match_id is not None and (self.company_id, self.course) == (company_id, course)

    def confirm_match(
        self,
        company_id: uuid.UUID,
        course: str,
        at: datetime,
        correlation_id: uuid.UUID,
        actor: Actor,
    ) -> Match:
        """The company's final decision: the candidate leaves the pool for this match.
        Returns the new match, to be saved together with the candidate."""
        require(
            self.match_id is None,
            "applicant_id",
            "this candidate is already matched; a matched applicant cannot withdraw "
            "and the company's decision is final",
            conflict=True,
        )
        match = Match(
            applicant_id=self.id,
            company_id=company_id,
            cohort_id=self.cohort_id,
            course=course,
            confirmed_at=at,
            correlation_id=correlation_id,
            causation_id=None,
            actor=actor,
        )
        self._matched(
            match_id=match.id,
            company_id=company_id,
            course=course,
            correlation_id=correlation_id,
            causation_id=None,
            actor=actor,
        )
        return match

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
