"""Matching rounds: the hard constraints on a pair, the list suggested from interests,
what a round puts on the table and why it leaves a pair out, and (with the event store
in memory) a cohort through two rounds: proposals, a decline, a second round without
the company that declined, a withdrawn proposal."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events import topics
from events.envelope import Envelope
from kernel import actor as acting
from kernel.rules import RuleViolation
from runtime.inbox import Inbox, ReceivedRecord
from services.matching.application.publishing import to_integration_event
from services.matching.application.service import MatchingApplication
from services.matching.domain import stable_matching
from services.matching.domain.company import Company, CompanyRegistration, InternshipPlan
from services.matching.domain.match import match_id_for
from services.matching.domain.preferences import (
    CandidateFacts,
    CompanyFacts,
    judge_pair,
    month_interval,
    rank_by_interests,
)
from services.matching.domain.round import RoundCandidate, RoundCompany, plan_round, solve_round
from tests import envelopes

OFFICE = acting.staff("staff-017", role="matcher")
NOW = datetime(2025, 8, 1, 9, 0, tzinfo=UTC)
IN_MEMORY = {"PERSISTENCE_MODULE": "eventsourcing.popo"}


# -- the hard constraints --------------------------------------------------------------
def facts(**overrides: object) -> CandidateFacts:
    values: dict[str, object] = {
        "applicant_id": uuid.uuid4(),
        "course_preferences": ("B", "A"),
        "languages": {"jlpt": "N3", "ielts": 6.0},
        "period_preferences": (),
    }
    values.update(overrides)
    return CandidateFacts(**values)  # type: ignore[arg-type]


def company(**overrides: object) -> CompanyFacts:
    values: dict[str, object] = {"company_id": uuid.uuid4(), "courses": ("A", "B")}
    values.update(overrides)
    return CompanyFacts(**values)  # type: ignore[arg-type]


def test_the_pairs_course_is_the_candidates_first_the_company_offers() -> None:
    assert judge_pair(facts(), company(), declined=False).course == "B"
    assert judge_pair(facts(), company(courses=("A",)), declined=False).course == "A"
    verdict = judge_pair(facts(), company(courses=("C",)), declined=False)
    assert (verdict.acceptable, verdict.reasons) == (False, ("course_not_offered",))


@pytest.mark.parametrize(
    ("required", "acceptable"),
    [
        ({}, True),
        ({"jlpt": "N3"}, True),
        ({"jlpt": "N4"}, True),
        ({"jlpt": "N2"}, False),
        ({"ielts": 6.0}, True),
        ({"ielts": 6.5}, False),
        # Any one English test met is enough.
        ({"ielts": 7.0, "toeic": 800}, False),
        ({"jlpt": "N3", "cefr": "B2"}, False),
    ],
)
def test_a_plans_required_languages(required: dict[str, object], acceptable: bool) -> None:
    verdict = judge_pair(facts(), company(required_languages=required), declined=False)
    assert verdict.acceptable is acceptable
    if not acceptable:
        assert verdict.reasons == ("language_below_requirement",)


def test_a_cefr_level_or_above_meets_a_cefr_requirement() -> None:
    candidate = facts(languages={"cefr": "C1"})
    assert judge_pair(candidate, company(required_languages={"cefr": "B2"}), False).acceptable
    assert not judge_pair(candidate, company(required_languages={"cefr": "C2"}), False).acceptable


def test_periods_constrain_only_when_both_sides_give_them() -> None:
    autumn = facts(period_preferences=("2025-10/2025-12",))
    assert judge_pair(autumn, company(periods=("2025-12/2026-02",)), False).acceptable
    late = judge_pair(autumn, company(periods=("2026-01/2026-03",)), False)
    assert late.reasons == ("period_outside",)
    assert judge_pair(autumn, company(), False).acceptable
    # Words a machine cannot read do not constrain.
    assert judge_pair(
        facts(period_preferences=("autumn",)), company(periods=("2026-01/2026-03",)), False
    ).acceptable
    assert month_interval("2025-10-15/2025-12-01") == (2025 * 12 + 9, 2025 * 12 + 11)
    assert month_interval("2025-12/2025-10") is None


def test_a_company_that_declined_is_never_acceptable_again() -> None:
    assert judge_pair(facts(), company(), declined=True).reasons == ("declined_before",)


def test_interests_rank_companies_by_shared_words_ties_in_order() -> None:
    welding = company(content="Welding and quality control", skills=("CAD",))
    software = company(content="Software for factories", skills=("Python", "quality"))
    shop = company(content="Retail shop", industry="retail")
    ranked = rank_by_interests(["software quality", "python"], [welding, software, shop])
    assert ranked == [(software.company_id, 3), (welding.company_id, 1)]
    assert rank_by_interests(["quality"], [welding, software]) == [
        (welding.company_id, 1),
        (software.company_id, 1),
    ]


# -- what a round puts on the table -----------------------------------------------------
def test_a_round_keeps_only_pairs_both_sides_list_and_the_constraints_allow() -> None:
    ana, ben, cho = facts(), facts(), facts(languages={"jlpt": "N5"})
    tokyo, osaka, full = company(), company(required_languages={"jlpt": "N3"}), company()
    plan = plan_round(
        [
            RoundCandidate(ana, (tokyo.company_id, osaka.company_id)),
            RoundCandidate(ben, (osaka.company_id, full.company_id)),
            RoundCandidate(cho, (osaka.company_id,)),
        ],
        [
            RoundCompany(tokyo, 1, (ben.applicant_id, ana.applicant_id)),
            RoundCompany(osaka, 2, (cho.applicant_id, ben.applicant_id)),
            RoundCompany(full, 0, (ben.applicant_id,)),
        ],
    )

    lists = {c["id"]: c["preferences"] for c in plan.instance["candidates"]}
    assert lists == {
        str(ana.applicant_id): [str(tokyo.company_id)],
        str(ben.applicant_id): [str(osaka.company_id)],
        str(cho.applicant_id): [],
    }
    why = {(p["applicant_id"], p["company_id"]): p["reasons"] for p in plan.excluded_pairs}
    assert why == {
        (str(ana.applicant_id), str(osaka.company_id)): ["not_listed_by_company"],
        (str(ben.applicant_id), str(full.company_id)): ["company_not_in_round"],
        (str(cho.applicant_id), str(osaka.company_id)): ["language_below_requirement"],
        (str(ben.applicant_id), str(tokyo.company_id)): ["not_listed_by_candidate"],
    }
    assert [h["id"] for h in plan.instance["hosts"]] == [
        str(tokyo.company_id),
        str(osaka.company_id),
    ]
    # The instance is exactly what the solver (and its command line) reads.
    solved = stable_matching.solve(plan.instance)
    assert sorted(solved.matches) == sorted(
        [
            (str(ana.applicant_id), str(tokyo.company_id)),
            (str(ben.applicant_id), str(osaka.company_id)),
        ]
    )


# -- a cohort through its rounds ---------------------------------------------------------
def deliver(app: MatchingApplication, event: Envelope, offset: int) -> None:
    inbox = Inbox(app, accepts=MatchingApplication.consumed_event_types())
    inbox.receive(
        ReceivedRecord(topics.SCREENING, offset, offset, event.model_dump_json().encode())
    )


def published(app: MatchingApplication) -> list[Envelope]:
    notifications = app.recorder.select_notifications(start=1, limit=10_000)
    translated = (to_integration_event(app.mapper.to_domain_event(n)) for n in notifications)
    return [e for e in translated if e is not None]


class Cohort:
    """A cohort in an in-memory matching service."""

    def __init__(self) -> None:
        self.app = MatchingApplication(IN_MEMORY, clock=lambda: NOW)
        self.offset = 0
        self.send(envelopes.cohort_opened())

    def send(self, event: Envelope) -> None:
        deliver(self.app, event, self.offset)
        self.offset += 1

    def candidate(self) -> uuid.UUID:
        applicant_id = uuid.uuid4()
        self.send(envelopes.candidate_selected(applicant_id))
        return applicant_id

    def company(self, capacity: int = 1, **plan: object) -> uuid.UUID:
        company_id = uuid.uuid4()
        record = Company(
            company_id=company_id,
            cohort_id="FY2025",
            correlation_id=uuid.uuid4(),
            causation_id=None,
            actor=OFFICE,
        )
        record.register(
            CompanyRegistration(
                company_id=company_id,
                cohort_id="FY2025",
                legal_name="Example KK",
                corporate_number="1234567890123",
                organisation_kind="company",
                industry="other",
                prefecture="aichi",
                capital_yen=10_000_000,
                regular_employees=20,
                courses=("A", "C"),
                plan=InternshipPlan(content="Production engineering", **plan),  # type: ignore[arg-type]
                capacity=capacity,
            ),
            f"sealed:v1:{company_id}:{'A' * 40}",
            False,
            uuid.uuid4(),
            OFFICE,
        )
        self.app.save(record)
        return company_id

    def lists(
        self,
        candidates: dict[uuid.UUID, list[uuid.UUID]],
        companies: dict[uuid.UUID, list[uuid.UUID]],
    ) -> None:
        for applicant_id, ranked in candidates.items():
            self.app.state_candidate_preferences(
                applicant_id, ranked, "own_choice", acting.applicant(applicant_id)
            )
        for company_id, ranked_candidates in companies.items():
            self.app.state_company_preferences(company_id, ranked_candidates, OFFICE)


def test_a_cohort_goes_through_a_round_a_decline_and_a_second_round() -> None:
    cohort = Cohort()
    ana, ben, cho = cohort.candidate(), cohort.candidate(), cohort.candidate()
    tokyo, osaka = cohort.company(capacity=2), cohort.company()
    cohort.lists(
        {ana: [tokyo, osaka], ben: [tokyo, osaka], cho: [osaka, tokyo]},
        {tokyo: [cho, ana, ben], osaka: [ana, ben, cho]},
    )

    first = cohort.app.run_round("FY2025", OFFICE)

    assert first.round_number == 1
    assert (first.blocking_pairs, first.capacity_violations) == (0, 0)
    pairs = {(m["applicant_id"], m["company_id"]) for m in first.matches}
    assert pairs == {(str(ana), str(tokyo)), (str(ben), str(tokyo)), (str(cho), str(osaka))}
    assert first.inputs_digest == stable_matching.input_digest(first.inputs)  # type: ignore[arg-type]
    kinds = [e.event_type for e in published(cohort.app)]
    assert kinds.count("MatchProposed") == 3 and kinds.count("MatchingRoundCompleted") == 1
    round_event = next(e for e in published(cohort.app) if e.event_type == "MatchingRoundCompleted")
    assert round_event.payload.algorithm.id == stable_matching.ALGORITHM  # type: ignore[attr-defined]

    # Nothing left to match while every proposal stands.
    with pytest.raises(RuleViolation) as nothing:
        cohort.app.run_round("FY2025", OFFICE)
    assert nothing.value.field == "cohort_id"

    tokyo_user = acting.company_user("hr-1", tokyo)
    declined = cohort.app.decide(
        ben, tokyo, "decline", tokyo_user, reason_code="interview_not_passed"
    )
    assert declined.new
    assert not cohort.app.decide(
        ben, tokyo, "decline", tokyo_user, reason_code="interview_not_passed"
    ).new
    assert cohort.app.decide(ana, tokyo, "confirm", tokyo_user).new
    with pytest.raises(RuleViolation) as never:
        cohort.app.decide(ben, osaka, "confirm", OFFICE)
    assert never.value.conflict and "never proposed" in never.value.reason
    with pytest.raises(RuleViolation) as taken:
        cohort.app.decide(ana, osaka, "confirm", OFFICE)
    assert "already matched" in taken.value.reason

    second = cohort.app.run_round("FY2025", OFFICE)

    # Ben again, without tokyo (which declined him); osaka's only place is taken by
    # cho's standing proposal, tokyo's second place is open but tokyo declined him.
    assert second.round_number == 2
    assert [c["id"] for c in second.inputs["candidates"]] == [str(ben)]
    assert second.matches == []
    assert second.unmatched_candidates == [str(ben)]
    why = {(p["applicant_id"], p["company_id"]): p["reasons"] for p in second.excluded_pairs}
    assert why[(str(ben), str(tokyo))] == ["declined_before"]
    assert why[(str(ben), str(osaka))] == ["company_not_in_round"]

    # Cho's proposal withdrawn (held by the office): osaka's place is open again.
    cohort.send(envelopes.case_referred_to_office(cho))
    withdrawn = published(cohort.app)[-1]
    assert withdrawn.event_type == "ProposalWithdrawn"
    assert withdrawn.payload.reason_code == "candidate_on_hold"  # type: ignore[attr-defined]
    third = cohort.app.run_round("FY2025", OFFICE)
    assert [(m["applicant_id"], m["company_id"]) for m in third.matches] == [(str(ben), str(osaka))]
    match = cohort.app.get_match(match_id_for(ben))
    assert match.pending is not None and match.pending["decide_by"] == NOW + timedelta(days=14)


def test_a_withdrawal_withdraws_the_standing_proposal() -> None:
    cohort = Cohort()
    ana = cohort.candidate()
    tokyo = cohort.company()
    cohort.lists({ana: [tokyo]}, {tokyo: [ana]})
    cohort.app.run_round("FY2025", OFFICE)

    cohort.app.withdraw(ana, acting.applicant(ana))

    assert [e.event_type for e in published(cohort.app)][-2:] == [
        "CandidateWithdrawn",
        "ProposalWithdrawn",
    ]
    with pytest.raises(RuleViolation):
        cohort.app.decide(ana, tokyo, "confirm", OFFICE)


def test_lists_name_known_companies_and_candidates_each_once() -> None:
    cohort = Cohort()
    ana = cohort.candidate()
    tokyo = cohort.company()
    with pytest.raises(RuleViolation) as unknown:
        cohort.app.state_candidate_preferences(ana, [tokyo, uuid.uuid4()], "own_choice", OFFICE)
    assert unknown.value.field == "companies.1"
    with pytest.raises(RuleViolation) as twice:
        cohort.app.state_candidate_preferences(ana, [tokyo, tokyo], "own_choice", OFFICE)
    assert twice.value.field == "companies"
    with pytest.raises(RuleViolation) as stranger:
        cohort.app.state_company_preferences(tokyo, [ana, uuid.uuid4()], OFFICE)
    assert stranger.value.field == "candidates.1"
    with pytest.raises(RuleViolation) as by_themself:
        cohort.app.state_candidate_preferences(ana, [tokyo], "interests", acting.applicant(ana))
    assert by_themself.value.field == "basis"


def test_the_office_confirms_a_list_ranked_from_interests() -> None:
    cohort = Cohort()
    ana = cohort.candidate()  # interests: manufacturing
    plain = cohort.company()
    factory = cohort.company(skills=("manufacturing",))

    suggested = cohort.app.suggested_preferences(ana)
    assert suggested == [(factory, 1)]
    cohort.app.state_candidate_preferences(ana, [factory, plain], "interests", OFFICE)

    stated = published(cohort.app)[-1]
    assert stated.event_type == "CandidatePreferencesStated"
    assert stated.payload.ranking.model_dump() == {"id": "interest_overlap", "version": 1}  # type: ignore[attr-defined]
    assert stated.payload.scores == [1, 0]  # type: ignore[attr-defined]


def test_a_round_too_large_for_one_event_is_refused_and_records_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from services.matching.application import rounds

    cohort = Cohort()
    ana = cohort.candidate()
    tokyo = cohort.company()
    cohort.lists({ana: [tokyo]}, {tokyo: [ana]})
    monkeypatch.setattr(rounds, "ROUND_EVENT_LIMIT", 100)
    before = len(published(cohort.app))

    with pytest.raises(RuleViolation) as refused:
        cohort.app.run_round("FY2025", OFFICE)

    assert (
        refused.value.field == "cohort_id" and "more than one event carries" in refused.value.reason
    )
    assert len(published(cohort.app)) == before


# -- rounds on random cohorts -------------------------------------------------------------
@st.composite
def cohorts(draw: st.DrawFn) -> tuple[list[RoundCandidate], list[RoundCompany]]:
    """Random cohorts: courses, language levels and periods on both sides, lists of any
    length naming any subset of the other side (so many listings are one-sided),
    earlier declines, and companies with 0 to 3 open places."""
    courses = st.lists(st.sampled_from("ABC"), min_size=1, max_size=3, unique=True)
    periods = st.lists(
        st.sampled_from(["2025-08/2025-10", "2025-10/2025-12", "2026-01/2026-03", "autumn"]),
        max_size=2,
    )
    n_candidates, n_companies = draw(st.integers(0, 8)), draw(st.integers(0, 5))
    applicants = [uuid.UUID(int=i + 1) for i in range(n_candidates)]
    company_ids = [uuid.UUID(int=1000 + i) for i in range(n_companies)]

    def ranked(of: list[uuid.UUID]) -> tuple[uuid.UUID, ...]:
        chosen = draw(st.permutations(of))
        return tuple(chosen[: draw(st.integers(0, len(chosen)))])

    candidates = [
        RoundCandidate(
            CandidateFacts(
                applicant_id=a,
                course_preferences=tuple(draw(courses)),
                languages={"jlpt": draw(st.sampled_from(["N1", "N3", "N5"]))},
                period_preferences=tuple(draw(periods)),
            ),
            ranked(company_ids),
            frozenset(draw(st.lists(st.sampled_from(company_ids), max_size=1)))
            if company_ids
            else frozenset(),
        )
        for a in applicants
    ]
    companies = [
        RoundCompany(
            CompanyFacts(
                company_id=c,
                courses=tuple(draw(courses)),
                required_languages=draw(st.sampled_from([{}, {"jlpt": "N3"}])),
                periods=tuple(draw(periods)),
            ),
            draw(st.integers(0, 3)),
            ranked(applicants),
        )
        for c in company_ids
    ]
    return candidates, companies


@settings(max_examples=200, deadline=None)
@given(cohorts(), st.randoms(use_true_random=False))
def test_a_round_is_stable_within_capacity_allowed_and_the_same_in_any_order(
    cohort: tuple[list[RoundCandidate], list[RoundCompany]], rnd: random.Random
) -> None:
    candidates, companies = cohort
    plan = plan_round(candidates, companies)
    outcome = solve_round(plan)

    verdict = stable_matching.check(
        plan.instance, [(m["applicant_id"], m["company_id"]) for m in outcome.matches]
    )
    assert (outcome.blocking_pairs, outcome.capacity_violations) == (0, 0)
    assert verdict.stable and verdict.capacity_violations == 0
    by_id = {c.facts.applicant_id: c for c in candidates}
    company_of = {c.facts.company_id: c for c in companies}
    for m in outcome.matches:
        candidate = by_id[uuid.UUID(m["applicant_id"])]
        company = company_of[uuid.UUID(m["company_id"])]
        # Both sides listed each other, the constraints allow it, and the course is the
        # candidate's first the company offers.
        assert company.facts.company_id in candidate.preferences
        assert candidate.facts.applicant_id in company.preferences
        declined = company.facts.company_id in candidate.declined_by
        verdict_of_pair = judge_pair(candidate.facts, company.facts, declined)
        assert verdict_of_pair.acceptable and verdict_of_pair.course == m["course"]
    shuffled = solve_round(
        plan_round(rnd.sample(candidates, len(candidates)), rnd.sample(companies, len(companies)))
    )
    assert sorted(map(str, shuffled.matches)) == sorted(map(str, outcome.matches))
    assert shuffled.inputs_digest == outcome.inputs_digest
