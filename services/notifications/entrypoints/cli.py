"""Notifications' command line: `python -m services.notifications [serve]` runs the
service."""

from __future__ import annotations

from runtime.cli import service_cli
from services.notifications.bootstrap import MESSAGING, bootstrap, build_application
from services.notifications.settings import NotificationsSettings

cli = service_cli(
    MESSAGING,
    build=lambda: bootstrap(NotificationsSettings()),
    open_application=lambda: build_application(NotificationsSettings()),
    serves="the HTTP API, the Kafka inbox, the relay to Kafka and the mailer",
    undeliverable_mail=lambda app: app.undeliverable(),
)
