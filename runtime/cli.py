"""The command line every service shares: `serve` (the default), `quarantine` and
`replay` for a service that consumes, `rebuild-read-models` for one that keeps read
models. A service's `entrypoints/cli.py` builds it with `service_cli` and adds only its
own commands."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

import typer

from runtime.application import ServiceApplication
from runtime.bootstrap import Messaging
from runtime.mail import print_undeliverable
from runtime.process import ServiceProcess, print_quarantine, serve
from runtime.quarantine import replay as replay_set_aside


def service_cli(
    messaging: Messaging,
    *,
    build: Callable[[], Awaitable[ServiceProcess]],
    open_application: Callable[[], ServiceApplication],
    serves: str,
    rebuild_read_models: Callable[[], Coroutine[Any, Any, str]] | None = None,
    undeliverable_mail: Callable[[Any], Sequence[Any]] | None = None,
    verify: Callable[[bool], int] | None = None,
) -> typer.Typer:
    """`build` makes the whole process (the service's bootstrap), `open_application`
    only its event store (for maintenance); `serves` says what `serve` runs;
    `rebuild_read_models` rebuilds them and says what it did; a service that sends mail
    gets `undeliverable`, listing what `undeliverable_mail(application)` returns;
    `verify(as_json)` checks the log (see `runtime.verify`) and returns the exit code."""
    cli = typer.Typer(add_completion=False, help=f"JIP {messaging.service} service.")

    @cli.callback(invoke_without_command=True)
    def main(ctx: typer.Context) -> None:
        """Without a command, serve."""
        # A Typer app with a single command runs it without its name, so `... serve`
        # would fail; the callback keeps `serve` a named command and the default.
        if ctx.invoked_subcommand is None:
            serve_command()

    @cli.command("serve", help=f"Run {serves}.")
    def serve_command() -> None:
        serve(build)

    if messaging.consumes:

        @cli.command()
        def quarantine() -> None:
            """List the records this service set aside (malformed, or its policy failed)."""
            app = open_application()
            try:
                print_quarantine(app)
            finally:
                app.close()

        @cli.command()
        def replay(
            every: bool = typer.Option(False, "--all", help="Every record not yet replayed."),
            offset: str | None = typer.Option(
                None, "--offset", help="One record: topic:partition:offset."
            ),
        ) -> None:
            """Run records set aside through the inbox again, after the cause was fixed."""
            app = open_application()
            try:
                code = replay_set_aside(
                    messaging.inbox(app, accepts=messaging.accepts), every=every, position=offset
                )
            finally:
                app.close()
            raise typer.Exit(code)

    if undeliverable_mail is not None:
        refused_for_good = undeliverable_mail

        @cli.command()
        def undeliverable() -> None:
            """List the messages the mail server refused for good (no addresses shown)."""
            app = open_application()
            try:
                print_undeliverable(messaging.service, refused_for_good(app))
            finally:
                app.close()

    if verify is not None:
        check = verify

        @cli.command("verify")
        def verify_command(
            as_json: bool = typer.Option(False, "--json", help="The findings as JSON."),
        ) -> None:
            """Check the hash chains of the log and the store against it: report every
            missing, reordered or altered event (exit code 1 when anything is found)."""
            raise typer.Exit(check(as_json))

    if rebuild_read_models is not None:
        rebuild = rebuild_read_models

        @cli.command("rebuild-read-models")
        def rebuild_read_models_command() -> None:
            """Drop the read models and rebuild them from the event log."""
            typer.echo(asyncio.run(rebuild()))

    return cli
