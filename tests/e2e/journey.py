"""Steps of an applicant's journey that several end-to-end stories take the same way:
a cohort opened by the office, and two interviews passed."""

import uuid
from datetime import UTC, datetime

import httpx

from events import topics
from infra import InfraSettings
from infra.cohorts import preset
from tests.support import STAFF, cohort_window, fresh_cohort_id, wait_for_event


async def open_cohort(http: httpx.AsyncClient, registration: str) -> str:
    """A new cohort, open now, with one online course B; its id."""
    cohort_id = fresh_cohort_id()
    opened = await http.post(
        f"{registration}/cohorts",
        headers=STAFF,
        json={
            **preset("fy2025"),
            "cohort_id": cohort_id,
            **cohort_window(),
            "courses": [
                {"code": "B", "name": "Online", "mode": "online", "daily_allowance_yen": 1000}
            ],
        },
    )
    assert opened.status_code == 201, opened.text
    return cohort_id


async def pass_both_interviews(
    http: httpx.AsyncClient,
    infra: InfraSettings,
    screening: str,
    applicant_id: str | uuid.UUID,
    headers: dict[str, str],
    *,
    language: str = "japanese",
) -> None:
    """Once screening has opened the applicant's case, the office records the first
    and the second interview as passed."""
    await wait_for_event(
        infra,
        topics.SCREENING,
        "ScreeningCaseOpened",
        lambda e: e["payload"]["applicant_id"] == str(applicant_id),
        timeout=60,
    )
    for stage in ("first", "second"):
        r = await http.post(
            f"{screening}/cases/{applicant_id}/interviews",
            headers=headers,
            json={
                "stage": stage,
                "language": language,
                "passed": True,
                "interviewer": "staff-1",
                "interviewed_at": datetime.now(UTC).isoformat(),
            },
        )
        assert r.status_code in (200, 201), r.text
