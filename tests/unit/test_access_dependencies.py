"""The access dependencies every router declares its rule with (runtime/http.py), on a
small API of their own: who gets through, and that refusals all look alike."""

import uuid
from datetime import timedelta

import httpx
import pytest
from fastapi import APIRouter

from runtime.http import (
    Applicant,
    Staff,
    applicant_or_staff_in,
    build_app,
    company_or_staff_in,
    require_own_company,
    staff_in,
)
from runtime.identity import (
    OFFICE_ISSUER,
    REGISTRATION_ISSUER,
    Gate,
    RevocationList,
    TokenIssuer,
    Trust,
)
from runtime.identity.tokens import new_signing_key, trust_entry

office = TokenIssuer(OFFICE_ISSUER, new_signing_key())
registration = TokenIssuer(REGISTRATION_ISSUER, new_signing_key())
gate = Gate(
    Trust.from_document(
        {
            "issuers": [
                trust_entry(OFFICE_ISSUER, ["staff", "company"], [office.jwk]),
                trust_entry(REGISTRATION_ISSUER, ["applicant"], [registration.jwk]),
            ]
        }
    ),
    RevocationList(None),  # no store: revocation is the integration tests' subject
)
router = APIRouter()
Amender = staff_in("screener", "admin")
OwnOrOfficer = applicant_or_staff_in("privacy_officer")
Decider = company_or_staff_in("matcher")


@router.get("/any-staff")
async def any_staff(who: Staff) -> dict[str, str]:
    return dict(who)


@router.post("/amend")
async def amend(who: Amender) -> dict[str, str]:
    return dict(who)


@router.get("/applicants/{applicant_id}/export")
async def export(applicant_id: uuid.UUID, who: OwnOrOfficer) -> dict[str, str]:
    return dict(who)


@router.get("/me")
async def me(who: Applicant) -> dict[str, str]:
    return dict(who)


@router.post("/companies/{company_id}/decisions")
async def decide(company_id: uuid.UUID, who: Decider) -> dict[str, str]:
    require_own_company(who, company_id)
    return dict(who)


api = build_app(title="t", description="t", routers=[router], gate=gate)
APPLICANT, OTHER, COMPANY = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
HOUR = timedelta(hours=1)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def staff(role: str) -> dict[str, str]:
    return bearer(office.issue("staff", f"s-{role}", HOUR, role=role).token)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("GET", "/any-staff", staff("auditor"), 200),
        (
            "GET",
            "/any-staff",
            bearer(registration.issue("applicant", str(APPLICANT), HOUR).token),
            403,
        ),
        ("GET", "/any-staff", {}, 401),
        ("POST", "/amend", staff("screener"), 200),
        ("POST", "/amend", staff("auditor"), 403),
        (
            "GET",
            f"/applicants/{APPLICANT}/export",
            bearer(registration.issue("applicant", str(APPLICANT), HOUR).token),
            200,
        ),
        (
            "GET",
            f"/applicants/{APPLICANT}/export",
            bearer(registration.issue("applicant", str(OTHER), HOUR).token),
            403,
        ),
        ("GET", f"/applicants/{APPLICANT}/export", staff("privacy_officer"), 200),
        ("GET", f"/applicants/{APPLICANT}/export", staff("admin"), 403),
        ("GET", "/me", bearer(registration.issue("applicant", str(OTHER), HOUR).token), 200),
        ("GET", "/me", staff("admin"), 403),
        (
            "POST",
            f"/companies/{COMPANY}/decisions",
            bearer(office.issue("company", "u", HOUR, company_id=COMPANY).token),
            200,
        ),
        (
            "POST",
            f"/companies/{COMPANY}/decisions",
            bearer(office.issue("company", "u", HOUR, company_id=OTHER).token),
            403,
        ),
        ("POST", f"/companies/{COMPANY}/decisions", staff("matcher"), 200),
        ("POST", f"/companies/{COMPANY}/decisions", staff("screener"), 403),
    ],
)
async def test_each_dependency_admits_exactly_its_callers(method, path, headers, status):
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api), base_url="http://t"
    ) as http:
        answer = await http.request(method, path, headers=headers)
    assert answer.status_code == status, answer.text
    if status == 403:
        assert answer.json()["detail"] == "Not allowed."
    if status == 401:
        assert answer.headers["WWW-Authenticate"] == "Bearer"


async def test_the_actor_is_the_one_the_token_names():
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api), base_url="http://t"
    ) as http:
        answer = await http.get(f"/applicants/{APPLICANT}/export", headers=staff("privacy_officer"))
    assert answer.json() == {"kind": "staff", "id": "s-privacy_officer", "role": "privacy_officer"}
