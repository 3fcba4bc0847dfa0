"""Notifications' command line: run the service."""

from __future__ import annotations

import asyncio
import logging

import typer

from services.notifications.bootstrap import bootstrap
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
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    async def run() -> None:
        process = await bootstrap(NotificationsSettings())
        await process.run()

    asyncio.run(run())
