"""Notifications' command line: run the service."""

from __future__ import annotations

import typer

from runtime.mail import print_undeliverable
from runtime.process import print_quarantine
from runtime.process import serve as serve_process
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
def undeliverable() -> None:
    """List the messages the mail server refused for good (no addresses shown)."""
    app = build_application(NotificationsSettings())
    try:
        print_undeliverable("notifications", app.undeliverable())
    finally:
        app.close()
