"""Each eligibility rule, as the calls for applicants state it and as a cohort's rule set
configures it: the assessment is pure, names its rule set version, and explains every
check without personal data."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.cohorts import preset
from services.registration.application.service import complete_rules
from services.screening.domain.eligibility import (
    RULE_IDS,
    ApplicantFacts,
    Assessment,
    RuleSet,
    assess,
)


def rule_set(name: str, **rule_changes: Any) -> RuleSet:
    """A preset call's rule set as registration records it (recipients filled in)."""
    spec = preset(name)
    rules = complete_rules({**spec["rules"], **rule_changes}, "rules.")
    return RuleSet.from_cohort(
        spec["cohort_id"],
        date.fromisoformat(spec["age_reference_date"]),
        spec["min_age"],
        spec["max_age"],
        rules,
    )


FY2025 = rule_set("fy2025")
FY2021 = rule_set("fy2021")


def applicant(**overrides: Any) -> ApplicantFacts:
    facts: dict[str, Any] = {
        "age_on_reference_date": 27,
        "nationality": "VN",
        "country_of_residence": "VN",
        "education_level": "bachelor",
        "education_status": "graduated",
        "graduation_date": date(2021, 6, 30),
        "languages": {"jlpt": "N3"},
        "previous_participation_years": (),
        "declares_no_final_job_commitment": True,
    }
    return ApplicantFacts(**{**facts, **overrides})


def failed(facts: ApplicantFacts, rules: RuleSet = FY2025) -> list[str]:
    return [c.rule for c in assess(facts, rules).failed]


def check(assessment: Assessment, rule: str):
    [found] = [c for c in assessment.checks if c.rule == rule]
    return found


def test_an_applicant_who_meets_every_rule_is_eligible_and_every_rule_was_checked():
    assessment = assess(applicant(), FY2025)
    assert assessment.result == "eligible"
    assert [c.rule for c in assessment.checks] == list(RULE_IDS)
    assert all(c.passed and c.reason is None for c in assessment.checks)
    assert (assessment.rule_set_id, assessment.rule_set_version) == ("jip-fy2025", 1)


def test_the_nine_rules_each_name_their_version():
    assert set(RULE_IDS) == {
        "plausibility",
        "nationality_on_recipient_list",
        "nationality_not_excluded",
        "age_within_cohort_range",
        "language",
        "education",
        "not_residing_in_japan",
        "no_earlier_participation",
        "no_final_job_commitment",
    }
    assert all(c.version >= 1 for c in assess(applicant(), FY2025).checks)


# -- age: registration publishes the age on the reference date (25 August 2025) ------------


@pytest.mark.parametrize(
    ("age", "eligible"), [(17, False), (18, True), (27, True), (40, True), (41, False)]
)
def test_age_within_the_cohorts_range_on_its_reference_date(age, eligible):
    assessment = assess(applicant(age_on_reference_date=age), FY2025)
    assert check(assessment, "age_within_cohort_range").passed is eligible
    assert check(assessment, "age_within_cohort_range").saw == age


def test_the_2021_call_starts_at_20():
    assert "age_within_cohort_range" in failed(applicant(age_on_reference_date=19), FY2021)
    assert "age_within_cohort_range" not in failed(applicant(age_on_reference_date=20), FY2021)


def test_an_age_out_of_range_says_which_limit_and_on_which_date():
    reason = check(assess(applicant(age_on_reference_date=41), FY2025), "age_within_cohort_range")
    assert reason.reason == "older than 40 on 2025-08-25"


@given(st.integers(min_value=0, max_value=150))
def test_the_age_rule_passes_exactly_within_the_range(age):
    passed = check(assess(applicant(age_on_reference_date=age), FY2025), "age_within_cohort_range")
    assert passed.passed is (18 <= age <= 40)


# -- nationality ------------------------------------------------------------------------


def test_a_dac_list_nationality_passes():
    for nationality in ("VN", "ID", "IN", "NG", "KH"):
        assert failed(applicant(nationality=nationality)) == []


def test_china_is_on_the_list_but_excluded_by_the_call():
    assert failed(applicant(nationality="CN")) == ["nationality_not_excluded"]


@pytest.mark.parametrize("nationality", ["US", "DE", "KR", "SG"])
def test_a_nationality_not_on_the_list_fails(nationality):
    checked = check(
        assess(applicant(nationality=nationality), FY2025), "nationality_on_recipient_list"
    )
    assert not checked.passed
    assert checked.reason == f"{nationality} is not on the DAC List (oecd-dac-2024-2025)"


def test_kosovo_which_iso_has_no_code_for_passes_as_xk():
    assert failed(applicant(nationality="XK")) == []


# -- language ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("languages", "eligible"),
    [
        ({"jlpt": "N1"}, True),
        ({"jlpt": "N2"}, True),
        ({"jlpt": "N3"}, True),
        ({"jlpt": "N4"}, False),
        ({"jlpt": "N5"}, False),
        ({}, False),
        ({"jlpt": "N4", "ielts": 5.5}, True),
        ({"jlpt": "N4", "ielts": 5.0}, False),
        ({"toefl_ibt": 72}, True),
        ({"toefl_ibt": 71}, False),
        ({"toeic": 600}, True),
        ({"toeic": 595}, False),
        ({"cefr": "B2"}, True),
        ({"cefr": "C2"}, True),
        ({"cefr": "B1"}, False),
    ],
)
def test_jlpt_n3_or_better_or_an_accepted_english_score(languages, eligible):
    assessment = assess(applicant(languages=languages), FY2025)
    assert check(assessment, "language").passed is eligible
    assert check(assessment, "language").saw == languages


def test_an_english_test_the_cohort_does_not_list_is_not_accepted():
    without_toeic = rule_set(
        "fy2025",
        language={"rule": "jlpt_or_english", "min_jlpt": "N3", "english_minimums": {"ielts": 6.0}},
    )
    assert failed(applicant(languages={"toeic": 990}), without_toeic) == ["language"]
    assert failed(applicant(languages={"ielts": 6.0}), without_toeic) == []


BOTH = {
    "rule": "jlpt_and_english",
    "min_jlpt": "N3",
    "english_minimums": {"ielts": 5.5, "toefl_ibt": 72, "toeic": 600, "cefr": "B2"},
}


@pytest.mark.parametrize(
    ("languages", "eligible", "reason"),
    [
        ({"jlpt": "N3", "ielts": 6.0}, True, None),
        ({"jlpt": "N2"}, False, "requires an accepted English score"),
        ({"ielts": 7.0}, False, "requires JLPT N3 or better"),
        ({"jlpt": "N4", "ielts": 7.0}, False, "requires JLPT N3 or better"),
    ],
)
def test_the_variant_where_both_japanese_and_english_are_required(languages, eligible, reason):
    both = rule_set("fy2025", language=BOTH)
    checked = check(assess(applicant(languages=languages), both), "language")
    assert checked.passed is eligible
    assert (checked.reason or "").startswith(reason or "")


# -- earlier participation (FY2025 excludes FY2016 to FY2024) -----------------------------


@pytest.mark.parametrize(
    ("years", "eligible"),
    [((), True), ((2015,), True), ((2016,), False), ((2020,), False), ((2024,), False)],
)
def test_participants_of_fy2016_to_fy2024_may_not_apply_again(years, eligible):
    checked = check(
        assess(applicant(previous_participation_years=years), FY2025), "no_earlier_participation"
    )
    assert checked.passed is eligible
    assert checked.saw == list(years)


def test_the_2021_call_excludes_fy2016_to_fy2019():
    assert failed(applicant(previous_participation_years=(2019,)), FY2021) == [
        "no_earlier_participation"
    ]
    assert failed(applicant(previous_participation_years=(2015,)), FY2021) == []


# -- residence, education, job ------------------------------------------------------------


def test_a_resident_of_japan_fails_or_passes_by_the_cohorts_switch():
    resident = applicant(country_of_residence="JP")
    assert failed(resident, FY2025) == ["not_residing_in_japan"]
    assert failed(resident, FY2021) == []


@pytest.mark.parametrize(
    ("level", "eligible"),
    [
        ("secondary", False),
        ("junior_college", True),
        ("technical_college", True),
        ("bachelor", True),
        ("master", True),
        ("doctorate", True),
        ("other_higher", True),
    ],
)
def test_higher_education_enrolled_or_graduated(level, eligible):
    for status in ("enrolled", "graduated"):
        facts = applicant(education_level=level, education_status=status)
        assert ("education" not in failed(facts)) is eligible


def test_a_final_job_commitment_fails():
    assert failed(applicant(declares_no_final_job_commitment=False)) == ["no_final_job_commitment"]


# -- plausibility -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "facts",
    [
        {"graduation_date": date(2035, 8, 26), "education_status": "enrolled"},
        {"previous_participation_years": (2025,)},
        {"previous_participation_years": (2099,)},
    ],
)
def test_what_cannot_be_true_is_implausible_and_not_assessed(facts):
    assessment = assess(applicant(**facts), FY2025)
    assert assessment.result == "implausible"
    assert [c.rule for c in assessment.checks] == ["plausibility"]
    assert not assessment.checks[0].passed and assessment.checks[0].reason


def test_a_graduation_ten_years_ahead_is_still_plausible():
    facts = applicant(graduation_date=date(2035, 8, 25), education_status="enrolled")
    assert assess(facts, FY2025).result == "eligible"


# -- the record ---------------------------------------------------------------------------


def test_the_record_is_json_names_the_rule_set_and_holds_nothing_personal():
    record = assess(applicant(nationality="CN", languages={"jlpt": "N4"}), FY2025).as_record()
    text = json.dumps(record)
    assert record["rule_set"] == {"id": "jip-fy2025", "version": 1}
    assert record["result"] == "ineligible"
    assert {c["rule"] for c in record["checks"] if not c["passed"]} == {
        "nationality_not_excluded",
        "language",
    }
    for personal in ("date_of_birth", "given_name", "family_name", "email"):
        assert personal not in text


def test_a_revised_rule_set_is_named_by_its_version():
    revised = replace(FY2025, version=2)
    assert assess(applicant(), revised).rule_set_version == 2


@given(
    age=st.integers(min_value=0, max_value=99),
    nationality=st.sampled_from(["VN", "CN", "US", "XK", "JP"]),
    residence=st.sampled_from(["VN", "JP"]),
    jlpt=st.sampled_from([None, "N1", "N3", "N4", "N5"]),
    years=st.lists(st.integers(min_value=2000, max_value=2024), max_size=3),
)
def test_an_assessment_is_eligible_exactly_when_every_check_passes(
    age, nationality, residence, jlpt, years
):
    facts = applicant(
        age_on_reference_date=age,
        nationality=nationality,
        country_of_residence=residence,
        languages={"jlpt": jlpt} if jlpt else {},
        previous_participation_years=tuple(years),
    )
    assessment = assess(facts, FY2025)
    assert assessment == assess(facts, FY2025)  # pure: the same facts, the same decision
    assert (assessment.result == "eligible") is all(c.passed for c in assessment.checks)
    assert len(assessment.checks) == len(RULE_IDS)
