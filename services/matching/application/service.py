"""Matching's application service: the policy that fills the candidate pool from
screening's selection (and holds or removes candidates as screening decides), and the
office's commands that record companies' decisions; the parties' signatures of the
agreements that follow; an applicant's withdrawal before they are matched.

Commands are idempotent by natural key: the same decision for the same candidate, or
the same withdrawal, sent twice records nothing new. A party's second signature of the
same agreement is refused (409): a signature is an act, not a state.

Of applicants, matching holds no personal value (ids, cohorts, courses, dates); the
only personal data it holds are host companies' contacts, sealed with the company's
key (see `companies.py`, where the host companies' commands are). It respects the
rights a person exercised: no match while their use is suspended or after their
erasure, and no place in a pool offered to host companies once they stopped the
provision of their data to third parties.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import singledispatchmethod
from typing import Any

from eventsourcing.application import ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from events import registration, screening
from events.envelope import Envelope
from kernel.actor import Actor
from kernel.rules import NotFound, RuleViolation
from runtime.application import ServiceApplication
from services.matching.application.companies import HostCompanies
from services.matching.application.rounds import DEFAULT_DECIDE_WITHIN, MatchingRounds
from services.matching.domain.agreement import AgreementStructure
from services.matching.domain.candidate import Candidate
from services.matching.domain.courses import CohortCourses, cohort_courses_id_for
from services.matching.domain.match import Match, match_id_for
from services.matching.domain.restrictions import SubjectRestrictions, restrictions_id_for

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

#: How many pool entries of the log are read at a time to list a cohort's pool.
POOL_PAGE = 500


@dataclass(frozen=True)
class OfferedCandidate:
    """A candidate as a host company may see them: no personal data."""

    applicant_id: uuid.UUID
    cohort_id: str
    passed_screening_at: datetime


class MatchingApplication(MatchingRounds, HostCompanies, ServiceApplication):
    name = "matching"

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        clock: Clock = lambda: datetime.now(UTC),
        decide_within: timedelta = DEFAULT_DECIDE_WITHIN,
    ) -> None:
        super().__init__(env)
        self.clock = clock
        self.decide_within = decide_within

    # -- policies ----------------------------------------------------------------------
    @singledispatchmethod
    def policy(self, envelope: Envelope, processing_event: ProcessingEvent[uuid.UUID]) -> None:
        """Screening's events that matching does not react to are not consumed."""

    @policy.register
    def when_candidate_selected_then_enter_pool(
        self, e: screening.CandidateSelected, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        """The office's selection, not the interview results, puts a candidate in the
        pool, with what matching needs to place them."""
        p = e.payload
        if self.find(p.applicant_id, Candidate) is not None:
            return
        candidate = Candidate(
            applicant_id=p.applicant_id,
            cohort_id=p.cohort_id,
            passed_screening_at=e.occurred_at,
            course_preferences=list(p.course_preferences),
            period_preferences=list(p.period_preferences),
            internship_interests=list(p.internship_interests),
            languages=p.languages.model_dump(mode="json"),
            correlation_id=e.correlation_id,
            causation_id=e.event_id,
            actor=self.system_actor,
        )
        processing_event.collect_events(candidate)

    @policy.register
    def when_case_referred_to_office_then_hold_the_candidate(
        self, e: screening.CaseReferredToOffice, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        candidate = self.find(e.payload.applicant_id, Candidate)
        reasons = [r.model_dump(mode="json") for r in e.payload.reasons]
        if candidate is not None and candidate.put_on_hold(
            reasons, e.payload.cause_event_id, e.correlation_id, e.event_id, self.system_actor
        ):
            processing_event.collect_events(candidate)
            self._withdraw_proposal(candidate, "candidate_on_hold", e, processing_event)

    @policy.register
    def when_found_eligible_again_then_release_the_hold(
        self, e: screening.EligibilityAssessed, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        if e.payload.result != "eligible":
            return
        candidate = self.find(e.payload.applicant_id, Candidate)
        if candidate is not None and candidate.release_hold(
            e.correlation_id, e.event_id, self.system_actor
        ):
            processing_event.collect_events(candidate)

    @policy.register
    def when_applicant_rejected_then_remove_from_pool(
        self, e: screening.ApplicantRejected, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        candidate = self.find(e.payload.applicant_id, Candidate)
        reasons = [r.model_dump(mode="json") for r in e.payload.reasons]
        if candidate is not None and candidate.remove_from_pool(
            e.payload.stage, reasons, e.correlation_id, e.event_id, self.system_actor
        ):
            processing_event.collect_events(candidate)
            self._withdraw_proposal(candidate, "candidate_rejected", e, processing_event)

    @policy.register
    def when_processing_restricted_then_respect_it(
        self, e: registration.ProcessingRestricted, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        p = e.payload
        restrictions = self._restrictions_or_new(p.subject_id, e)
        if restrictions.restrict(
            p.use_suspended,
            p.third_party_provision_stopped,
            e.correlation_id,
            e.event_id,
            self.system_actor,
        ):
            processing_event.collect_events(restrictions)
            if p.use_suspended or p.third_party_provision_stopped:
                self._withdraw_proposal(p.subject_id, "candidate_restricted", e, processing_event)

    @policy.register
    def when_subject_erased_then_never_match_or_offer_them(
        self, e: registration.SubjectErased, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        restrictions = self._restrictions_or_new(e.payload.subject_id, e)
        if restrictions.erase(e.correlation_id, e.event_id, self.system_actor):
            processing_event.collect_events(restrictions)
            self._withdraw_proposal(
                e.payload.subject_id, "candidate_restricted", e, processing_event
            )

    def _withdraw_proposal(
        self,
        candidate: Candidate | uuid.UUID,
        reason_code: str,
        e: Envelope,
        processing_event: ProcessingEvent[uuid.UUID],
    ) -> None:
        """A proposal still awaiting a company's decision no longer stands: withdrawn,
        in the same transaction as its cause (the office and the company are told by
        `ProposalWithdrawn`)."""
        applicant_id = candidate.id if isinstance(candidate, Candidate) else candidate
        match = self.withdraw_standing_proposal(
            applicant_id, reason_code, e.correlation_id, e.event_id, self.system_actor
        )
        if match is not None:
            processing_event.collect_events(match)

    @policy.register
    def when_cohort_opened_then_learn_its_courses(
        self, e: registration.CohortOpened, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        """The cohort's courses, learnt once, when it opens (they do not change after):
        what a host company may offer, and by each course's mode the agreements a
        match on it signs."""
        p = e.payload
        if self.find(cohort_courses_id_for(p.cohort_id), CohortCourses) is not None:
            return
        courses = CohortCourses(
            cohort_id=p.cohort_id,
            courses={c.code: c.mode for c in p.courses},
            structures={c.code: c.agreement_structure for c in p.courses if c.agreement_structure},
            correlation_id=e.correlation_id,
            causation_id=e.event_id,
            actor=self.system_actor,
        )
        processing_event.collect_events(courses)

    def _restrictions_or_new(self, subject_id: uuid.UUID, e: Envelope) -> SubjectRestrictions:
        found = self.restrictions_of(subject_id)
        if found is not None:
            return found
        return SubjectRestrictions(
            subject_id=subject_id,
            correlation_id=e.correlation_id,
            causation_id=e.event_id,
            actor=self.system_actor,
        )

    def likely_read(self, envelope: Envelope) -> Iterator[uuid.UUID]:
        yield from super().likely_read(envelope)
        subject_id = getattr(envelope.payload, "subject_id", None)
        if isinstance(subject_id, uuid.UUID):
            yield restrictions_id_for(subject_id)
            yield match_id_for(subject_id)
        applicant_id = getattr(envelope.payload, "applicant_id", None)
        if isinstance(applicant_id, uuid.UUID):
            yield match_id_for(applicant_id)

    def restrictions_of(self, subject_id: uuid.UUID) -> SubjectRestrictions | None:
        return self.find(restrictions_id_for(subject_id), SubjectRestrictions)

    # -- what host companies are offered -----------------------------------------------
    def pool_offered_to_host_companies(self, cohort_id: str) -> list[OfferedCandidate]:
        """The cohort's candidates still in the pool, in the order they entered it,
        without anyone who stopped the provision of their data to third parties (or
        suspended its use, or was erased). Read from the pool entries in the log (every
        cohort's: a few hundred people a year), with the candidates and their
        restrictions of a page in one query, so it is as current as the log and needs
        no table of its own; a read model would replace it if pools grew large."""
        topic = get_topic(Candidate.EnteredPool)  # type: ignore[attr-defined]
        offered: list[OfferedCandidate] = []
        position = 0
        while True:
            page = self.recorder.select_notifications(
                start=position, limit=POOL_PAGE, topics=[topic], inclusive_of_start=False
            )
            entered = [self.mapper.to_domain_event(n) for n in page]
            ids = [e.originator_id for e in entered if e.cohort_id == cohort_id]  # type: ignore[attr-defined]
            found = self._read_many([*ids, *map(restrictions_id_for, ids)])
            for applicant_id in ids:
                candidate = found.get(applicant_id)
                if not isinstance(candidate, Candidate) or candidate.status != "in_pool":
                    continue
                restrictions = found.get(restrictions_id_for(applicant_id))
                if restrictions is not None and not restrictions.may_be_provided_to_third_parties:
                    continue
                offered.append(
                    OfferedCandidate(
                        candidate.id, candidate.cohort_id, candidate.passed_screening_at
                    )
                )
            if len(page) < POOL_PAGE:
                return offered
            position = page[-1].id

    def _read_many(self, aggregate_ids: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
        """The aggregates that exist among these, in one query on PostgreSQL."""
        if self.repository.reads_many_at_once:
            return self.repository.read_many(aggregate_ids)
        found = {i: self.find(i, Aggregate) for i in aggregate_ids}
        return {i: a for i, a in found.items() if a is not None}

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
        course: str | None,
        actor: Actor,
        correlation_id: uuid.UUID | None = None,
    ) -> tuple[Match, bool]:
        """Records a company's final decision to take the candidate a round proposed to
        it. Returns the match and whether it is new (False: this very decision was
        already recorded). Refused (409) for a pair no round proposed, or whose
        proposal no longer stands."""
        decided = self.decide(applicant_id, company_id, "confirm", actor, course=course)
        return decided.match, decided.new

    def agreement_structure_of(self, match: Match) -> AgreementStructure:
        """What the match signs: fixed by its first signature, else what its course
        requires in its cohort (409 naming `course` while matching does not know it)."""
        if match.structure is not None:
            return match.structure
        courses = self.find(cohort_courses_id_for(match.cohort_id), CohortCourses)
        structure = courses.agreement_structure(match.course) if courses is not None else None
        if structure is None:
            raise RuleViolation(
                "course",
                f"matching does not know course {match.course} of cohort {match.cohort_id} "
                "(it learns a cohort's courses when registration opens it), so it cannot "
                "tell which agreements this match signs",
                conflict=True,
            )
        return structure

    def sign_agreement(
        self,
        match_id: uuid.UUID,
        agreement_id: uuid.UUID,
        party: str,
        actor: Actor,
        correlation_id: uuid.UUID | None = None,
    ) -> tuple[Match, bool]:
        """Records one party's signature of one agreement of a match, at the time it is
        made. Returns the match and whether that completed the agreement. The caller
        has checked that the actor is that party."""

        def attempt() -> tuple[Match, bool]:
            match = self.get_match(match_id)
            completed = match.sign(
                agreement_id,
                party,
                self.agreement_structure_of(match),
                self.clock(),
                correlation_id or match.correlation_id,
                actor,
            )
            self.save(match)
            return match, completed

        return self.retry_on_conflict(attempt)

    def withdraw(
        self, applicant_id: uuid.UUID, actor: Actor, correlation_id: uuid.UUID | None = None
    ) -> tuple[Candidate, bool]:
        """The applicant withdraws from the program (themself, or through the office).
        Returns the candidate and whether that is new. Refused once they are matched."""

        def attempt() -> tuple[Candidate, bool]:
            candidate = self.get_candidate(applicant_id)
            cid = correlation_id or candidate.correlation_id
            new = candidate.withdraw(self.clock(), cid, actor)
            if new:
                match = self.find(match_id_for(applicant_id), Match)
                withdrawn = match is not None and match.withdraw_proposal(
                    "candidate_withdrew", cid, None, actor
                )
                self.save(candidate, *([match] if withdrawn and match is not None else []))
            return candidate, new

        return self.retry_on_conflict(attempt)
