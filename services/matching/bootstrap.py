"""Matching's composition root: the one place that builds the service from its
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
from services.matching.adapters.http_api import build_http_api
from services.matching.application.publishing import to_integration_event
from services.matching.application.service import MatchingApplication
from services.matching.settings import MatchingSettings

SERVICE = "matching"
CONSUMER_GROUP = "jip-matching"


def _documentation_only(record: ReceivedRecord) -> Outcome:
    raise RuntimeError("documentation only")


def declare_messaging(
    settings: MatchingSettings, receive: Callable[[ReceivedRecord], Outcome] | None = None
) -> tuple[KafkaBroker, Send]:
    """What matching consumes and publishes. No I/O: also used, without `receive`, to
    generate the AsyncAPI document."""
    broker = make_broker(settings.kafka_bootstrap, service=SERVICE)
    subscribe_inbox(
        broker,
        accepts=MatchingApplication.CONSUMES,
        receive=receive or _documentation_only,
        topics=(topics.SCREENING,),
        group_id=CONSUMER_GROUP,
        description="Puts each applicant who passed the second interview in the pool of "
        "candidates that the office recommends to host companies.",
    )
    send = document_publications(
        broker,
        service=SERVICE,
        description="The candidate pool, companies' final decisions and agreements. "
        "Candidates are keyed by applicant id, matches and agreements by match id.",
    )
    return broker, send


def build_application(settings: MatchingSettings) -> MatchingApplication:
    return MatchingApplication(settings.event_store_env())


async def bootstrap(settings: MatchingSettings | None = None, **overrides: Any) -> ServiceProcess:
    settings = settings or MatchingSettings(**overrides)
    app = build_application(settings)
    inbox = Inbox(app, accepts=MatchingApplication.CONSUMES)
    broker, send = declare_messaging(settings, receive=inbox.receive)
    return ServiceProcess(
        name=SERVICE,
        broker=broker,
        followers=[
            KafkaRelay(app, topic=topics.MATCHING, translate=to_integration_event, send=send)
        ],
        http=build_http_api(app, settings.staff_token.get_secret_value()),
        http_host=settings.http_host,
        http_port=settings.http_port,
        http_keep_alive_seconds=settings.http_keep_alive_seconds,
        closers=[app.close],
    )
