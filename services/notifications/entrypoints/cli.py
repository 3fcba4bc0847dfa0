"""Notifications' command line: `python -m services.notifications [serve]` runs the
service; `rebuild-view` (or `rebuild-read-models`) rebuilds the office's view of the
notifications from the log."""

from __future__ import annotations

import asyncio

import typer

from events import topics
from runtime.cli import service_cli
from runtime.rebuild import rebuild_and_close
from runtime.verify import store_verifier
from services.notifications.adapters.view import ViewProjector
from services.notifications.application.publishing import to_integration_event
from services.notifications.bootstrap import (
    MESSAGING,
    bootstrap,
    build_application,
    connect_view,
)
from services.notifications.settings import NotificationsSettings


async def rebuild_view() -> str:
    """Clear the office's view of the notifications and replay the log into it (safe
    while the service runs: a batch its projector read before the clear is not
    applied)."""
    settings = NotificationsSettings()
    app = await asyncio.to_thread(build_application, settings)
    view = await connect_view(settings)
    return await rebuild_and_close(app, view, ViewProjector, label="notifications_view")


cli = service_cli(
    MESSAGING,
    build=lambda: bootstrap(NotificationsSettings()),
    open_application=lambda: build_application(NotificationsSettings()),
    verify=store_verifier(
        lambda: NotificationsSettings().kafka_bootstrap,
        lambda: build_application(NotificationsSettings()),
        to_integration_event,
        topics.NOTIFICATIONS,
    ),
    serves="the HTTP API, the Kafka inbox, the relay to Kafka, the mailer and the office's "
    "view of the notifications",
    rebuild_read_models=rebuild_view,
    undeliverable_mail=lambda app: app.undeliverable(),
)


@cli.command("rebuild-view")
def rebuild_view_command() -> None:
    """Drop the office's view of the notifications and rebuild it from the event log."""
    typer.echo(asyncio.run(rebuild_view()))
