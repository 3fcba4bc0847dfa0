"""Registration's command line: run the service, or rebuild its read model."""

from __future__ import annotations

import asyncio
import logging

import typer

from services.registration.adapters.status_view import StatusProjector
from services.registration.bootstrap import bootstrap, build_application, connect_status_view
from services.registration.settings import RegistrationSettings

cli = typer.Typer(add_completion=False, help="JIP registration service.")


@cli.command()
def serve() -> None:
    """Run the HTTP API, the relay to Kafka, the link mailer and the status projector."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    async def main() -> None:
        process = await bootstrap(RegistrationSettings())
        await process.run()

    asyncio.run(main())


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
