"""Steps of an applicant's journey that several end-to-end stories take the same way:
a cohort opened by the office, the documents accepted, two interviews passed, and the
office's selection."""

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx

from events import topics
from infra import InfraSettings
from infra.cohorts import preset
from tests.e2e.forms import registration_form
from tests.support import (
    STAFF,
    Mailbox,
    body_of,
    cohort_window,
    eventually,
    fresh_cohort_id,
    wait_for_event,
)


async def open_cohort(
    http: httpx.AsyncClient,
    registration: str,
    *,
    preset_name: str = "fy2025",
    rules: dict[str, Any] | None = None,
    **terms: Any,
) -> str:
    """A new cohort, open now, with one online course B, on the terms of a preset call
    (`rules` and `terms` change some of them); its id."""
    cohort_id = fresh_cohort_id()
    call = preset(preset_name)
    opened = await http.post(
        f"{registration}/cohorts",
        headers=STAFF,
        json={
            **call,
            "cohort_id": cohort_id,
            **cohort_window(),
            "courses": [
                {"code": "B", "name": "Online", "mode": "online", "daily_allowance_yen": 1000}
            ],
            "rules": {**call["rules"], **(rules or {})},
            **terms,
        },
    )
    assert opened.status_code == 201, opened.text
    return cohort_id


#: Scores on the default scorecard that pass a round (15 of 20; pass mark 12).
PASSING = {"motivation": 4, "communication": 4, "language": 3, "fit_with_program": 4}


async def accept_documents(
    http: httpx.AsyncClient, screening: str, applicant_id: str | uuid.UUID
) -> None:
    """Once screening has every document it requires of the applicant, a screener
    accepts each."""

    async def all_received() -> dict[str, Any] | None:
        r = await http.get(f"{screening}/cases/{applicant_id}", headers=STAFF)
        if r.status_code != 200:
            return None
        documents = r.json()["documents"]
        return documents if set(documents["required"]) <= set(documents["received"]) else None

    documents = await eventually(all_received, timeout=60, what="the documents in screening")
    for item in documents["items"]:
        if item["state"] == "awaiting_review":
            r = await http.post(
                f"{screening}/cases/{applicant_id}/documents/{item['document_id']}/review",
                headers=STAFF,
                json={"decision": "accepted"},
            )
            assert r.status_code in (200, 201), r.text


async def pass_both_interviews(
    http: httpx.AsyncClient,
    infra: InfraSettings,
    screening: str,
    applicant_id: str | uuid.UUID,
    headers: dict[str, str],
    *,
    language: str = "japanese",
    interviewer: str = "staff-1",
    stages: tuple[str, ...] = ("first", "second"),
) -> None:
    """Once screening has opened the applicant's case and received their documents, a
    screener accepts the documents and schedules each round (of `stages`) with
    `interviewer`, who (`headers`, or an admin) records passing scores."""
    await wait_for_event(
        infra,
        topics.SCREENING,
        "ScreeningCaseOpened",
        lambda e: e["payload"]["applicant_id"] == str(applicant_id),
        timeout=60,
    )
    await accept_documents(http, screening, applicant_id)
    for stage in stages:
        now = datetime.now(UTC)
        r = await http.post(
            f"{screening}/cases/{applicant_id}/interviews",
            headers=STAFF,
            json={
                "stage": stage,
                "slot": {
                    "scheduled_at": (now - timedelta(minutes=30)).isoformat(),
                    "duration_minutes": 30,
                    "interviewer": interviewer,
                    "language": language,
                    "mode": "online",
                },
            },
        )
        assert r.status_code in (200, 201), r.text
        r = await http.post(
            f"{screening}/cases/{applicant_id}/interviews/{r.json()['interview_id']}/result",
            headers=headers,
            json={"interviewed_at": now.isoformat(), "scores": PASSING},
        )
        assert r.status_code in (200, 201), r.text


async def select(http: httpx.AsyncClient, screening: str, applicant_id: str | uuid.UUID) -> None:
    """The office selects the candidate who passed both rounds: they enter matching's
    pool."""
    r = await http.post(f"{screening}/cases/{applicant_id}/selection", headers=STAFF, json={})
    assert r.status_code in (200, 201), r.text


async def screen_and_select(
    http: httpx.AsyncClient,
    infra: InfraSettings,
    screening: str,
    applicant_id: str | uuid.UUID,
    headers: dict[str, str],
    *,
    language: str = "japanese",
    interviewer: str = "staff-1",
) -> None:
    """Documents accepted, both rounds passed (`headers`: those of `interviewer`, or
    an admin's), then the office's selection."""
    await pass_both_interviews(
        http, infra, screening, applicant_id, headers, language=language, interviewer=interviewer
    )
    await select(http, screening, applicant_id)


async def sign_every_agreement(
    http: httpx.AsyncClient,
    matching: str,
    match_id: str,
    signers: dict[str, dict[str, str]],
) -> list[dict[str, Any]]:
    """Each party signs each of the match's agreements it is party to, with its own
    access (`signers`: party -> its Authorization header): the intern, the company's
    user, the office. Returns the agreements as the office then reads them."""
    office = signers["office"]

    async def drawn_up() -> dict[str, Any] | None:
        # The agreements follow from the course, which matching learns from the
        # cohort's opening (another topic, read in its own time).
        match = (await http.get(f"{matching}/matches/{match_id}", headers=office)).json()
        return match if match["agreement_structure"] else None

    match = await eventually(drawn_up, what="the match's agreements drawn up")
    for agreement in match["agreements"]:
        url = f"{matching}/matches/{match_id}/agreements/{agreement['agreement_id']}/signatures"
        for party in agreement["parties"]:
            r = await http.post(url, json={"party": party}, headers=signers[party])
            assert r.status_code == 201, r.text
    signed = (await http.get(f"{matching}/matches/{match_id}", headers=office)).json()
    return signed["agreements"]  # type: ignore[no-any-return]


async def register_with_token(
    http: httpx.AsyncClient, registration: str, mailbox: Mailbox, cohort_id: str, **changes: Any
) -> tuple[str, str, dict[str, str]]:
    """As `register`, with the applicant's own headers."""
    address = f"case-{uuid.uuid4().hex[:10]}@example.org"
    r = await http.post(
        f"{registration}/cohorts/{cohort_id}/preregistrations", json={"email": address}
    )
    assert r.status_code == 202, r.text
    mail = (await mailbox.wait_for(address, "registration link", timeout=60))[0]
    link = re.search(r"(http://\S+)", body_of(mail)).group(1)
    token = parse_qs(urlparse(link).query)["token"][0]
    r = await http.post(
        f"{registration}/registrations", json={**registration_form(token), **changes}
    )
    assert r.status_code == 201, r.text
    me = {"Authorization": f"Bearer {r.json()['access_token']}"}
    return r.json()["applicant_id"], address, me
