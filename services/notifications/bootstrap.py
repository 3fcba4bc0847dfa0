"""Notifications' composition root: the one place that builds the service from its
settings, for production and tests alike. Importing it does no I/O."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from events import topics
from runtime.bootstrap import Messaging, service_process
from runtime.identity.gate import gate_for
from runtime.mail import retry_schedule, smtp_mailer
from runtime.mail_api import undeliverable_router
from runtime.privacy import PersonalData
from runtime.process import ServiceProcess
from runtime.read_model import read_model_pool
from services.notifications.adapters.http_api import build_http_api
from services.notifications.adapters.mail import NotificationMailer
from services.notifications.adapters.view import NotificationsView, ViewProjector
from services.notifications.application.publishing import to_integration_event
from services.notifications.application.service import NotificationsApplication
from services.notifications.domain.notification import ResendLimit
from services.notifications.settings import NotificationsSettings

MESSAGING = Messaging(
    service="notifications",
    application=NotificationsApplication,
    consumes=(topics.REGISTRATION, topics.SCREENING, topics.MATCHING),
    consumes_description="Turns the applicant's milestones (registration, eligibility, "
    "documents requested, accepted, rejected or complete, interview invitations and "
    "results, rejections, selection, amendments, privacy requests, proposal, match, "
    "agreements), host companies' (registration accepted or refused, candidates "
    "proposed, a reminder to decide, match, agreements) and inquiry answers into "
    "e-mails in each reader's language, in the order of their path; withholds them "
    "while a person's use is suspended and forgets an erased person.",
    publishes="That a message was sent, or could not be delivered for good, for which "
    "applicant or company and cause; never the address or the text. Keyed by "
    "notification id.",
)


def build_application(
    settings: NotificationsSettings, personal_data: PersonalData | None = None
) -> NotificationsApplication:
    """The application; `personal_data` is the service's key store client (its own
    when not given, e.g. for the command line)."""
    return NotificationsApplication(
        settings.event_store_env(),
        personal_data=personal_data or settings.personal_data(),
        resend_limit=ResendLimit(resends=settings.resends_per_day, per=timedelta(hours=24)),
    )


async def connect_view(settings: NotificationsSettings) -> NotificationsView:
    """The office's view of the notifications (a read model in the service's database)."""
    pool = await read_model_pool(settings)
    view = NotificationsView(pool)
    await view.create()
    return view


async def bootstrap(
    settings: NotificationsSettings | None = None, **overrides: Any
) -> ServiceProcess:
    settings = settings or NotificationsSettings(**overrides)
    # Connecting to PostgreSQL (and creating tables) is blocking: keep it off the loop.
    # The key store client opens the sealed address and names when a mail is written.
    personal_data = settings.personal_data()
    app = await asyncio.to_thread(build_application, settings, personal_data)
    mailer = NotificationMailer(
        app,
        smtp_mailer(settings),
        schedule=retry_schedule(settings),
        patience=settings.mail_order_patience,
    )
    view = await connect_view(settings)
    http = build_http_api(app, await asyncio.to_thread(gate_for, settings), personal_data)
    http.state.notifications_view = view
    http.include_router(undeliverable_router(app.undeliverable))
    return service_process(
        settings,
        MESSAGING,
        app,
        translate=to_integration_event,
        http=http,
        followers=[mailer, ViewProjector(app, view)],
        closers=[view.pool.close, personal_data.close],
    )
