"""Matching rounds, as the office runs them: both sides' ranked lists, the round over
the candidates and places still open, and each company's decision on its proposals.

A mixin of `MatchingApplication` (like `HostCompanies`), kept apart so that the
service's policies and the rounds read separately.

A round reads the whole cohort (its candidates, their matches and restrictions, its
companies) in a few queries, decides in memory (`domain/round.py`, pure) and saves the
round and every proposal in one transaction: the log never holds a round without its
proposals, nor proposals without their round. Two rounds run at once cannot both take
the same number (the round's id follows from it); the loser reads again and runs the
next round over what is left.

What a round does not close (noted for the next person): a candidate put on hold by a
policy between the round's read and its save can still be proposed; the policy that
reads the match afterwards withdraws that proposal only if it runs after the save.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from eventsourcing.utils import get_topic

from kernel.actor import Actor
from kernel.rules import NotFound, RuleViolation, require
from services.matching.domain.candidate import Candidate
from services.matching.domain.company import Company, company_aggregate_id
from services.matching.domain.match import Match, match_id_for
from services.matching.domain.preferences import (
    INTEREST_RANKING,
    CandidateFacts,
    CompanyFacts,
    rank_by_interests,
)
from services.matching.domain.restrictions import restrictions_id_for
from services.matching.domain.round import (
    ALGORITHM,
    CONSTRAINTS,
    MatchingRound,
    RoundCandidate,
    RoundCompany,
    plan_round,
    round_id_for,
    solve_round,
)

if TYPE_CHECKING:
    from services.matching.application.service import MatchingApplication

#: How long a company is given to decide on a proposal, unless configured.
DEFAULT_DECIDE_WITHIN = timedelta(days=14)
#: Reasons a company may give for declining (its own words go, sealed, in a note).
#: The most a round's event may record of its inputs and pairs, in bytes: it travels
#: whole in one Kafka record (1 MB by default), envelope included. A programme of a few
#: hundred candidates records some tens of kilobytes; a round past this is refused
#: rather than leaving its event stuck at the relay.
ROUND_EVENT_LIMIT = 800_000
#: Pool entries read from the log at a time.
PAGE = 500
DECLINE_REASONS = ("interview_not_passed", "plan_not_suitable", "no_longer_hosting", "other")


@dataclass(frozen=True)
class Decided:
    match: Match
    new: bool


def candidate_facts(candidate: Candidate) -> CandidateFacts:
    return CandidateFacts(
        applicant_id=candidate.id,
        course_preferences=tuple(candidate.course_preferences),
        languages=dict(candidate.languages),
        period_preferences=tuple(candidate.period_preferences),
        interests=tuple(candidate.internship_interests),
    )


class MatchingRounds:
    """Preferences, rounds and decisions (mixed into `MatchingApplication`)."""

    decide_within: timedelta = DEFAULT_DECIDE_WITHIN

    # -- the cohort, read at once -----------------------------------------------------------
    def cohort_candidates(self: MatchingApplication, cohort_id: str) -> list[Candidate]:
        """Every candidate who entered the cohort's pool, in the order they did (read
        from the pool entries in the log, a page at a time)."""
        topic = get_topic(Candidate.EnteredPool)  # type: ignore[attr-defined]
        ids: list[uuid.UUID] = []
        position = 0
        while True:
            page = self.recorder.select_notifications(
                start=position, limit=PAGE, topics=[topic], inclusive_of_start=False
            )
            for notification in page:
                entered = self.mapper.to_domain_event(notification)
                if entered.cohort_id == cohort_id:  # type: ignore[attr-defined]
                    ids.append(entered.originator_id)
            if len(page) < PAGE:
                break
            position = page[-1].id
        found = self._read_many(ids)
        return [found[i] for i in ids if isinstance(found.get(i), Candidate)]

    # -- preferences --------------------------------------------------------------------
    def suggested_preferences(
        self: MatchingApplication, applicant_id: uuid.UUID
    ) -> list[tuple[uuid.UUID, int]]:
        """Companies ranked from the candidate's interests (`interest_overlap`), for the
        office to confirm: the cohort's registered companies whose plan shares words
        with them, best first."""
        candidate = self.get_candidate(applicant_id)
        companies = [
            CompanyFacts.of(c.company_id, c.details)
            for c in self.companies_of_cohort(candidate.cohort_id)
            if c.status == "registered"
        ]
        return rank_by_interests(candidate.internship_interests, companies)

    def state_candidate_preferences(
        self: MatchingApplication,
        applicant_id: uuid.UUID,
        companies: list[uuid.UUID],
        basis: str,
        actor: Actor,
        correlation_id: uuid.UUID | None = None,
    ) -> tuple[Candidate, bool]:
        """A candidate's ranked companies: their own choice (`own_choice`, by them or the
        office), or a list from their interests the office confirms (`interests`: only
        the office; each company's score is recorded with the ranking's version)."""
        require(basis in ("own_choice", "interests"), "basis", "own_choice or interests")
        if basis == "interests" and actor.get("kind") != "staff":
            raise RuleViolation(
                "basis", "a list from interests is confirmed by the office, not the candidate"
            )

        def attempt() -> tuple[Candidate, bool]:
            candidate = self.get_candidate(applicant_id)
            require(
                candidate.status == "in_pool" or candidate.status == "on_hold",
                "applicant_id",
                f"this candidate is {candidate.status.replace('_', ' ')}: no longer in the "
                "pool, so no longer ranking companies",
                conflict=True,
            )
            # The whole list read in one query, not one per company.
            found = self._read_many([company_aggregate_id(c) for c in companies])
            for i, company_id in enumerate(companies):
                company = found.get(company_aggregate_id(company_id))
                require(isinstance(company, Company), f"companies.{i}", "there is no such company")
                assert isinstance(company, Company)
                require(
                    company.cohort_id == candidate.cohort_id,
                    f"companies.{i}",
                    f"this company hosts in {company.cohort_id}, not in the candidate's "
                    f"cohort {candidate.cohort_id}",
                )
                require(
                    company.status == "registered",
                    f"companies.{i}",
                    "this company is not a registered host (its registration was refused)",
                )
            scores: list[int] = []
            ranking = None
            if basis == "interests":
                suggested = dict(self.suggested_preferences(applicant_id))
                scores = [suggested.get(c, 0) for c in companies]
                ranking = dict(INTEREST_RANKING)
            new = candidate.state_preferences(
                list(companies),
                basis,
                ranking,
                scores,
                correlation_id or candidate.correlation_id,
                actor,
            )
            if new:
                self.save(candidate)
            return candidate, new

        return self.retry_on_conflict(attempt)

    def state_company_preferences(
        self: MatchingApplication,
        company_id: uuid.UUID,
        candidates: list[uuid.UUID],
        actor: Actor,
        correlation_id: uuid.UUID | None = None,
    ) -> tuple[Company, bool]:
        """A company's ranked acceptable candidates (its own user, or the office)."""

        def attempt() -> tuple[Company, bool]:
            company = self.get_company(company_id)
            found = self._read_many(list(candidates))
            for i, applicant_id in enumerate(candidates):
                candidate = found.get(applicant_id)
                require(
                    isinstance(candidate, Candidate),
                    f"candidates.{i}",
                    "this applicant is not in the candidate pool",
                )
                assert isinstance(candidate, Candidate)
                require(
                    candidate.cohort_id == company.cohort_id,
                    f"candidates.{i}",
                    f"this candidate is in {candidate.cohort_id}, not in the company's "
                    f"cohort {company.cohort_id}",
                )
            new = company.state_preferences(
                list(candidates), correlation_id or company.correlation_id, actor
            )
            if new:
                self.save(company)
            return company, new

        return self.retry_on_conflict(attempt)

    # -- the round ----------------------------------------------------------------------
    def get_round(self: MatchingApplication, cohort_id: str, round_number: int) -> MatchingRound:
        found = self.find(round_id_for(cohort_id, round_number), MatchingRound)
        if found is None:
            raise NotFound("round_number", f"{cohort_id} has no round {round_number}")
        return found

    def rounds_of(self: MatchingApplication, cohort_id: str) -> list[MatchingRound]:
        rounds: list[MatchingRound] = []
        while True:
            found = self.find(round_id_for(cohort_id, len(rounds) + 1), MatchingRound)
            if found is None:
                return rounds
            rounds.append(found)

    def run_round(
        self: MatchingApplication,
        cohort_id: str,
        actor: Actor,
        correlation_id: uuid.UUID | None = None,
    ) -> MatchingRound:
        """Run the cohort's next round over the candidates still in the pool (with a
        list, no proposal standing, not held, restricted or matched) and the companies
        with places still open (and a list); propose each pair it matches."""

        def attempt() -> MatchingRound:
            number = len(self.rounds_of(cohort_id)) + 1
            candidates = self.cohort_candidates(cohort_id)
            ids = [c.id for c in candidates]
            related = self._read_many([*map(match_id_for, ids), *map(restrictions_id_for, ids)])
            matches = {
                c.id: related.get(match_id_for(c.id))
                for c in candidates
                if isinstance(related.get(match_id_for(c.id)), Match)
            }
            taken: dict[uuid.UUID, int] = {}
            for match in matches.values():
                assert match is not None
                if match.is_confirmed:
                    taken[match.company_id] = taken.get(match.company_id, 0) + 1
                elif match.pending is not None:
                    company_id = match.pending["company_id"]
                    taken[company_id] = taken.get(company_id, 0) + 1
            in_round: list[RoundCandidate] = []
            for candidate in candidates:
                match = matches.get(candidate.id)
                restrictions = related.get(restrictions_id_for(candidate.id))
                if (
                    candidate.status != "in_pool"
                    or candidate.preferences is None
                    or (match is not None and (match.is_confirmed or match.pending is not None))
                    or (restrictions is not None and restrictions.why_not_matchable is not None)
                    or (
                        restrictions is not None
                        and not restrictions.may_be_provided_to_third_parties
                    )
                ):
                    continue
                in_round.append(
                    RoundCandidate(
                        candidate_facts(candidate),
                        tuple(candidate.preferences),
                        frozenset(match.declined_by) if match is not None else frozenset(),
                    )
                )
            companies = [
                RoundCompany(
                    CompanyFacts.of(c.company_id, c.details),
                    max(c.capacity - taken.get(c.company_id, 0), 0),
                    tuple(c.preferences or ()),
                )
                for c in self.companies_of_cohort(cohort_id)
                if c.status == "registered" and c.preferences is not None
            ]
            require(
                bool(in_round),
                "cohort_id",
                f"nothing to match in {cohort_id}: no candidate in the pool with a ranked "
                "list of companies and no proposal standing",
                conflict=True,
            )
            plan = plan_round(in_round, companies)
            outcome = solve_round(plan)
            recorded = len(
                json.dumps([plan.instance, plan.excluded_pairs, outcome.matches]).encode()
            )
            require(
                recorded <= ROUND_EVENT_LIMIT,
                "cohort_id",
                f"this round would record {recorded:,} bytes of inputs and pairs, more than "
                f"one event carries ({ROUND_EVENT_LIMIT:,}; Kafka's records are at most "
                "1 MB): shorten the lists, or run the cohort in parts",
                conflict=True,
            )
            cid = correlation_id or uuid.uuid4()
            round_ = MatchingRound(
                cohort_id=cohort_id,
                round_number=number,
                algorithm=dict(ALGORITHM),
                constraints=dict(CONSTRAINTS),
                inputs_digest=outcome.inputs_digest,
                inputs=plan.instance,  # type: ignore[arg-type]
                excluded_pairs=plan.excluded_pairs,
                matches=[
                    {k: m[k] for k in ("applicant_id", "company_id", "course")}
                    for m in outcome.matches
                ],
                unmatched_candidates=outcome.unmatched_candidates,
                blocking_pairs=outcome.blocking_pairs,
                capacity_violations=outcome.capacity_violations,
                correlation_id=cid,
                causation_id=None,
                actor=actor,
            )
            decide_by = self.clock() + self.decide_within
            by_id = {c.id: c for c in candidates}
            proposed: list[Match] = []
            for pair in outcome.matches:
                applicant_id = uuid.UUID(pair["applicant_id"])
                candidate = by_id[applicant_id]
                proposal = {
                    "proposal_id": uuid.uuid5(round_.id, f"proposal:{applicant_id}"),
                    "round_id": round_.id,
                    "company_id": uuid.UUID(pair["company_id"]),
                    "course": pair["course"],
                    "candidate_rank": pair["candidate_rank"],
                    "company_rank": pair["company_rank"],
                    "decide_by": decide_by,
                }
                match = matches.get(applicant_id)
                if match is None:
                    match = Match(
                        applicant_id=applicant_id,
                        cohort_id=cohort_id,
                        correlation_id=candidate.correlation_id,
                        causation_id=None,
                        actor=actor,
                        **proposal,
                    )
                else:
                    match.propose_again(
                        correlation_id=candidate.correlation_id, actor=actor, **proposal
                    )
                proposed.append(match)
            self.save(round_, *proposed)
            return round_

        return self.retry_on_conflict(attempt)

    # -- the company's decision -----------------------------------------------------------
    def decide(
        self: MatchingApplication,
        applicant_id: uuid.UUID,
        company_id: uuid.UUID,
        decision: str,
        actor: Actor,
        reason_code: str | None = None,
        note: str | None = None,
        course: str | None = None,
    ) -> Decided:
        """A company's decision on the candidate a round proposed to it: `confirm` (the
        match is final: the candidate leaves the pool) or `decline` (with a reason; the
        candidate returns to the pool without this company). The same decision twice
        records nothing new."""
        require(decision in ("confirm", "decline"), "decision", "confirm or decline")
        if decision == "decline":
            require(
                reason_code in DECLINE_REASONS,
                "reason_code",
                f"say why, in one of: {', '.join(DECLINE_REASONS)}",
            )

        def attempt() -> Decided:
            match = self.find(match_id_for(applicant_id), Match)
            if decision == "confirm" and match is not None and match.is_confirmed:
                if match.company_id == company_id:
                    return Decided(match, False)
                raise RuleViolation(
                    "applicant_id",
                    "this candidate is already matched with another company; a company's "
                    "final decision stands and a matched applicant cannot withdraw",
                    conflict=True,
                )
            candidate = self.find(applicant_id, Candidate)
            if candidate is None:
                raise RuleViolation(
                    "applicant_id",
                    "this applicant is not in the candidate pool (only those the office "
                    "selected after screening can be matched)",
                    conflict=True,
                )
            if decision == "confirm":
                # Why the candidate cannot be placed at all comes first: it is what the
                # company and the office need to know.
                why_not = candidate.why_not_matchable
                restrictions = self.restrictions_of(applicant_id)
                if why_not is None and restrictions is not None:
                    why_not = restrictions.why_not_matchable
                if why_not is not None:
                    raise RuleViolation("applicant_id", why_not, conflict=True)
            if match is None:
                raise RuleViolation(
                    "company_id",
                    "this candidate was never proposed to this company by a matching round: "
                    "a company decides only on a proposal",
                    conflict=True,
                )
            if decision == "decline":
                new = match.decline(company_id, str(reason_code), note, self.clock(), actor)
                if new:
                    self.save(match)
                return Decided(match, new)
            if course is not None and match.pending is not None:
                require(
                    match.pending["course"] == course,
                    "course",
                    f"the proposal is on course {match.pending['course']}, not {course}",
                    conflict=True,
                )
            match.confirm(company_id, self.clock(), actor)
            candidate.record_match(match, actor)
            self.save(candidate, match)
            return Decided(match, True)

        return self.retry_on_conflict(attempt)

    def withdraw_standing_proposal(
        self: MatchingApplication,
        applicant_id: uuid.UUID,
        reason_code: str,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> Match | None:
        """The candidate's proposal still awaiting a decision, withdrawn (to be saved by
        the caller with the cause); None if there is none."""
        match = self.find(match_id_for(applicant_id), Match)
        if match is not None and match.withdraw_proposal(
            reason_code, correlation_id, causation_id, actor
        ):
            return match
        return None
