"""Registration's command line: run the service, or rebuild its read model."""

from __future__ import annotations

import asyncio

import typer

from runtime.mail import print_undeliverable
from runtime.process import serve as serve_process
from services.registration.adapters.mail import undeliverable_links
from services.registration.adapters.status_view import StatusProjector
from services.registration.bootstrap import bootstrap, build_application, connect_status_view
from services.registration.settings import RegistrationSettings

cli = typer.Typer(add_completion=False, help="JIP registration service.")


@cli.callback(invoke_without_command=True)
def main(ctx: typer.Context) -> None:
    """Without a command, serve."""
    if ctx.invoked_subcommand is None:
        serve()


@cli.command()
def serve() -> None:
    """Run the HTTP API, the relay to Kafka, the link mailer and the status projector."""
    serve_process(lambda: bootstrap(RegistrationSettings()))


@cli.command("rebuild-read-models")
def rebuild_read_models() -> None:
    """Drop the status read model and rebuild it from the event log."""

    async def main() -> None:
        settings = RegistrationSettings()
        app = build_application(settings)
        view = await connect_status_view(settings)
        await view.clear()
        projector = StatusProjector(app, view)
        total = 0
        while count := await projector.step():
            total += count
        typer.echo(f"rebuilt applicant_status from {total} events")
        await view.pool.close()
        app.close()

    asyncio.run(main())


@cli.command()
def undeliverable() -> None:
    """List the registration links the mail server refused for good (no addresses)."""
    app = build_application(RegistrationSettings())
    try:
        print_undeliverable("registration", undeliverable_links(app))
    finally:
        app.close()
