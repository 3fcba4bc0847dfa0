"""Screening's composition root: the one place that builds the service from its
settings, for production and tests alike. Importing it does no I/O."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from faststream.kafka import KafkaBroker

from events import topics
from runtime.inbox import Inbox, Outcome, ReceivedRecord
from runtime.kafka import document_publications, make_broker, subscribe_inbox
from runtime.process import ServiceProcess
from runtime.relay import KafkaRelay, Send
from services.screening.adapters.http_api import build_http_api
from services.screening.application.publishing import to_integration_event
from services.screening.application.service import ScreeningApplication
from services.screening.settings import ScreeningSettings

SERVICE = "screening"
CONSUMER_GROUP = "jip-screening"


def _documentation_only(record: ReceivedRecord) -> Outcome:
    raise RuntimeError("documentation only")


def declare_messaging(
    settings: ScreeningSettings, receive: Callable[[ReceivedRecord], Outcome] | None = None
) -> tuple[KafkaBroker, Send]:
    """What screening consumes and publishes. No I/O: also used, without `receive`, to
    generate the AsyncAPI document."""
    broker = make_broker(settings.kafka_bootstrap, service=SERVICE)
    subscribe_inbox(
        broker,
        accepts=ScreeningApplication.CONSUMES,
        receive=receive or _documentation_only,
        topics=(topics.REGISTRATION,),
        group_id=CONSUMER_GROUP,
        description="Opens a screening case for each registered applicant, records their "
        "documents and amendments, and adopts each cohort's eligibility rules.",
    )
    send = document_publications(
        broker,
        service=SERVICE,
        description="Screening of registered applicants: cases opened and interview "
        "results. Keyed by applicant id (the case id).",
    )
    return broker, send


def build_application(settings: ScreeningSettings) -> ScreeningApplication:
    return ScreeningApplication(settings.event_store_env())


async def bootstrap(settings: ScreeningSettings | None = None, **overrides: Any) -> ServiceProcess:
    settings = settings or ScreeningSettings(**overrides)
    app = build_application(settings)
    inbox = Inbox(app, accepts=ScreeningApplication.CONSUMES)
    broker, send = declare_messaging(settings, receive=inbox.receive)
    return ServiceProcess(
        name=SERVICE,
        broker=broker,
        followers=[
            KafkaRelay(app, topic=topics.SCREENING, translate=to_integration_event, send=send)
        ],
        http=build_http_api(app, settings.staff_token.get_secret_value()),
        http_host=settings.http_host,
        http_port=settings.http_port,
        http_keep_alive_seconds=settings.http_keep_alive_seconds,
        closers=[app.close],
    )
