"""Steps of matching over HTTP, as the office and host companies take them, shared by
the integration and end-to-end tests: register a host company, state both sides' lists,
run a round, and the company's decision on what the round proposed."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from kernel.actor import Actor
from services.matching.application.service import MatchingApplication
from services.matching.domain.company import corporate_number_check_digit
from services.matching.domain.match import Match, match_id_for
from tests.support import IDENTITY


def propose_directly(
    app: MatchingApplication,
    applicant_id: uuid.UUID,
    company_id: uuid.UUID,
    course: str,
    actor: Actor,
    decide_by: datetime | None = None,
) -> None:
    """What a round does for one pair, without the round (rounds have their own tests):
    the candidate proposed to the company, in the store of an application under test."""
    match = app.find(match_id_for(applicant_id), Match)
    proposal: dict[str, Any] = {
        "proposal_id": uuid.uuid4(),
        "round_id": uuid.uuid4(),
        "company_id": company_id,
        "course": course,
        "candidate_rank": 1,
        "company_rank": 1,
        "decide_by": decide_by or datetime.now(UTC),
    }
    if match is None:
        match = Match(
            applicant_id=applicant_id,
            cohort_id="FY2025",
            correlation_id=uuid.uuid4(),
            causation_id=None,
            actor=actor,
            **proposal,
        )
    elif match.pending is None and not match.is_confirmed:
        match.propose_again(correlation_id=uuid.uuid4(), actor=actor, **proposal)
    app.save(match)


def a_corporate_number() -> str:
    base = f"{random.randint(0, 10**12 - 1):012d}"
    return f"{corporate_number_check_digit(base)}{base}"


def a_registration(
    cohort_id: str,
    courses: Sequence[str] = ("A", "B"),
    capacity: int = 1,
    contacts: list[dict[str, Any]] | None = None,
    **plan: Any,
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
        "contacts": contacts or [{"name": "Hanako Kato", "email": "hanako.kato@example.jp"}],
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
    body = a_registration(cohort_id, **registration)
    for _ in range(150):
        r = await http.put(f"{matching}/companies/{company_id}", json=body, headers=office)
        # Matching learns a cohort when registration opens it (another topic, read in
        # its own time): until then a registration for it is refused naming the cohort.
        if r.status_code != 409 or "cohort" not in r.text:
            break
        await asyncio.sleep(0.2)
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


async def match_with_a_host(
    http: httpx.AsyncClient,
    matching: str,
    office: dict[str, str],
    applicant_id: Any,
    cohort_id: str,
    company_id: uuid.UUID | None = None,
    courses: Sequence[str] = ("B",),
) -> tuple[uuid.UUID, dict[str, str], dict[str, Any]]:
    """A host company registered for the cohort, a round that proposes the candidate to
    it, and the company's own user confirming: (company id, its user's headers, the
    match)."""
    company_id = await register_host(http, matching, office, cohort_id, company_id, courses=courses)
    company = {"Authorization": f"Bearer {IDENTITY.company(company_id)}"}
    match = await propose_and_confirm(
        http, matching, office, company, applicant_id, company_id, cohort_id
    )
    return company_id, company, match
