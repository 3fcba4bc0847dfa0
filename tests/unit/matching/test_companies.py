"""Host companies: the SME rule at its limits, the corporate number's check digit, and
a company's registration, accepted, refused and registered again."""

from __future__ import annotations

import uuid
from typing import get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events import matching as contract
from kernel import actor as acting
from kernel.rules import RuleViolation
from services.matching.domain import sme
from services.matching.domain.company import (
    PREFECTURES,
    Company,
    CompanyRegistration,
    InternshipPlan,
    corporate_number_check_digit,
    why_not_a_corporate_number,
)

ACTOR = acting.staff("staff-017", role="matcher")
FLOW = uuid.uuid4()
COURSES = {"A": "in_person", "B": "online"}
SEALED = "sealed:v1:contacts"

#: (industry, capital limit, employees limit) as the Basic Act's Article 2 gives them.
ACT = [
    ("manufacturing", 300_000_000, 300),
    ("construction", 300_000_000, 300),
    ("transport", 300_000_000, 300),
    ("other", 300_000_000, 300),
    ("wholesale", 100_000_000, 100),
    ("services", 50_000_000, 100),
    ("retail", 50_000_000, 50),
]


# -- the SME rule ---------------------------------------------------------------------
@pytest.mark.parametrize(("industry", "capital", "employees"), ACT)
def test_the_limits_are_the_acts(industry: sme.Industry, capital: int, employees: int) -> None:
    limits = sme.LIMITS[industry]
    assert (limits.capital_yen, limits.regular_employees) == (capital, employees)


@given(
    case=st.sampled_from(ACT),
    capital_over=st.integers(min_value=-5, max_value=5),
    employees_over=st.integers(min_value=-5, max_value=5),
)
def test_a_company_is_an_sme_when_at_or_under_either_limit(
    case: tuple[sme.Industry, int, int], capital_over: int, employees_over: int
) -> None:
    industry, capital_limit, employees_limit = case
    capital = max(0, capital_limit + capital_over)
    employees = max(0, employees_limit + employees_over)

    decision = sme.assess_sme("company", industry, capital, employees)

    assert decision.eligible == (capital <= capital_limit or employees <= employees_limit)
    assert (decision.rule_id, decision.rule_version) == (sme.RULE_ID, sme.RULE_VERSION)
    if not decision.eligible:
        [refusal] = decision.refusals
        assert refusal.code == "not_an_sme"
        assert refusal.saw["capital_yen"] == capital
        assert refusal.saw["regular_employees"] == employees
        assert refusal.saw["capital_limit_yen"] == capital_limit
        assert f"{capital_limit:,} yen" in refusal.text


@given(
    industry=st.sampled_from(sme.INDUSTRIES),
    kind=st.sampled_from(["government_body", "ngo", "association"]),
    capital=st.integers(min_value=0, max_value=10**12),
    employees=st.integers(min_value=0, max_value=10**6),
)
def test_only_companies_host_whatever_their_size(
    industry: sme.Industry, kind: sme.OrganisationKind, capital: int, employees: int
) -> None:
    decision = sme.assess_sme(kind, industry, capital, employees)

    assert not decision.eligible
    assert decision.refusals[0].code == "not_a_company"
    assert decision.refusals[0].field == "organisation_kind"
    assert decision.refusals[0].saw == {"organisation_kind": kind}


def test_a_large_retailer_is_refused_where_a_manufacturer_of_its_size_is_not() -> None:
    assert not sme.assess_sme("company", "retail", 60_000_000, 60).eligible
    assert sme.assess_sme("company", "manufacturing", 60_000_000, 60).eligible


# -- the corporate number -------------------------------------------------------------
@pytest.mark.parametrize("number", ["7000012050002", "1180301018771", "4180001234567"])
def test_a_corporate_number_with_its_check_digit_is_valid(number: str) -> None:
    assert why_not_a_corporate_number(number) is None


@given(base=st.text(alphabet="0123456789", min_size=12, max_size=12), wrong=st.integers(1, 8))
def test_any_other_check_digit_is_refused(base: str, wrong: int) -> None:
    right = corporate_number_check_digit(base)
    assert 1 <= right <= 9
    assert why_not_a_corporate_number(f"{right}{base}") is None
    other = (right - 1 + wrong) % 9 + 1
    assert "check digit" in (why_not_a_corporate_number(f"{other}{base}") or "")


@pytest.mark.parametrize("number", ["123", "12345678901234", "７０００012050002", "70000120500a2"])
def test_a_corporate_number_is_thirteen_digits(number: str) -> None:
    assert "13 digits" in (why_not_a_corporate_number(number) or "")


# -- the vocabulary is the contract's -------------------------------------------------
def test_the_domain_and_the_contract_share_one_vocabulary() -> None:
    assert get_args(contract.Prefecture) == PREFECTURES
    assert len(set(PREFECTURES)) == 47
    assert get_args(contract.Industry) == sme.INDUSTRIES
    assert get_args(contract.OrganisationKind) == sme.ORGANISATION_KINDS


# -- a company's registration ---------------------------------------------------------
def a_registration(**changes: object) -> CompanyRegistration:
    values: dict[str, object] = {
        "company_id": uuid.uuid4(),
        "cohort_id": "FY2025",
        "legal_name": "Kato Seiki Co., Ltd.",
        "corporate_number": "4180001234567",
        "organisation_kind": "company",
        "industry": "manufacturing",
        "prefecture": "aichi",
        "capital_yen": 30_000_000,
        "regular_employees": 45,
        "courses": ("A",),
        "plan": InternshipPlan("Quality control", {"jlpt": "N3"}, ("CAD",)),
        "capacity": 1,
    }
    values.update(changes)
    return CompanyRegistration(**values)  # type: ignore[arg-type]


def decide(registration: CompanyRegistration, company: Company | None = None) -> Company:
    registration.check(COURSES)
    company = company or Company(
        company_id=registration.company_id,
        cohort_id=registration.cohort_id,
        correlation_id=FLOW,
        causation_id=None,
        actor=ACTOR,
    )
    company.register(registration, SEALED, False, FLOW, ACTOR)
    return company


def test_an_sme_is_registered_with_the_rule_that_decided() -> None:
    company = decide(a_registration())

    assert company.status == "registered"
    assert company.eligibility["rule_id"] == sme.RULE_ID
    assert company.details["capacity"] == 1
    assert [type(e).__name__ for e in company.collect_events()] == ["Opened", "Registered"]


def test_a_refused_company_may_register_again_with_corrected_figures() -> None:
    registration = a_registration(industry="retail", capital_yen=80_000_000, regular_employees=120)
    company = decide(registration)
    assert company.status == "refused"
    assert [r["field"] for r in company.refusals] == ["capital_yen"]

    corrected = a_registration(
        company_id=registration.company_id, industry="retail", capital_yen=8_000_000
    )
    company = decide(corrected, company)

    assert company.status == "registered" and company.refusals == []
    names = [type(e).__name__ for e in company.collect_events()]
    assert names == ["Opened", "Refused", "Registered"]


def test_a_registered_company_is_not_changed_by_another_registration() -> None:
    registration = a_registration()
    company = decide(registration)
    company.collect_events()

    assert not company.register(registration, SEALED, True, FLOW, ACTOR)
    with pytest.raises(RuleViolation) as refused:
        company.register(
            a_registration(company_id=registration.company_id, capacity=2),
            SEALED,
            True,
            FLOW,
            ACTOR,
        )
    assert (refused.value.field, refused.value.conflict) == ("company_id", True)
    assert company.collect_events() == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"corporate_number": "5180001234567"}, "corporate_number"),
        ({"prefecture": "kyushu"}, "prefecture"),
        ({"courses": ("A", "Z")}, "courses.1"),
        ({"courses": ()}, "courses"),
        ({"courses": ("A", "A")}, "courses"),
        ({"capacity": 0}, "capacity"),
        ({"legal_name": "  "}, "legal_name"),
        ({"plan": InternshipPlan(" ")}, "plan.content"),
    ],
)
def test_bad_input_is_refused_naming_the_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(RuleViolation) as refused:
        a_registration(**changes).check(COURSES)

    assert refused.value.field == field
