"""Each eligibility rule, as a call for applicants states it and as the cohort sets it."""

from __future__ import annotations

from datetime import date

import pytest

from services.screening.domain.eligibility import (
    ApplicantFacts,
    EligibilityTerms,
    assess,
)

FY2025 = EligibilityTerms(
    cohort_id="FY2025",
    age_reference_date=date(2025, 8, 25),
    min_age=18,
    max_age=40,
    excluded_nationalities=frozenset({"CN"}),
    residents_of_japan_may_apply=False,
    earlier_participation_excluded_from_fy=2016,
)


def applicant(**overrides: object) -> ApplicantFacts:
    facts: dict[str, object] = {
        "age_on_reference_date": 25,
        "nationality": "VN",
        "country_of_residence": "VN",
    }
    return ApplicantFacts(**{**facts, **overrides})  # type: ignore[arg-type]


def broken_rules(facts: ApplicantFacts, terms: EligibilityTerms = FY2025) -> list[str]:
    return [f.rule for f in assess(facts, terms)]


def test_an_applicant_who_meets_every_rule_is_eligible() -> None:
    assert assess(applicant(), FY2025) == []


@pytest.mark.parametrize(
    ("age", "eligible"),
    [(40, True), (41, False), (18, True), (17, False)],
)
def test_age_counts_on_the_cohorts_reference_date(age: int, eligible: bool) -> None:
    # The age on the reference date is registration's to compute (it holds the date of
    # birth); screening decides on it.
    broken = broken_rules(applicant(age_on_reference_date=age))

    assert ("age_within_cohort_range" not in broken) is eligible


def test_a_finding_explains_itself_without_the_applicants_data() -> None:
    [finding] = assess(applicant(age_on_reference_date=45), FY2025)

    assert finding.rule == "age_within_cohort_range"
    assert finding.version == 2
    assert finding.reason == "older than 40 on 2025-08-25"
    assert "45" not in finding.reason


def test_excluded_nationalities_are_not_eligible_wherever_they_live() -> None:
    assert broken_rules(applicant(nationality="CN", country_of_residence="TH")) == [
        "nationality_not_excluded"
    ]


def test_residents_of_japan_may_apply_only_when_the_cohort_allows_it() -> None:
    resident = applicant(country_of_residence="JP")
    fy2021 = EligibilityTerms(
        cohort_id="FY2021",
        age_reference_date=date(2020, 10, 15),
        min_age=20,
        max_age=40,
        residents_of_japan_may_apply=True,
    )

    assert broken_rules(resident) == ["not_residing_in_japan"]
    assert broken_rules(resident, fy2021) == []


def test_earlier_participants_since_the_cohorts_threshold_are_not_eligible() -> None:
    assert broken_rules(applicant(previous_participation_years=(2019,))) == [
        "no_earlier_participation"
    ]
    assert broken_rules(applicant(previous_participation_years=(2015,))) == []


def test_an_applicant_with_a_final_job_commitment_is_not_eligible() -> None:
    assert broken_rules(applicant(declares_no_final_job_commitment=False)) == [
        "no_final_job_commitment"
    ]
