"""The rights of the privacy policy over HTTP: a request by the applicant themself (their
own access token), or recorded by the privacy officer after checking the requester's
identity; each answered with its outcome. A disclosure is answered with the export of
everything every service holds on the person, opened, gathered here from each service's
`GET /privacy/subjects/{id}/records` (the caller's credentials forwarded)."""

import asyncio
import base64
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any, Literal

import httpx
from fastapi import APIRouter, Header, Request, Response
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, Field

from kernel.actor import Actor
from runtime.http import ERROR_RESPONSES, ErrorResponse, NewFlow, error_answer, staff_in
from services.registration.adapters.document_store import DocumentStore
from services.registration.adapters.http_api.dependencies import App, Applicant, Strict
from services.registration.adapters.status_view import StatusView
from services.registration.application.privacy import PrivacyAnswer
from services.registration.application.service import RegistrationApplication
from services.registration.domain.applicant import Applicant as ApplicantAggregate
from services.registration.domain.privacy import RequestedBy, Right

#: Only the privacy officer records and reads requests made to the office.
PrivacyOfficer = staff_in("privacy_officer")

router = APIRouter(tags=["privacy"], responses=ERROR_RESPONSES)

RecordsOf = Callable[[uuid.UUID], Awaitable[dict[str, Any]]]


async def registration_records(
    app: RegistrationApplication,
    documents: DocumentStore,
    view: StatusView,
    subject_id: uuid.UUID,
) -> dict[str, Any]:
    """What registration holds on a subject, sealed values still sealed: the events of
    their application (or inquiry) and privacy requests, their status page's row, and
    their documents' contents (decrypted: the export is theirs)."""

    def held() -> dict[str, Any]:
        records = app.records_of(subject_id)
        applicant = app.find(subject_id, ApplicantAggregate)
        records["documents"] = [
            {
                "document_id": d["document_id"],
                "kind": d["kind"],
                "filename": d["filename"],
                "content_base64": None if content is None else base64.b64encode(content).decode(),
            }
            for d in (applicant.documents if applicant is not None else [])
            for content in [documents.read(subject_id, d["document_id"])]
        ]
        return records

    records = await asyncio.to_thread(held)
    records["status_page"] = await view.get_sealed(subject_id)
    return records


class PeerUnavailable(Exception):
    def __init__(self, service: str) -> None:
        super().__init__(f"{service} did not give its part of the disclosure")
        self.service = service


class Disclosure:
    """Gathers a subject's export from registration and every peer service; all or
    nothing (an export that silently lacks a service would mislead its reader)."""

    def __init__(
        self,
        app: RegistrationApplication,
        own_records: RecordsOf,
        peers: Mapping[str, str],
        timeout: float,
    ) -> None:
        self.app = app
        self.own_records = own_records
        self.peers = dict(peers)
        self.timeout = timeout

    async def export(self, subject_id: uuid.UUID, authorization: str | None) -> dict[str, Any]:
        held = jsonable_encoder(await self.own_records(subject_id))
        own = {
            "service": "registration",
            "subject_id": str(subject_id),
            "erased": await asyncio.to_thread(self.app.personal.is_erased, subject_id),
            "records": await asyncio.to_thread(self.app.personal.reveal, held),
        }
        headers = {"Authorization": authorization} if authorization else {}
        async with httpx.AsyncClient(timeout=self.timeout, headers=headers) as client:
            parts = await asyncio.gather(
                *[self._part(client, name, url, subject_id) for name, url in self.peers.items()]
            )
        return {
            "subject_id": str(subject_id),
            "services": {"registration": own, **dict(zip(self.peers, parts, strict=True))},
        }

    @staticmethod
    async def _part(
        client: httpx.AsyncClient, service: str, base_url: str, subject_id: uuid.UUID
    ) -> dict[str, Any]:
        url = f"{base_url.rstrip('/')}/privacy/subjects/{subject_id}/records"
        try:
            response = await client.get(url)
        except httpx.HTTPError:
            raise PeerUnavailable(service) from None
        if response.status_code != 200:
            raise PeerUnavailable(service)
        part: dict[str, Any] = response.json()
        return part


class RequestBody(Strict):
    right: Right
    details: str | None = Field(
        default=None,
        min_length=1,
        max_length=2000,
        description="For an amendment or an addition: what to change or add, in the "
        "requester's words (recorded sealed).",
    )


class OfficerRequestBody(RequestBody):
    identity_check: str = Field(
        min_length=1,
        max_length=200,
        description="How the requester's identity was checked (e.g. 'passport seen at the "
        "office'), never the identity document's data.",
    )


class Refusal(Strict):
    reason: str = Field(min_length=1, max_length=200, description="Why (no personal data).")


class PrivacyAnswerView(BaseModel):
    request_id: uuid.UUID
    subject_id: uuid.UUID
    right: str
    outcome: Literal["done", "refused", "pending"] = Field(
        description="pending: an amendment or addition the office will make (answered then)."
    )
    outcome_reason: str | None
    export: dict[str, Any] | None = Field(
        default=None, description="A disclosure's export: each service's records, opened."
    )


class PrivacyRequestView(BaseModel):
    request_id: uuid.UUID
    subject_id: uuid.UUID
    subject_kind: str
    right: str
    requested_by: str
    identity_check: str | None
    details: str | None = Field(description="What the requester asked to amend or add.")
    outcome: str | None
    outcome_reason: str | None


def _view(answer: PrivacyAnswer, export: dict[str, Any] | None = None) -> PrivacyAnswerView:
    return PrivacyAnswerView(
        request_id=answer.request_id,
        subject_id=answer.subject_id,
        right=answer.right,
        outcome=answer.outcome,
        outcome_reason=answer.outcome_reason,
        export=export,
    )


async def _answer(
    request: Request,
    response: Response,
    app: RegistrationApplication,
    subject_id: uuid.UUID,
    body: RequestBody,
    requested_by: RequestedBy,
    identity_check: str | None,
    actor: Actor,
    cid: uuid.UUID,
    authorization: str | None,
) -> Any:
    if body.right != "disclosure":
        answer = await asyncio.to_thread(
            app.make_privacy_request,
            subject_id,
            body.right,
            requested_by,
            identity_check,
            body.details,
            actor,
            cid,
        )
        response.status_code = 202 if answer.outcome == "pending" else 200
        return _view(answer)
    await asyncio.to_thread(app.check_privacy_request, subject_id, requested_by, identity_check)
    disclosure: Disclosure = request.app.state.disclosure
    try:
        export = await disclosure.export(subject_id, authorization)
    except PeerUnavailable as missing:
        reason = f"{missing.service} did not give its part; ask again later"
        await asyncio.to_thread(
            app.record_disclosure, subject_id, requested_by, identity_check, reason, actor, cid
        )
        return error_answer(503, reason, [{"field": missing.service, "reason": reason}])
    answer = await asyncio.to_thread(
        app.record_disclosure, subject_id, requested_by, identity_check, None, actor, cid
    )
    return _view(answer, export)


UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    202: {"model": PrivacyAnswerView, "description": "Recorded; the office will answer it."},
    503: {
        "model": ErrorResponse,
        "description": "A disclosure could not be complete: a service (named) did not answer.",
    },
}


@router.post(
    "/privacy/requests",
    response_model=PrivacyAnswerView,
    responses=UNAVAILABLE,
    summary="Exercise a right of the privacy policy on one's own application (applicant)",
)
async def request_as_applicant(
    body: RequestBody,
    request: Request,
    response: Response,
    app: App,
    applicant: Applicant,
    cid: NewFlow,
    authorization: Annotated[str | None, Header()] = None,
) -> Any:
    subject_id = uuid.UUID(applicant["id"])
    return await _answer(
        request, response, app, subject_id, body, "subject", None, applicant, cid, authorization
    )


@router.post(
    "/privacy/subjects/{subject_id}/requests",
    response_model=PrivacyAnswerView,
    responses=UNAVAILABLE,
    summary="Record and carry out a data subject's request made to the office, after "
    "checking their identity (privacy officer)",
)
async def request_at_the_office(
    subject_id: uuid.UUID,
    body: OfficerRequestBody,
    request: Request,
    response: Response,
    app: App,
    officer: PrivacyOfficer,
    cid: NewFlow,
    authorization: Annotated[str | None, Header()] = None,
) -> Any:
    return await _answer(
        request,
        response,
        app,
        subject_id,
        body,
        "privacy_officer",
        body.identity_check,
        officer,
        cid,
        authorization,
    )


@router.get(
    "/privacy/requests/{request_id}",
    response_model=PrivacyRequestView,
    summary="A privacy request and what it asks, opened (privacy officer)",
)
async def read_request(request_id: uuid.UUID, app: App, officer: PrivacyOfficer) -> Any:
    found = await asyncio.to_thread(app.get_privacy_request, request_id)
    details = (
        None
        if found.details is None
        else await asyncio.to_thread(app.personal.unseal, found.details)
    )
    return PrivacyRequestView(
        request_id=request_id,
        subject_id=found.subject_id,
        subject_kind=found.subject_kind,
        right=found.right,
        requested_by=found.requested_by,
        identity_check=found.identity_check,
        details=details,
        outcome=found.outcome,
        outcome_reason=found.outcome_reason,
    )


@router.post(
    "/privacy/requests/{request_id}/refusal",
    response_model=PrivacyAnswerView,
    summary="Refuse a pending amendment or addition, saying why (privacy officer)",
)
async def refuse(
    request_id: uuid.UUID, body: Refusal, app: App, officer: PrivacyOfficer, cid: NewFlow
) -> Any:
    answer = await asyncio.to_thread(
        app.refuse_privacy_request, request_id, body.reason, officer, cid
    )
    return _view(answer)
