"""Registration's command line: run the service, or rebuild its read model."""

from __future__ import annotations

from events import topics
from runtime.cli import service_cli
from runtime.rebuild import rebuild_and_close
from runtime.verify import store_verifier
from services.registration.adapters.mail import undeliverable_links
from services.registration.adapters.status_view import StatusProjector
from services.registration.application.publishing import to_integration_event
from services.registration.bootstrap import (
    MESSAGING,
    bootstrap,
    build_application,
    connect_status_view,
)
from services.registration.settings import RegistrationSettings


async def rebuild_status() -> str:
    """Clear the applicant status read model and replay the log into it."""
    settings = RegistrationSettings()
    app = build_application(settings)
    view = await connect_status_view(settings, app.personal)
    return await rebuild_and_close(app, view, StatusProjector, label="applicant_status")


cli = service_cli(
    MESSAGING,
    build=lambda: bootstrap(RegistrationSettings()),
    open_application=lambda: build_application(RegistrationSettings()),
    verify=store_verifier(
        lambda: RegistrationSettings().kafka_bootstrap,
        lambda: build_application(RegistrationSettings()),
        to_integration_event,
        topics.REGISTRATION,
    ),
    serves="the HTTP API, the relay to Kafka, the link mailer and the status projector",
    rebuild_read_models=rebuild_status,
    undeliverable_mail=undeliverable_links,
)
