"""The office's screening queue on the running service: registration's events go in on
Kafka, the queue is read through `GET /queue`, and the operator's rebuild command (its
own process) rebuilds the same queue from the log."""

from __future__ import annotations

import asyncio
import os
import random
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from events import topics
from infra import InfraSettings
from runtime.privacy import PersonalData
from services.screening.adapters.queue_view import QueueView
from services.screening.application.service import ScreeningApplication
from services.screening.bootstrap import bootstrap, build_application, connect_queue_view
from services.screening.settings import ScreeningSettings
from tests import envelopes
from tests.support import STAFF_TOKEN, eventually, publish, running, service_env

COHORT = f"FY{random.randint(5000, 9999)}"
ALL_DOCUMENTS = [
    "certificate_of_graduation",
    "language_score_certificate",
    "letter_of_recommendation",
]


@pytest.fixture(scope="module")
async def queue(
    infra: InfraSettings, producer: AIOKafkaProducer, vault: PersonalData
) -> AsyncIterator[tuple[httpx.AsyncClient, ScreeningApplication, QueueView]]:
    with pytest.MonkeyPatch.context() as env:
        for name, value in service_env("screening", infra).items():
            env.setenv(name, value)
        settings = ScreeningSettings()
    store = build_application(settings)
    view = await connect_queue_view(settings)
    headers = {"Authorization": f"Bearer {STAFF_TOKEN}"}
    try:
        async with (
            running(await bootstrap(settings)) as base_url,
            httpx.AsyncClient(base_url=base_url, headers=headers) as http,
        ):
            await publish(producer, topics.REGISTRATION, envelopes.cohort_opened(COHORT))
            yield http, store, view
    finally:
        await view.pool.close()
        store.close()


async def caught_up(store: ScreeningApplication, view: QueueView) -> bool:
    """The queue has applied everything in screening's log so far."""
    last = await asyncio.to_thread(store.recorder.max_notification_id)
    return await view.position() == last


async def whole_queue(http: httpx.AsyncClient, limit: int) -> list[dict[str, Any]]:
    """Every entry of the cohort, read page by page as the office's screen would."""
    entries: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        params: dict[str, Any] = {"cohort_id": COHORT, "limit": limit}
        if after is not None:
            params["after"] = after
        page = (await http.get("/queue", params=params)).json()
        entries += page["items"]
        after = page["next"]
        if after is None:
            return entries


async def test_the_queue_shows_each_case_and_is_rebuilt_the_same_from_the_log(
    queue, producer: AIOKafkaProducer, vault: PersonalData, infra: InfraSettings
) -> None:
    http, store, view = queue
    # Given a cohort's applicants at different points: registered, with some documents,
    # with all of them, too old for the cohort, and amended.
    applicants = [uuid.uuid4() for _ in range(6)]
    details: list[dict[str, Any]] = [{}, {}, {}, {"date_of_birth": date(1970, 1, 1)}, {}, {}]
    for applicant_id, extra in zip(applicants, details, strict=True):
        await publish(
            producer,
            topics.REGISTRATION,
            envelopes.applicant_registered(applicant_id, cohort_id=COHORT, vault=vault, **extra),
        )
    some, complete, amended = applicants[1], applicants[2], applicants[4]
    await publish(
        producer,
        topics.REGISTRATION,
        envelopes.documents_submitted(some, ALL_DOCUMENTS[:1], ALL_DOCUMENTS[1:], vault=vault),
    )
    await publish(
        producer,
        topics.REGISTRATION,
        envelopes.documents_submitted(complete, ALL_DOCUMENTS, [], vault=vault),
    )
    await publish(
        producer,
        topics.REGISTRATION,
        envelopes.details_amended(amended, {"nationality": "CN"}, vault=vault),
    )

    async def everyone() -> list[dict[str, Any]] | None:
        entries = await whole_queue(http, limit=2)
        ids = {e["applicant_id"] for e in entries}
        done = ids >= {str(a) for a in applicants} and await caught_up(store, view)
        return entries if done else None

    # Then each applicant has one line in the cohort's queue, longest waiting first,
    # read two at a time without a line missed or repeated
    live = await eventually(everyone, what="every applicant in the queue")
    assert len(live) == len({e["applicant_id"] for e in live})
    assert [(e["since"], e["applicant_id"]) for e in live] == sorted(
        (e["since"], e["applicant_id"]) for e in live
    )
    mine = {e["applicant_id"]: e for e in live if e["applicant_id"] in map(str, applicants)}
    assert all(e["cohort_id"] == COHORT and e["version"] >= 1 for e in mine.values())
    # and the office can ask for one step only
    step = mine[str(complete)]["waiting_for"]
    only = (await http.get("/queue", params={"cohort_id": COHORT, "waiting_for": step})).json()
    assert only["items"] and {e["waiting_for"] for e in only["items"]} == {step}
    assert str(complete) in {e["applicant_id"] for e in only["items"]}

    # When the operator rebuilds the queue from the log, as its own process
    rows_before = await view.all_rows()
    env = {**os.environ, **service_env("screening", infra)}
    rebuilt = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "services.screening", "rebuild-read-models"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "rebuilt screening_queue" in rebuilt.stdout
    # (it showed its progress: the log's events read, of all of them)
    assert re.search(r"screening_queue .* (\d+)/\1 events", rebuilt.stderr)

    # Then the rebuilt queue is the live one, row for row (with what it folded)
    await eventually(lambda: caught_up(store, view), what="the rebuilt queue")
    assert await view.all_rows() == rows_before
    assert await whole_queue(http, limit=50) == live


async def test_a_position_the_api_did_not_give_is_refused_naming_the_field(queue) -> None:
    http, _, _ = queue
    answer = await http.get("/queue", params={"after": "yesterday"})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "after"
    answer = await http.get("/queue", params={"waiting_for": "lunch"})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "waiting_for"
