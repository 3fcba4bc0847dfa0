"""What every service's composition root has in common: its Kafka declaration (what it
consumes and publishes) and the assembly of its process (inbox, relay, followers, HTTP).
A service's `bootstrap.py` gives only its own parts: its application, the translation
of its events to the contract, its HTTP API and any followers of its own."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from faststream.kafka import KafkaBroker

from events.envelope import Envelope
from events.topics import TOPIC_OF_PRODUCER
from runtime.application import ServiceApplication
from runtime.follower import LogFollower
from runtime.inbox import Inbox
from runtime.kafka import dead_letter_relay, document_publications, make_broker, subscribe_inbox
from runtime.process import ServiceProcess
from runtime.relay import KafkaRelay, Send, Translator
from runtime.settings import ServiceSettings


@dataclass(frozen=True)
class Messaging:
    """What a service consumes and publishes, with the descriptions its AsyncAPI
    document shows. Its application's policy says which events of `consumes` it reacts
    to (`ServiceApplication.consumed_event_types`)."""

    service: str
    application: type[ServiceApplication]
    #: What it publishes on its topic; None: it publishes nothing (the audit service).
    publishes: str | None
    #: The topics it consumes (none: it only publishes), and what it does with them.
    consumes: tuple[str, ...] = ()
    consumes_description: str = ""
    #: How it receives records: the common inbox, or one that extends it.
    inbox: type[Inbox] = Inbox

    @property
    def topic(self) -> str | None:
        return TOPIC_OF_PRODUCER.get(self.service)

    @property
    def consumer_group(self) -> str:
        return f"jip-{self.service}"

    @property
    def accepts(self) -> tuple[type[Envelope[Any]], ...]:
        return self.application.consumed_event_types()

    def declare(
        self, kafka_bootstrap: str, inbox: Inbox | None = None
    ) -> tuple[KafkaBroker, Send | None]:
        """The service's broker, subscriber (with its dead-letter topic) and publisher
        (None for a service that publishes nothing). No I/O: without `inbox` it is what
        the contract generator reads to write the AsyncAPI document."""
        broker = make_broker(kafka_bootstrap, service=self.service)
        if self.consumes:
            subscribe_inbox(
                broker,
                service=self.service,
                accepts=self.accepts,
                inbox=inbox,
                topics=self.consumes,
                group_id=self.consumer_group,
                description=self.consumes_description,
            )
        if self.publishes is None:
            return broker, None
        send = document_publications(broker, service=self.service, description=self.publishes)
        return broker, send


def service_process(
    settings: ServiceSettings,
    messaging: Messaging,
    app: ServiceApplication,
    *,
    translate: Translator | None,
    http: FastAPI,
    followers: Sequence[LogFollower] = (),
    closers: Sequence[Callable[[], Awaitable[None] | None]] = (),
) -> ServiceProcess:
    """One service process: the inbox of what it consumes (if anything), the relay of
    its events to its topic (if it publishes), its own followers (mailers, projectors)
    and its HTTP API. `closers` run after everything stopped, before the application is
    closed."""
    inbox = messaging.inbox(app, accepts=messaging.accepts) if messaging.consumes else None
    broker, send = messaging.declare(settings.kafka_bootstrap, inbox=inbox)
    if send is not None and messaging.topic is not None:
        if translate is None:
            raise ValueError(f"{messaging.service} publishes, so it needs a translator")
        relay = KafkaRelay(app, topic=messaging.topic, translate=translate, send=send)
        followers = [relay, *followers]
    if inbox is not None:
        followers = [*followers, dead_letter_relay(app, broker, service=messaging.service)]
    return ServiceProcess(
        name=messaging.service,
        broker=broker,
        followers=list(followers),
        http=http,
        http_host=settings.http_host,
        http_port=settings.http_port,
        http_keep_alive_seconds=settings.http_keep_alive_seconds,
        closers=[*closers, app.close],
    )
