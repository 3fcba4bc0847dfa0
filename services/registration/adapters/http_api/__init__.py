"""Registration's HTTP API: one router per resource, the dependencies they share
(`dependencies.py`), and `build_http_api`, which puts them together with the shared
error answers. Thin: validate, call the application, answer.

Every error is JSON naming the field and the reason, never echoing the input back
(it may be personal data): `{"detail": ..., "errors": [{"field": ..., "reason": ...}]}`.
"""

from fastapi import FastAPI

from runtime.http import build_app
from runtime.identity import Gate
from services.registration.adapters.document_store import DocumentStore
from services.registration.adapters.http_api import (
    amendments,
    cohorts,
    documents,
    inquiries,
    privacy,
    registration,
    status,
)
from services.registration.adapters.status_view import StatusView
from services.registration.application.service import RegistrationApplication


def build_http_api(
    app: RegistrationApplication,
    document_store: DocumentStore,
    status_view: StatusView,
    gate: Gate,
    disclosure: privacy.Disclosure,
) -> FastAPI:
    api = build_app(
        title="JIP registration",
        description="Cohorts, pre-registration, full registration, documents, status, "
        "amendments, inquiries and the rights of the privacy policy of the Japan Internship "
        "Program.",
        routers=[
            cohorts.router,
            registration.router,
            documents.router,
            status.router,
            amendments.router,
            inquiries.router,
            privacy.router,
        ],
        gate=gate,
        application=app,
        documents=document_store,
        status_view=status_view,
        disclosure=disclosure,
    )
    api.add_middleware(
        documents.RefuseOversizedUploads, limit=documents.max_upload_bytes(document_store)
    )
    documents.keep_uploads_in_memory(document_store)
    return api
