"""The applicant's documents: uploaded as multipart, one part per document kind."""

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, UploadFile
from pydantic import BaseModel, Field
from starlette.datastructures import Headers
from starlette.formparsers import MultiPartParser
from starlette.types import ASGIApp, Receive, Scope, Send

from kernel.rules import RuleViolation
from runtime.http import ERROR_RESPONSES, ErrorResponse, NewFlow, error_answer
from services.registration.adapters.document_store import DocumentStore
from services.registration.adapters.http_api.dependencies import (
    App,
    Applicant,
    ApplicantId,
    Documents,
)

router = APIRouter(responses=ERROR_RESPONSES)
UPLOAD_PATH = "/applicants/me/documents"


class DocumentView(BaseModel):
    kind: str
    filename: str
    sha256: str
    submitted_at: datetime


class DocumentsResponse(BaseModel):
    recorded: list[DocumentView] = Field(description="Documents new in this submission.")
    outstanding_documents: list[str]


def max_upload_bytes(store: DocumentStore) -> int:
    # Five documents at most per request, plus room for the multipart framing.
    return 5 * store.max_bytes + 64 * 1024


def keep_uploads_in_memory(store: DocumentStore) -> None:
    """Starlette spools an uploaded part larger than 1 MiB to a temporary file on disk,
    in clear, until the request ends, and a document is encrypted only once read whole:
    the applicant's document would sit unencrypted in /tmp. Every request that passes
    `RefuseOversizedUploads` is kept in memory instead. (A class attribute of
    Starlette's parser, so process-wide: registration runs as its own process.)"""
    MultiPartParser.spool_max_size = max(MultiPartParser.spool_max_size, max_upload_bytes(store))


class RefuseOversizedUploads:
    """Refuse an upload that announces more than five documents' worth of bytes before
    reading it: the framework would otherwise spool all of it to disk first. (Each file
    is also checked against the per-document limit as it is stored.)

    A plain ASGI middleware rather than `@app.middleware("http")`: Starlette runs the
    latter through `BaseHTTPMiddleware`, which starts an anyio task group and streams
    every response through memory channels, on every request of every path (measured
    in bench/: a visible share of the CPU of a pre-registration)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == UPLOAD_PATH:
            length = Headers(scope=scope).get("content-length", "")
            if length.isdigit() and int(length) > self.limit:
                reason = f"a submission may carry at most {self.limit} bytes"
                answer = error_answer(413, reason, [{"field": "files", "reason": reason}])
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)


@router.post(
    UPLOAD_PATH,
    status_code=201,
    response_model=DocumentsResponse,
    responses={413: {"model": ErrorResponse, "description": "The upload is too large."}},
    summary="Upload documents (multipart; one part per document kind)",
)
async def submit_documents(
    app: App,
    store: Documents,
    applicant: Applicant,
    applicant_id: ApplicantId,
    cid: NewFlow,
    certificate_of_enrollment: Annotated[UploadFile | None, File()] = None,
    certificate_of_graduation: Annotated[UploadFile | None, File()] = None,
    language_score_certificate: Annotated[UploadFile | None, File()] = None,
    letter_of_recommendation: Annotated[UploadFile | None, File()] = None,
    resume: Annotated[UploadFile | None, File()] = None,
) -> Any:
    uploads: dict[str, UploadFile | None] = {
        "certificate_of_enrollment": certificate_of_enrollment,
        "certificate_of_graduation": certificate_of_graduation,
        "language_score_certificate": language_score_certificate,
        "letter_of_recommendation": letter_of_recommendation,
        "resume": resume,
    }
    present = {kind: f for kind, f in uploads.items() if f is not None}
    if not present:
        raise RuleViolation("files", "attach at least one document, as a part named by its kind")
    await asyncio.to_thread(app.get_applicant, applicant_id)
    # The files stay under temporary names until the event that refers to them is
    # saved; any refusal on the way removes them.
    with store.submission(applicant_id) as submission:
        for kind, upload in present.items():
            await asyncio.to_thread(submission.add, kind, upload.filename or "", upload.file)
        documents = [d.as_event_data() for d in submission.documents]
        recorded, new = await asyncio.to_thread(
            app.submit_documents, applicant_id, documents, applicant, cid
        )
        await asyncio.to_thread(submission.keep)
    now = datetime.now().astimezone()
    return DocumentsResponse(
        recorded=[
            DocumentView(
                kind=d["kind"], filename=d["filename"], sha256=d["sha256"], submitted_at=now
            )
            for d in new
        ],
        outstanding_documents=recorded.outstanding_documents(),
    )
