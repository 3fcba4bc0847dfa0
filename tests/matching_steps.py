"""Steps of matching over HTTP, as the office and host companies take them, shared by
the integration and end-to-end tests: register a host company, state both sides' lists,
run a round, and the company's decision on what the round proposed."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from typing import Any

import httpx

from services.matching.domain.company import corporate_number_check_digit


def a_corporate_number() -> str:
    base = f"{random.randint(0, 10**12 - 1):012d}"
    return f"{corporate_number_check_digit(base)}{base}"


def a_registration(
    cohort_id: str, courses: Sequence[str] = ("A", "B"), capacity: int = 1, **plan: Any
) -> dict[str, Any]:
    return {
        "cohort_id": cohort_id,
        "legal_name": "Kato Seiki Co., Ltd.",
        "corporate_number": a_corporate_number(),
        "organisation_kind": "company",
        "industry": "manufacturing",
        "prefecture": "aichi",
        "capital_yen": 30_000_000,
        "regular_employees": 45,
        "courses": list(courses),
        "capacity": capacity,
        "plan": {"content": "Quality control of machined parts, with a mentor.", **plan},
        "contacts": [{"name": "Hanako Kato", "email": "hanako.kato@example.jp"}],
    }


async def register_host(
    http: httpx.AsyncClient,
    matching: str,
    office: dict[str, str],
    cohort_id: str,
    company_id: uuid.UUID | None = None,
    **registration: Any,
) -> uuid.UUID:
    """A host company registered (accepted) for the cohort; its id."""
    company_id = company_id or uuid.uuid4()
    r = await http.put(
        f"{matching}/companies/{company_id}",
        json=a_registration(cohort_id, **registration),
        headers=office,
    )
    assert r.status_code in (200, 201), r.text
    return company_id


async def state_lists(
    http: httpx.AsyncClient,
    matching: str,
    office: dict[str, str],
    candidates: dict[Any, Sequence[Any]] | None = None,
    companies: dict[Any, Sequence[Any]] | None = None,
) -> None:
    """Each candidate's ranked companies, each company's ranked candidates."""
    for applicant_id, ranked in (candidates or {}).items():
        r = await http.put(
            f"{matching}/candidates/{applicant_id}/preferences",
            json={"companies": [str(c) for c in ranked]},
            headers=office,
        )
        assert r.status_code == 200, r.text
    for company_id, ranked in (companies or {}).items():
        r = await http.put(
            f"{matching}/companies/{company_id}/preferences",
            json={"candidates": [str(c) for c in ranked]},
            headers=office,
        )
        assert r.status_code == 200, r.text


async def run_round(
    http: httpx.AsyncClient, matching: str, office: dict[str, str], cohort_id: str
) -> dict[str, Any]:
    r = await http.post(f"{matching}/cohorts/{cohort_id}/rounds", headers=office)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def propose(
    http: httpx.AsyncClient,
    matching: str,
    office: dict[str, str],
    applicant_id: Any,
    company_id: Any,
    cohort_id: str,
) -> dict[str, Any]:
    """Both sides list each other only, and a round proposes the pair; the round."""
    await state_lists(
        http, matching, office, {applicant_id: [company_id]}, {company_id: [applicant_id]}
    )
    round_ = await run_round(http, matching, office, cohort_id)
    pairs = {(m["applicant_id"], m["company_id"]) for m in round_["matches"]}
    assert (str(applicant_id), str(company_id)) in pairs, round_
    return round_


async def propose_and_confirm(
    http: httpx.AsyncClient,
    matching: str,
    office: dict[str, str],
    decider: dict[str, str],
    applicant_id: Any,
    company_id: Any,
    cohort_id: str,
) -> dict[str, Any]:
    """A round proposes the pair and the company (or the office, as `decider`) confirms
    it: the match as the confirmation answers it."""
    await propose(http, matching, office, applicant_id, company_id, cohort_id)
    r = await http.post(
        f"{matching}/matches",
        headers=decider,
        json={"applicant_id": str(applicant_id), "company_id": str(company_id)},
    )
    assert r.status_code in (200, 201), r.text
    return r.json()  # type: ignore[no-any-return]
