"""Matching's application service: the policy that fills the candidate pool from
screening's results, and the office's commands that record companies' decisions and
the agreements that follow.

Commands are idempotent by natural key: the same decision for the same candidate, or
the same signature of the same agreement, sent twice records nothing new.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import singledispatchmethod

from eventsourcing.application import ProcessingEvent

from events import screening
from events.envelope import Envelope
from kernel.actor import Actor
from kernel.rules import NotFound, RuleViolation
from runtime.application import ServiceApplication
from services.matching.domain.candidate import Candidate
from services.matching.domain.match import Match

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


class MatchingApplication(ServiceApplication):
    name = "matching"

    def __init__(
        self, env: dict[str, str] | None = None, *, clock: Clock = lambda: datetime.now(UTC)
    ) -> None:
        super().__init__(env)
        self.clock = clock

    # -- policies ----------------------------------------------------------------------
    @singledispatchmethod
    def policy(self, envelope: Envelope, processing_event: ProcessingEvent[uuid.UUID]) -> None:
        """Screening's events that matching does not react to are not consumed."""

    @policy.register
    def when_second_interview_passed_then_enter_pool(
        self, e: screening.InterviewPassed, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        p = e.payload
        if p.stage != "second" or self.find(p.applicant_id, Candidate) is not None:
            return
        candidate = Candidate(
            applicant_id=p.applicant_id,
            cohort_id=p.cohort_id,
            passed_screening_at=p.interviewed_at,
            correlation_id=e.correlation_id,
            causation_id=e.event_id,
            actor=self.system_actor,
        )
        processing_event.collect_events(candidate)

    # -- commands and queries of office staff ------------------------------------------
    def get_candidate(self, applicant_id: uuid.UUID) -> Candidate:
        candidate = self.find(applicant_id, Candidate)
        if candidate is None:
            raise NotFound("applicant_id", "this applicant is not in the candidate pool")
        return candidate

    def get_match(self, match_id: uuid.UUID) -> Match:
        match = self.find(match_id, Match)
        if match is None:
            raise NotFound("match_id", "there is no such match")
        return match

    def confirm_match(
        self,
        applicant_id: uuid.UUID,
        company_id: uuid.UUID,
        course: str,
        actor: Actor,
        correlation_id: uuid.UUID | None = None,
    ) -> tuple[Match, bool]:
        """Records a company's final decision to take a candidate. Returns the match and
        whether it is new (False: this very decision was already recorded)."""

        def attempt() -> tuple[Match, bool]:
            candidate = self.find(applicant_id, Candidate)
            if candidate is None:
                raise RuleViolation(
                    "applicant_id",
                    "this applicant is not in the candidate pool (only those who passed "
                    "the second interview can be matched)",
                    conflict=True,
                )
            if candidate.is_matched_with(company_id, course):
                assert candidate.match_id is not None
                return self.get_match(candidate.match_id), False
            match = candidate.confirm_match(
                company_id, course, self.clock(), correlation_id or candidate.correlation_id, actor
            )
            self.save(candidate, match)
            return match, True

        return self.retry_on_conflict(attempt)

    def sign_agreement(
        self,
        match_id: uuid.UUID,
        parties: list[str],
        signed_at: datetime,
        actor: Actor,
        correlation_id: uuid.UUID | None = None,
    ) -> tuple[Match, bool]:
        """Records the signed agreement of a match. Returns the match and whether the
        signature is new (False: this very signature was already recorded)."""

        def attempt() -> tuple[Match, bool]:
            match = self.get_match(match_id)
            signed = match.sign_agreement(
                parties, signed_at, correlation_id or match.correlation_id, actor
            )
            if signed:
                self.save(match)
            return match, signed

        return self.retry_on_conflict(attempt)
