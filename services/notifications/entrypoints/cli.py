"""Notifications' command line: run the service."""

from __future__ import annotations

import typer

from runtime.inbox import Inbox
from runtime.process import print_quarantine
from runtime.process import serve as serve_process
from runtime.quarantine import replay as replay_set_aside
from services.notifications.application.service import CONSUMES
from services.notifications.bootstrap import bootstrap, build_application
from services.notifications.settings import NotificationsSettings

cli = typer.Typer(add_completion=False, help="JIP notifications service.")


@cli.callback(invoke_without_command=True)
def main(ctx: typer.Context) -> None:
    """JIP notifications service. Without a command, runs `serve`."""
    if ctx.invoked_subcommand is None:
        serve()


@cli.command()
def serve() -> None:
    """Run the HTTP API, the Kafka inbox, the relay to Kafka and the mailer."""
    serve_process(lambda: bootstrap(NotificationsSettings()))


@cli.command()
def quarantine() -> None:
    """List the records this service set aside (malformed, or its policy failed)."""
    app = build_application(NotificationsSettings())
    try:
        print_quarantine(app)
    finally:
        app.close()


@cli.command()
def replay(
    every: bool = typer.Option(False, "--all", help="Every record not yet replayed."),
    offset: str | None = typer.Option(None, "--offset", help="One: topic:partition:offset."),
) -> None:
    """Run records set aside through the inbox again, after the cause was fixed."""
    app = build_application(NotificationsSettings())
    try:
        code = replay_set_aside(Inbox(app, accepts=CONSUMES), every=every, position=offset)
    finally:
        app.close()
    raise typer.Exit(code)
