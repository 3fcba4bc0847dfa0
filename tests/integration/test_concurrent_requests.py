"""An identical request sent many times at once (a client retrying, a double click, a
load balancer replaying) is never a conflict: on the real registration service, every
copy succeeds with the same answer, and the log holds the event once."""

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import psycopg
import pytest

from infra import InfraSettings
from runtime.process import ServiceProcess
from services.registration.bootstrap import bootstrap
from tests.integration.test_registration import (
    PDF,
    STAFF,
    cohort_spec,
    fresh_cohort_id,
    inquiry_form,
    registration_form,
)
from tests.support import (
    Mailbox,
    body_of,
    database_of,
    registration_settings,
    running,
)

COPIES = 20


@pytest.fixture(scope="module")
async def base_url(infra: InfraSettings, tmp_path_factory) -> AsyncIterator[str]:
    settings = registration_settings(infra, tmp_path_factory.mktemp("documents"))
    process: ServiceProcess = await bootstrap(settings)
    async with running(process) as url:
        yield url


@pytest.fixture
async def client(base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    # One connection per copy, so the copies really arrive together.
    limits = httpx.Limits(max_connections=COPIES)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as c:
        yield c


def stored(infra: InfraSettings, event: str) -> int:
    """How many events of that kind registration's log holds."""
    with psycopg.connect(infra.postgres_dsn(database_of("registration"))) as conn:
        row = conn.execute(
            "SELECT count(*) FROM registration_events WHERE topic LIKE %s", (f"%:{event}",)
        ).fetchone()
    assert row is not None
    return int(row[0])


async def all_at_once(send: Any) -> list[httpx.Response]:
    return await asyncio.gather(*(send() for _ in range(COPIES)))


def answers(responses: list[httpx.Response], *, without: str | None = None) -> set[str]:
    """The distinct (status, body) answers, leaving out a field that says on purpose
    whether this very copy made the change."""
    distinct = set()
    for r in responses:
        body = r.json() if r.content else None
        if isinstance(body, dict) and without is not None:
            body.pop(without, None)
        distinct.add(f"{r.status_code} {body}")
    return distinct


async def test_identical_concurrent_requests_all_succeed_and_record_one_event(
    client, infra, mailbox: Mailbox
):
    # Opening a cohort, twenty times at once.
    cohort_id = fresh_cohort_id()
    before = stored(infra, "Cohort.Opened")
    spec = cohort_spec(cohort_id)
    responses = await all_at_once(lambda: client.post("/cohorts", json=spec, headers=STAFF))
    assert answers(responses, without="opened") == {f"201 {{'cohort_id': '{cohort_id}'}}"}
    assert sum(r.json()["opened"] for r in responses) == 1, "one copy opened it"
    assert stored(infra, "Cohort.Opened") == before + 1

    # Pre-registering one address.
    address = f"applicant-{uuid.uuid4().hex[:10]}@example.org"
    before = stored(infra, "Applicant.Preregistered")
    responses = await all_at_once(
        lambda: client.post(f"/cohorts/{cohort_id}/preregistrations", json={"email": address})
    )
    assert len(answers(responses)) == 1 and responses[0].status_code == 202
    assert stored(infra, "Applicant.Preregistered") == before + 1
    mail = (await mailbox.wait_for(address, "registration link"))[0]
    link = re.search(r"(http://\S+)", body_of(mail))
    assert link is not None
    token = parse_qs(urlparse(link.group(1)).query)["token"][0]

    # Registering through the link.
    before = stored(infra, "Applicant.Registered")
    form = registration_form(token)
    responses = await all_at_once(lambda: client.post("/registrations", json=form))
    # The same answer to each, but for the access token (each of its own, to revoke).
    assert len(answers(responses, without="access_token")) == 1, responses[0].text
    assert responses[0].status_code == 201
    assert stored(infra, "Applicant.Registered") == before + 1
    me = {"Authorization": f"Bearer {responses[0].json()['access_token']}"}

    # Uploading the same document.
    before = stored(infra, "Applicant.DocumentsSubmitted")
    responses = await all_at_once(
        lambda: client.post(
            "/applicants/me/documents",
            headers=me,
            files={"letter_of_recommendation": ("letter.pdf", PDF, "application/pdf")},
        )
    )
    # `recorded` lists what this very copy recorded: the document, in one answer only.
    assert len(answers(responses, without="recorded")) == 1
    assert responses[0].status_code == 201, responses[0].text
    recorded = [d["kind"] for r in responses for d in r.json()["recorded"]]
    assert recorded == ["letter_of_recommendation"]
    assert stored(infra, "Applicant.DocumentsSubmitted") == before + 1

    # Sending the same inquiry.
    before = stored(infra, "Inquiry.Received")
    inquiry = inquiry_form()
    responses = await all_at_once(lambda: client.post("/inquiries", json=inquiry))
    assert len(answers(responses)) == 1 and responses[0].status_code == 202, responses[0].text
    assert stored(infra, "Inquiry.Received") == before + 1
