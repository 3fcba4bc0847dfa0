"""Registration's composition root: the one place that builds the service from its
settings, for production and tests alike. Importing it does no I/O."""

from __future__ import annotations

import asyncio
from typing import Any

from runtime.bootstrap import Messaging, service_process
from runtime.identity import REGISTRATION_ISSUER, TokenIssuer
from runtime.identity.gate import gate_for
from runtime.identity.tokens import load_signing_key
from runtime.mail import retry_schedule, smtp_mailer
from runtime.mail_api import undeliverable_router
from runtime.privacy import PersonalData
from runtime.privacy_api import subject_records_router
from runtime.process import ServiceProcess
from runtime.read_model import read_model_pool
from services.registration.adapters.document_store import DocumentStore
from services.registration.adapters.http_api import build_http_api
from services.registration.adapters.http_api.privacy import Disclosure, registration_records
from services.registration.adapters.mail import RegistrationLinkMailer, undeliverable_links
from services.registration.adapters.status_view import StatusProjector, StatusView
from services.registration.application.publishing import to_integration_event
from services.registration.application.service import RegistrationApplication
from services.registration.application.tokens import TokenSigner
from services.registration.settings import RegistrationSettings

MESSAGING = Messaging(
    service="registration",
    application=RegistrationApplication,
    publishes="The applicant's intake: cohorts, pre-registration, registration, documents, "
    "amendments and inquiries. Keyed by applicant (or cohort, inquiry) id.",
)


def build_application(settings: RegistrationSettings) -> RegistrationApplication:
    personal_data = settings.personal_data()
    return RegistrationApplication(
        settings.event_store_env(),
        signer=TokenSigner(settings.link_secret_value()),
        applicant_tokens=TokenIssuer(
            REGISTRATION_ISSUER, load_signing_key(settings.applicant_signing_key_pem())
        ),
        applicant_token_valid_for=settings.applicant_token_valid_for,
        personal_data=personal_data,
        pseudonym_secret=settings.pseudonym_secret.get_secret_value().encode(),
        delete_documents=document_store(settings, personal_data).delete_all,
        link_valid_for=settings.link_valid_for,
    )


def document_store(settings: RegistrationSettings, personal_data: PersonalData) -> DocumentStore:
    return DocumentStore(settings.documents_dir, settings.max_document_bytes, personal_data)


async def connect_status_view(
    settings: RegistrationSettings, personal_data: PersonalData
) -> StatusView:
    pool = await read_model_pool(settings)
    view = StatusView(pool, personal_data)
    await view.create()
    return view


async def bootstrap(
    settings: RegistrationSettings | None = None, **overrides: Any
) -> ServiceProcess:
    settings = settings or RegistrationSettings(**overrides)
    app = build_application(settings)
    view = await connect_status_view(settings, app.personal)
    documents = document_store(settings, app.personal)
    http = build_http_api(
        app,
        documents,
        view,
        await asyncio.to_thread(gate_for, settings),
        Disclosure(
            app,
            lambda subject_id: registration_records(app, documents, view, subject_id),
            settings.privacy_peers,
            settings.privacy_peer_timeout,
        ),
    )
    http.include_router(undeliverable_router(lambda: undeliverable_links(app)))
    http.include_router(
        subject_records_router(
            "registration",
            lambda subject_id: registration_records(app, documents, view, subject_id),
            app.personal,
        )
    )
    return service_process(
        settings,
        MESSAGING,
        app,
        translate=to_integration_event,
        http=http,
        followers=[
            RegistrationLinkMailer(
                app,
                smtp_mailer(settings),
                settings.public_base_url,
                schedule=retry_schedule(settings),
            ),
            StatusProjector(app, view),
        ],
        closers=[view.pool.close],
    )
