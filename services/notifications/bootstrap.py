"""Notifications' composition root: the one place that builds the service from its
settings, for production and tests alike. Importing it does no I/O."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from faststream.kafka import KafkaBroker

from events import topics
from runtime.inbox import Inbox, Outcome, ReceivedRecord
from runtime.kafka import document_publications, make_broker, subscribe_inbox
from runtime.mail import retry_schedule, smtp_mailer
from runtime.mail_api import undeliverable_router
from runtime.process import ServiceProcess
from runtime.relay import KafkaRelay, Send
from services.notifications.adapters.http_api import build_http_api
from services.notifications.adapters.mail import NotificationMailer
from services.notifications.application.publishing import to_integration_event
from services.notifications.application.service import CONSUMES, NotificationsApplication
from services.notifications.settings import NotificationsSettings

SERVICE = "notifications"
GROUP_ID = "jip-notifications"
CONSUMED_TOPICS = (topics.REGISTRATION, topics.SCREENING, topics.MATCHING)


def _documentation_only(_: ReceivedRecord) -> Outcome:
    raise RuntimeError("documentation only")


def declare_messaging(
    settings: NotificationsSettings, receive: Callable[[ReceivedRecord], Outcome] | None = None
) -> tuple[KafkaBroker, Send]:
    """What notifications consumes and publishes. No I/O: with `receive` None it is
    also used to generate the AsyncAPI document."""
    broker = make_broker(settings.kafka_bootstrap, service=SERVICE)
    subscribe_inbox(
        broker,
        accepts=CONSUMES,
        receive=receive or _documentation_only,
        topics=CONSUMED_TOPICS,
        group_id=GROUP_ID,
        description="Turns the applicant's milestones (registration, complete documents, "
        "interview results, match) and inquiry answers into e-mails.",
    )
    send = document_publications(
        broker,
        service=SERVICE,
        description="That a message was sent, for which applicant and cause; never the "
        "address or the text. Keyed by notification id.",
    )
    return broker, send


def build_application(settings: NotificationsSettings) -> NotificationsApplication:
    return NotificationsApplication(settings.event_store_env())


async def bootstrap(
    settings: NotificationsSettings | None = None, **overrides: Any
) -> ServiceProcess:
    settings = settings or NotificationsSettings(**overrides)
    # Connecting to PostgreSQL (and creating tables) is blocking: keep it off the loop.
    app = await asyncio.to_thread(build_application, settings)
    inbox = Inbox(app, accepts=CONSUMES)
    broker, send = declare_messaging(settings, receive=inbox.receive)
    mailer = NotificationMailer(
        app,
        smtp_mailer(settings),
        schedule=retry_schedule(settings),
        patience=settings.mail_order_patience,
    )
    followers = [
        KafkaRelay(app, topic=topics.NOTIFICATIONS, translate=to_integration_event, send=send),
        mailer,
    ]
    staff_token = settings.staff_token.get_secret_value()
    http = build_http_api(app, staff_token)
    http.include_router(undeliverable_router(app.undeliverable, staff_token))
    return ServiceProcess(
        name=SERVICE,
        broker=broker,
        followers=followers,
        http=http,
        http_host=settings.http_host,
        http_port=settings.http_port,
        closers=[app.close],
    )
