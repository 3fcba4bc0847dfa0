"""The applicant's documents: uploaded as multipart, one part per document kind."""

import asyncio
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Response, UploadFile
from pydantic import BaseModel, Field
from starlette.datastructures import Headers
from starlette.formparsers import MultiPartParser
from starlette.types import ASGIApp, Receive, Scope, Send

from kernel.rules import NotFound, RuleViolation
from runtime.http import ERROR_RESPONSES, ErrorResponse, NewFlow, error_answer, staff_in
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


#: Who may open an applicant's documents: the staff who review them (screener, admin)
#: and the auditor, who checks a review against the document it judged. Interviewers,
#: matchers and the privacy officer have no need of them (the privacy officer discloses
#: through the privacy requests).
DocumentReader = staff_in("screener", "admin", "auditor")
_EXTENSIONS = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}


@router.get(
    "/applicants/{applicant_id}/documents/{document_id}",
    response_class=Response,
    summary="Download a submitted document (screener, admin, auditor)",
    responses={
        200: {
            "content": {t: {} for t in _EXTENSIONS},
            "description": "The document as uploaded, decrypted.",
        },
        410: {"model": ErrorResponse, "description": "Erased with its applicant, or lost."},
    },
)
async def download_document(
    applicant_id: uuid.UUID,
    document_id: uuid.UUID,
    app: App,
    store: Documents,
    _: DocumentReader,
) -> Response:
    def read() -> tuple[str | None, bytes | None]:
        applicant = app.get_applicant(applicant_id)
        if applicant.erased:
            return None, None
        document = next(
            (d for d in applicant.documents if str(d["document_id"]) == str(document_id)), None
        )
        if document is None:
            raise NotFound("document_id", "this applicant submitted no document of this id")
        return document["content_type"], store.read(applicant_id, document_id)

    content_type, content = await asyncio.to_thread(read)
    if content_type is None:
        reason = "the applicant was erased: their documents were deleted"
        return error_answer(410, reason, [{"field": "applicant_id", "reason": reason}])
    if content is None:
        # The event names it but its file is gone: a crash between saving the event and
        # putting the file in place (the applicant's next upload of it restores it).
        reason = "the document's file is not kept; ask the applicant to upload it again"
        return error_answer(410, reason, [{"field": "document_id", "reason": reason}])
    name = f"{document_id}{_EXTENSIONS.get(content_type, '')}"
    return Response(
        content,
        media_type=content_type,
        headers={
            # The uploaded file's name often names the person: the id stands for it.
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
