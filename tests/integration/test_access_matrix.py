"""The access matrix: every endpoint of every service x every kind of caller, from one
table. A route missing from the table (a new endpoint) fails the test, and so does a row
whose route no longer exists.

Refused callers get 401 (no valid token) or 403 (a valid token that may not do this),
always with the same body, which names no reason and reveals nothing; allowed callers
are not refused (they may still get 404 or 422 for what they asked). The services are
built by their bootstraps on the real stack (PostgreSQL, the revocation store), with the
session's test issuers; their HTTP APIs are called in-process, without their consumers
and followers, which access does not concern (and which would hold many more of the
shared PostgreSQL server's connections).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import routing

from infra import InfraSettings
from kernel import actor as acting
from runtime.http import FORBIDDEN, UNAUTHORIZED
from runtime.identity import OFFICE_ISSUER, TokenIssuer
from runtime.identity.tokens import new_signing_key
from runtime.inbox import Inbox, ReceivedRecord
from services.matching.domain.company import Company, CompanyRegistration, InternshipPlan
from tests import envelopes
from tests.matching_steps import a_corporate_number
from tests.support import (
    IDENTITY,
    eventually,
    registration_settings,
    service_env,
)

ROLES = ("screener", "interviewer", "matcher", "privacy_officer", "auditor", "admin")
#: Callers with a valid token, each refused (403) wherever the table does not name them.
VALID = (*ROLES, "company", "other company", "applicant", "other applicant")
#: Callers without a valid token: refused (401) everywhere but on public endpoints.
INVALID = (
    "no token",
    "malformed token",
    "expired token",
    "revoked token",
    "token of an unknown key",
    "token for another audience",
    "staff token signed by registration",
)
PUBLIC = frozenset((*VALID, *INVALID))


def only(*callers: str) -> frozenset[str]:
    unknown = set(callers) - set(VALID)
    assert not unknown, f"no such caller: {unknown}"
    return frozenset(callers)


@dataclass(frozen=True)
class Row:
    """Who may call one route. `body`: what allowed callers send (a valid request where
    the answer depends on it, e.g. which company a decision is for)."""

    allowed: frozenset[str]
    body: dict[str, Any] | None = field(default=None, hash=False)
    query: dict[str, str] | None = field(default=None, hash=False)


#: (service, method, path) -> who may call it. One row per route; `*` is every service.
#: Path parameters are filled in from `ids` below: `{applicant_id}` is the applicant
#: themself, `{match_id}` a match of "company".
TABLE: dict[tuple[str, str, str], Row] = {
    # -- every service
    ("*", "GET", "/health"): Row(PUBLIC),
    ("*", "GET", "/health/followers"): Row(PUBLIC),
    ("*", "GET", "/openapi.json"): Row(PUBLIC),
    ("*", "GET", "/docs"): Row(PUBLIC),
    ("*", "GET", "/docs/oauth2-redirect"): Row(PUBLIC),
    ("*", "GET", "/redoc"): Row(PUBLIC),
    ("*", "GET", "/privacy/subjects/{subject_id}/records"): Row(
        only("applicant", "privacy_officer")
    ),
    # -- registration
    ("registration", "POST", "/cohorts"): Row(only("admin")),
    # A cohort's terms are public: applicants read them before they apply.
    ("registration", "GET", "/cohorts/{cohort_id}"): Row(PUBLIC),
    ("registration", "POST", "/cohorts/{cohort_id}/rules"): Row(only("admin")),
    ("registration", "POST", "/cohorts/{cohort_id}/preregistrations"): Row(PUBLIC),
    ("registration", "POST", "/cohorts/{cohort_id}/registration-links"): Row(PUBLIC),
    ("registration", "GET", "/registration"): Row(PUBLIC),
    ("registration", "POST", "/registrations"): Row(PUBLIC),
    ("registration", "POST", "/applicants/me/documents"): Row(only("applicant", "other applicant")),
    ("registration", "GET", "/applicants/me/status"): Row(only("applicant", "other applicant")),
    ("registration", "POST", "/applicants/{applicant_id}/amendments"): Row(
        only("screener", "privacy_officer", "admin")
    ),
    ("registration", "GET", "/applicants/{applicant_id}/documents/{document_id}"): Row(
        only("screener", "admin", "auditor")
    ),
    ("registration", "POST", "/inquiries"): Row(PUBLIC),
    ("registration", "POST", "/inquiries/{inquiry_id}/answer"): Row(only("admin")),
    ("registration", "GET", "/mail/undeliverable"): Row(only("admin")),
    ("registration", "POST", "/privacy/requests"): Row(
        only("applicant", "other applicant"), body={"right": "suspension_of_use"}
    ),
    ("registration", "POST", "/privacy/subjects/{subject_id}/requests"): Row(
        only("privacy_officer"),
        body={"right": "stop_third_party_provision", "identity_check": "passport seen"},
    ),
    ("registration", "GET", "/privacy/requests/{request_id}"): Row(only("privacy_officer")),
    ("registration", "POST", "/privacy/requests/{request_id}/refusal"): Row(
        only("privacy_officer"), body={"reason": "not an amendment the office can make"}
    ),
    # -- screening
    ("screening", "POST", "/cases/{applicant_id}/documents/{document_id}/review"): Row(
        only("screener", "admin"), body={"decision": "accepted"}
    ),
    ("screening", "POST", "/cases/{applicant_id}/document-requests"): Row(
        only("screener", "admin"), body={"kind": "resume"}
    ),
    ("screening", "POST", "/cases/{applicant_id}/interviews"): Row(only("screener", "admin")),
    ("screening", "POST", "/cases/{applicant_id}/interviews/{interview_id}/reschedule"): Row(
        only("screener", "admin")
    ),
    ("screening", "POST", "/cases/{applicant_id}/interviews/{interview_id}/cancellation"): Row(
        only("screener", "admin")
    ),
    ("screening", "POST", "/cases/{applicant_id}/interviews/{interview_id}/no-show"): Row(
        only("screener", "interviewer", "admin")
    ),
    ("screening", "POST", "/cases/{applicant_id}/interviews/{interview_id}/result"): Row(
        only("interviewer", "admin")
    ),
    ("screening", "POST", "/cases/{applicant_id}/interviews/{interview_id}/corrections"): Row(
        only("admin")
    ),
    ("screening", "POST", "/cases/{applicant_id}/rejection"): Row(only("screener", "admin")),
    ("screening", "POST", "/cases/{applicant_id}/selection"): Row(only("admin")),
    ("screening", "GET", "/cases/{applicant_id}"): Row(
        only("screener", "interviewer", "admin", "auditor")
    ),
    ("screening", "GET", "/queue"): Row(
        only("screener", "interviewer", "admin", "auditor"),
        query={"cohort_id": "FY2025", "waiting_for": "documents", "limit": "5"},
    ),
    # -- matching
    ("matching", "POST", "/matches"): Row(
        only("matcher", "admin", "company"),
        body={"applicant_id": "{applicant_id}", "company_id": "{company_id}"},
    ),
    ("matching", "POST", "/matches/{match_id}/decision"): Row(
        only("matcher", "admin", "company"), body={"decision": "confirm"}
    ),
    ("matching", "PUT", "/candidates/{applicant_id}/preferences"): Row(
        only("applicant", "matcher", "admin")
    ),
    ("matching", "GET", "/candidates/{applicant_id}/suggested-preferences"): Row(
        only("matcher", "admin")
    ),
    ("matching", "PUT", "/companies/{company_id}/preferences"): Row(
        only("matcher", "admin", "company")
    ),
    ("matching", "POST", "/cohorts/{cohort_id}/rounds"): Row(only("matcher", "admin")),
    ("matching", "GET", "/cohorts/{cohort_id}/board"): Row(only("matcher", "admin", "auditor")),
    # The audit: its auditors (and the office's admins), reading only.
    ("audit", "GET", "/applicants/{applicant_id}/history"): Row(only("auditor", "admin")),
    ("audit", "GET", "/companies/{company_id}/history"): Row(only("auditor", "admin")),
    ("audit", "GET", "/events/{event_id}/explanation"): Row(only("auditor", "admin")),
    ("audit", "GET", "/rounds/{round_id}/rerun"): Row(only("auditor", "admin")),
    ("audit", "GET", "/cohorts/{cohort_id}/screening-queue"): Row(only("auditor", "admin")),
    ("audit", "GET", "/cohorts/{cohort_id}/board"): Row(only("auditor", "admin")),
    ("matching", "GET", "/companies/{company_id}/proposals"): Row(
        only("matcher", "admin", "auditor", "company")
    ),
    ("matching", "GET", "/cohorts/{cohort_id}/rounds/{round_number}"): Row(
        only("matcher", "admin", "auditor")
    ),
    # Each party signs as itself: the office's signature by the office (the intern's and
    # the company's are checked in test_matching).
    ("matching", "POST", "/matches/{match_id}/agreements/{agreement_id}/signatures"): Row(
        only("matcher", "admin"), body={"party": "office"}
    ),
    ("matching", "POST", "/candidates/{applicant_id}/withdrawal"): Row(
        only("applicant", "matcher", "admin")
    ),
    ("matching", "GET", "/candidates/{applicant_id}"): Row(only("matcher", "admin", "auditor")),
    ("matching", "GET", "/matches/{match_id}"): Row(
        only("matcher", "admin", "auditor", "company", "applicant")
    ),
    ("matching", "GET", "/cohorts/{cohort_id}/pool"): Row(
        only("matcher", "admin", "auditor", "company", "other company")
    ),
    ("matching", "PUT", "/companies/{company_id}"): Row(only("matcher", "admin", "company")),
    ("matching", "GET", "/companies/{company_id}"): Row(
        only("matcher", "admin", "auditor", "company")
    ),
    ("matching", "GET", "/cohorts/{cohort_id}/companies"): Row(only("matcher", "admin", "auditor")),
    # -- notifications
    ("notifications", "GET", "/notifications"): Row(
        only("admin", "auditor"), query={"applicant_id": "{applicant_id}"}
    ),
    ("notifications", "POST", "/notifications/{notification_id}/resend"): Row(only("admin")),
    ("notifications", "PUT", "/recipients/{recipient_id}/address"): Row(only("admin")),
    ("notifications", "GET", "/mail/undeliverable"): Row(only("admin")),
}


def routes_of(service: str, api: Any) -> set[tuple[str, str, str]]:
    # FastAPI 0.165 keeps an included router as one lazy `_IncludedRouter` entry of
    # `app.routes`; `iter_route_contexts` is how its own OpenAPI generator walks them.
    found = set()
    for route in routing.iter_route_contexts(api.routes):
        for method in route.methods or ():
            if method != "HEAD" and route.path is not None:
                found.add((service, method, route.path))
    return found


def rule_for(service: str, method: str, path: str) -> Row:
    return TABLE.get((service, method, path)) or TABLE[("*", method, path)]


@dataclass
class Stack:
    apis: dict[str, Any]
    clients: dict[str, httpx.AsyncClient]
    matching: Any


@pytest.fixture(scope="module")
async def stack(
    infra: InfraSettings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    """The five services' HTTP APIs, each as its bootstrap builds it, on the test stack."""
    from services.audit.bootstrap import bootstrap as audit
    from services.audit.settings import AuditSettings
    from services.matching.bootstrap import bootstrap as matching
    from services.matching.settings import MatchingSettings
    from services.notifications.bootstrap import bootstrap as notifications
    from services.notifications.settings import NotificationsSettings
    from services.registration.bootstrap import bootstrap as registration
    from services.screening.bootstrap import bootstrap as screening
    from services.screening.settings import ScreeningSettings

    documents = tmp_path_factory.mktemp("matrix-documents")
    settings = {"registration": registration_settings(infra, documents)}
    for name, kind in (
        ("screening", ScreeningSettings),
        ("matching", MatchingSettings),
        ("notifications", NotificationsSettings),
        ("audit", AuditSettings),
    ):
        with pytest.MonkeyPatch.context() as env:
            for variable, value in service_env(name, infra).items():
                env.setenv(variable, value)
            settings[name] = kind()
    builders = {
        "registration": registration,
        "screening": screening,
        "matching": matching,
        "notifications": notifications,
        "audit": audit,
    }
    processes = {name: await build(settings[name]) for name, build in builders.items()}
    try:
        async with contextlib.AsyncExitStack() as clients:
            yield Stack(
                apis={n: p.http for n, p in processes.items()},
                clients={
                    n: await clients.enter_async_context(
                        httpx.AsyncClient(
                            transport=httpx.ASGITransport(app=p.http),
                            base_url=f"http://{n}",
                            timeout=30,
                        )
                    )
                    for n, p in processes.items()
                },
                matching=processes["matching"].followers[0].app,
            )
    finally:
        for process in processes.values():
            for close in process.closers:
                closed = close()
                if closed is not None:
                    await closed


def in_matching_pool(stack: Stack, applicant_id: uuid.UUID) -> None:
    """Deliver screening's news that the office selected the applicant, as matching's
    inbox receives it (on a topic of this test's own, so no real consumer's position
    moves)."""
    passed = envelopes.candidate_selected(applicant_id)
    offset = time.time_ns() // 1000
    inbox = Inbox(stack.matching, accepts=type(stack.matching).consumed_event_types())
    record = ReceivedRecord("test.access-matrix", 0, offset, passed.model_dump_json().encode())
    assert inbox.receive(record) is not None


def proposed_by_a_round(stack: Stack, applicant_id: uuid.UUID, company_id: uuid.UUID) -> int:
    """A host company registered, both sides listing each other, and a round that
    proposed the applicant to it; the round's number."""
    app = stack.matching
    office = acting.staff("staff-017", role="matcher")
    company = Company(
        company_id=company_id,
        cohort_id="FY2025",
        correlation_id=uuid.uuid4(),
        causation_id=None,
        actor=office,
    )
    company.register(
        CompanyRegistration(
            company_id=company_id,
            cohort_id="FY2025",
            legal_name="Access Matrix KK",
            corporate_number=a_corporate_number(),
            organisation_kind="company",
            industry="other",
            prefecture="tokyo",
            capital_yen=10_000_000,
            regular_employees=10,
            courses=("A", "B"),
            plan=InternshipPlan(content="Anything"),
        ),
        f"sealed:v1:{company_id}:{'A' * 40}",
        False,
        uuid.uuid4(),
        office,
    )
    app.save(company)
    app.state_candidate_preferences(applicant_id, [company_id], "own_choice", office)
    app.state_company_preferences(company_id, [applicant_id], office)
    round_ = app.run_round("FY2025", office)
    assert any(m["applicant_id"] == str(applicant_id) for m in round_.matches)
    return int(round_.round_number)


def callers(now: datetime) -> dict[str, str | None]:
    """Each caller's Authorization header (None: none sent)."""
    own, other = uuid.uuid4(), uuid.uuid4()
    revoked = IDENTITY.office.issue("staff", "revoked-admin", timedelta(hours=1), role="admin")
    IDENTITY.revocations().revoke(revoked.token_id, "access matrix test")
    expired = IDENTITY.office.issue(
        "staff", "late-admin", timedelta(hours=1), role="admin", now=now - timedelta(hours=3)
    )
    stranger = TokenIssuer(OFFICE_ISSUER, new_signing_key())
    elsewhere = TokenIssuer(OFFICE_ISSUER, IDENTITY.office_key, audience="another-system")
    headers: dict[str, str | None] = {
        "no token": None,
        "malformed token": "Bearer not.a.token",
        "expired token": f"Bearer {expired.token}",
        "revoked token": f"Bearer {revoked.token}",
        "token of an unknown key": "Bearer "
        + stranger.issue("staff", "mallory", timedelta(hours=1), role="admin").token,
        "token for another audience": "Bearer "
        + elsewhere.issue("staff", "mallory", timedelta(hours=1), role="admin").token,
        "staff token signed by registration": "Bearer "
        + IDENTITY.registration.issue("staff", "mallory", timedelta(hours=1), role="admin").token,
        "company": f"Bearer {IDENTITY.company(own)}",
        "other company": f"Bearer {IDENTITY.company(other, 'someone-else')}",
        "_company_id": str(own),
    }
    for role in ROLES:
        headers[role] = f"Bearer {IDENTITY.staff(role)}"  # type: ignore[arg-type]
    return headers


async def test_every_endpoint_refuses_every_caller_the_table_does_not_name(stack: Stack) -> None:
    now = datetime.now(UTC)
    tokens = callers(now)
    company_id = str(tokens.pop("_company_id"))
    # the applicant themself: a candidate in matching's pool, matched with "company"
    applicant_id = uuid.uuid4()
    tokens["applicant"] = f"Bearer {IDENTITY.applicant(applicant_id)}"
    tokens["other applicant"] = f"Bearer {IDENTITY.applicant(uuid.uuid4())}"
    matching = stack.clients["matching"]
    await asyncio.to_thread(in_matching_pool, stack, applicant_id)
    round_number = await asyncio.to_thread(
        proposed_by_a_round, stack, applicant_id, uuid.UUID(company_id)
    )
    decision = {"applicant_id": str(applicant_id), "company_id": company_id}
    confirmed = await matching.post(
        "/matches", json=decision, headers={"Authorization": str(tokens["company"])}
    )
    assert confirmed.status_code == 201, confirmed.text
    ids = {
        "applicant_id": str(applicant_id),
        "company_id": company_id,
        "match_id": confirmed.json()["match_id"],
        "agreement_id": str(uuid.uuid4()),
        "cohort_id": "FY2025",
        "round_number": str(round_number),
        "inquiry_id": str(uuid.uuid4()),
        "notification_id": str(uuid.uuid4()),
        "subject_id": str(applicant_id),
        "recipient_id": str(applicant_id),
        "request_id": str(uuid.uuid4()),
        "document_id": str(uuid.uuid4()),
        "interview_id": str(uuid.uuid4()),
        "event_id": str(uuid.uuid4()),
        "round_id": str(uuid.uuid4()),
    }

    # given every route of every service, and the table
    served = set().union(*(routes_of(n, api) for n, api in stack.apis.items()))
    missing = {r for r in served if r not in TABLE and ("*", *r[1:]) not in TABLE}
    assert not missing, f"routes without an access rule in TABLE: {sorted(missing)}"
    stale = {r for r in TABLE if r[0] != "*" and r not in served}
    assert not stale, f"rows of TABLE for routes no service has: {sorted(stale)}"

    # and the auditor reads only: no command admits them
    writes = [k for k, row in TABLE.items() if k[1] != "GET" and row.allowed != PUBLIC]
    assert not [k for k in writes if "auditor" in TABLE[k].allowed]

    # when every caller calls every route
    wrong = []
    for service, method, path in sorted(served):
        row = rule_for(service, method, path)
        url = path.format(**ids)
        body = {k: v.format(**ids) for k, v in (row.body or {}).items()}
        query = {k: v.format(**ids) for k, v in (row.query or {}).items()}
        for caller, authorization in tokens.items():
            sent = {"Authorization": authorization} if authorization else {}
            answer = await stack.clients[service].request(
                method, url, headers=sent, params=query, json=body if method == "POST" else None
            )
            # then the allowed are not refused, and the others get the one answer
            if caller in row.allowed:
                expected = None
            elif caller in INVALID:
                expected = UNAUTHORIZED
            else:
                expected = FORBIDDEN
            if expected is None:
                if answer.status_code in (401, 403):
                    wrong.append(f"{caller} refused on {method} {service}{path}: {answer.text}")
            else:
                status, detail, errors = expected
                if answer.status_code != status or answer.json() != {
                    "detail": detail,
                    "errors": errors,
                }:
                    wrong.append(
                        f"{caller} on {method} {service}{path}: expected {status}, got "
                        f"{answer.status_code} {answer.text[:200]}"
                    )
    assert not wrong, "\n".join(wrong)

    # and the company's user reads their match, and their decision is recorded as theirs
    match = await matching.get(
        f"/matches/{ids['match_id']}",
        headers={"Authorization": str(tokens["company"])},
    )
    assert match.json()["company_id"] == company_id
    stored = stack.matching.events.get(uuid.UUID(ids["match_id"]))
    [confirmed_event] = [e for e in stored if type(e).__name__ == "Confirmed"]
    assert confirmed_event.actor == {
        "kind": "company",
        "id": "hr-manager",
        "company_id": company_id,
    }


async def test_a_company_user_cannot_tell_another_companys_match_from_none(stack: Stack) -> None:
    # given matching running, and a user of a company
    http = stack.clients["matching"]
    user = {"Authorization": f"Bearer {IDENTITY.company(uuid.uuid4())}"}
    # when they ask for a match that does not exist
    answer = await http.get(f"/matches/{uuid.uuid4()}", headers=user)
    # then they are refused exactly as for another company's match, while the office
    # learns that there is none
    assert (answer.status_code, answer.json()["detail"]) == (403, FORBIDDEN[1])
    staff = {"Authorization": f"Bearer {IDENTITY.staff('matcher')}"}
    assert (await http.get(f"/matches/{uuid.uuid4()}", headers=staff)).status_code == 404


async def test_a_revoked_token_is_refused_by_every_service_within_moments(stack: Stack) -> None:
    # given an administrator's token that every service accepts
    issued = IDENTITY.office.issue("staff", "admin-on-leave", timedelta(hours=1), role="admin")
    admin = {"Authorization": f"Bearer {issued.token}"}
    reads = {
        "registration": "/mail/undeliverable",
        "screening": f"/cases/{uuid.uuid4()}",
        "matching": f"/candidates/{uuid.uuid4()}",
        "notifications": f"/notifications?applicant_id={uuid.uuid4()}",
    }
    for service, path in reads.items():
        answer = await stack.clients[service].get(path, headers=admin)
        assert answer.status_code not in (401, 403), (service, answer.text)

    # when the office revokes it
    IDENTITY.revocations().revoke(issued.token_id, "left the program")

    # then each service refuses it as soon as it has read the revocation list again
    for service, path in reads.items():

        async def refused(http: httpx.AsyncClient = stack.clients[service], at: str = path) -> bool:
            return (await http.get(at, headers=admin)).status_code == 401

        await eventually(refused, what=f"{service} to refuse the revoked token")
