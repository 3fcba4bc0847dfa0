"""The audit's HTTP API, for the auditor role (and the office's admins): histories,
explanations, round re-runs and the state of things as of a moment. Every answer is
read from the log as the audit received it; none holds a personal value.

Errors are JSON naming the field and the reason (`runtime.http`).
"""

# No `from __future__ import annotations` here: FastAPI reads the annotations at runtime.

import uuid
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from pydantic import AwareDatetime, BaseModel, Field

from events.audit import AuditHistory, Explanation, HistoryEvent, RoundRerun
from kernel.rules import NotFound
from runtime.http import ERROR_RESPONSES, build_app, staff_in
from runtime.identity import Gate
from runtime.privacy import PersonalData
from runtime.privacy_api import RecordsOf, subject_records_router
from services.audit.adapters.history_view import HistoryView
from services.audit.application.history import Audit, NotInTheLog
from services.audit.application.service import AuditApplication

#: Who may read the audit.
Auditor = staff_in("auditor", "admin")
CohortId = Annotated[str, Path(pattern=r"^FY\d{4}(-[A-Z0-9]{1,8})?$")]
AsOf = Annotated[
    AwareDatetime | None,
    Query(description="Only what the log held up to then (RFC 3339 with its offset)."),
]


async def _audit(request: Request) -> Audit:
    return Audit(request.app.state.history)


Reader = Annotated[Audit, Depends(_audit)]
router = APIRouter(tags=["audit"], responses=ERROR_RESPONSES)


def _not_found(field: str, error: NotInTheLog) -> NotFound:
    return NotFound(field, str(error))


@router.get(
    "/applicants/{applicant_id}/history",
    response_model=AuditHistory,
    summary="Every event about an applicant from every service, in causal order, each "
    "decision explained (auditor, admin)",
)
async def applicant_history(
    applicant_id: uuid.UUID, audit: Reader, _: Auditor, as_of: AsOf = None
) -> Any:
    try:
        return await audit.history("applicant", applicant_id, as_of=as_of)
    except NotInTheLog as error:
        raise _not_found("applicant_id", error) from None


@router.get(
    "/companies/{company_id}/history",
    response_model=AuditHistory,
    summary="Every event about a host company, in causal order (auditor, admin)",
)
async def company_history(
    company_id: uuid.UUID, audit: Reader, _: Auditor, as_of: AsOf = None
) -> Any:
    try:
        return await audit.history("company", company_id, as_of=as_of)
    except NotInTheLog as error:
        raise _not_found("company_id", error) from None


class ExplainedEvent(BaseModel):
    event: HistoryEvent
    explanation: Explanation | None = Field(description="None: the event decides nothing.")


@router.get(
    "/events/{event_id}/explanation",
    response_model=ExplainedEvent,
    summary="One event and why it was decided as it was (auditor, admin)",
)
async def explain(event_id: uuid.UUID, audit: Reader, _: Auditor) -> Any:
    try:
        event, explanation = await audit.explain_event(event_id)
    except NotInTheLog as error:
        raise _not_found("event_id", error) from None
    return ExplainedEvent(event=event, explanation=explanation)


@router.get(
    "/rounds/{round_id}/rerun",
    response_model=RoundRerun,
    summary="A matching round solved again from its recorded inputs (auditor, admin)",
)
async def rerun(round_id: uuid.UUID, audit: Reader, _: Auditor) -> Any:
    found = await audit.rerun(round_id)
    if found is None:
        raise NotFound("round_id", "the log holds no matching round with this id")
    return found


class QueueAsOf(BaseModel):
    cohort_id: str
    as_of: AwareDatetime | None
    applicants: list[dict[str, Any]] = Field(
        description="Each applicant's last screening step and since when."
    )


@router.get(
    "/cohorts/{cohort_id}/screening-queue",
    response_model=QueueAsOf,
    summary="The screening queue of a cohort as it was at a moment, from the log (auditor, admin)",
)
async def queue(cohort_id: CohortId, audit: Reader, _: Auditor, as_of: AsOf = None) -> Any:
    entries = await audit.screening_queue(cohort_id, as_of)
    return QueueAsOf(cohort_id=cohort_id, as_of=as_of, applicants=[asdict(q) for q in entries])


class BoardAsOf(BaseModel):
    cohort_id: str
    as_of: AwareDatetime | None
    candidates: list[dict[str, Any]]
    companies: list[dict[str, Any]]
    rounds: list[dict[str, Any]]


@router.get(
    "/cohorts/{cohort_id}/board",
    response_model=BoardAsOf,
    summary="The matching board of a cohort as it was at a moment, from the log (auditor, admin)",
)
async def board(cohort_id: CohortId, audit: Reader, _: Auditor, as_of: AsOf = None) -> Any:
    found = await audit.matching_board(cohort_id, as_of)
    return BoardAsOf(
        cohort_id=cohort_id,
        as_of=as_of,
        candidates=[asdict(c) for c in found.candidates.values()],
        companies=[{**asdict(c), "places_open": c.places_open} for c in found.companies.values()],
        rounds=found.rounds,
    )


def records_of(view: HistoryView) -> RecordsOf:
    """What the audit holds on a data subject: its copies of the events about them, as
    published (their personal values sealed, opened by the disclosure)."""

    async def held(subject_id: uuid.UUID) -> dict[str, Any]:
        rows = await view.about_applicant(subject_id) or await view.about_company(subject_id)
        return {"events": [{"where": r.position, "envelope": r.envelope} for r in rows]}

    return held


def build_http_api(
    app: AuditApplication, view: HistoryView, gate: Gate, personal_data: PersonalData
) -> FastAPI:
    return build_app(
        title="JIP audit",
        description="Every event of the Japan Internship Program's log, as received: an "
        "applicant's or a host company's history, explanations of decisions, matching "
        "rounds re-run, and the state of things as of a moment (auditors).",
        routers=[router, subject_records_router("audit", records_of(view), personal_data)],
        gate=gate,
        application=app,
        history=view,
        personal_data=personal_data,
    )
