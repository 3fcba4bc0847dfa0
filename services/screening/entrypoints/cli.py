"""Screening's command line: `python -m services.screening [serve]` runs the service."""

from __future__ import annotations

import typer

from runtime.inbox import Inbox
from runtime.process import print_quarantine
from runtime.process import serve as serve_process
from runtime.quarantine import replay as replay_set_aside
from services.screening.application.service import ScreeningApplication
from services.screening.bootstrap import bootstrap, build_application
from services.screening.settings import ScreeningSettings

cli = typer.Typer(add_completion=False, help="JIP screening service.")


@cli.callback(invoke_without_command=True)
def main(ctx: typer.Context) -> None:
    """Without a command, serve."""
    # A Typer app with a single command runs it without its name, so `... serve` would
    # fail; the callback keeps `serve` a named command (as in registration) and makes
    # it the default.
    if ctx.invoked_subcommand is None:
        serve()


@cli.command()
def serve() -> None:
    """Run the HTTP API, the consumer of registration's events and the relay to Kafka."""
    serve_process(lambda: bootstrap(ScreeningSettings()))


@cli.command()
def quarantine() -> None:
    """List the records this service set aside (malformed, or its policy failed)."""
    app = build_application(ScreeningSettings())
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
    app = build_application(ScreeningSettings())
    try:
        code = replay_set_aside(
            Inbox(app, accepts=ScreeningApplication.CONSUMES), every=every, position=offset
        )
    finally:
        app.close()
    raise typer.Exit(code)
