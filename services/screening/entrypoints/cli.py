"""Screening's command line: `python -m services.screening [serve]` runs the service;
`rebuild-read-models` rebuilds the office's queue from the log."""

from __future__ import annotations

import asyncio

from runtime.cli import service_cli
from runtime.rebuild import rebuild_read_model
from services.screening.adapters.queue_view import QueueProjector
from services.screening.bootstrap import (
    MESSAGING,
    bootstrap,
    build_application,
    connect_queue_view,
)
from services.screening.settings import ScreeningSettings


async def rebuild_queue() -> str:
    """Clear the office's screening queue and replay the log into it."""
    settings = ScreeningSettings()
    app = await asyncio.to_thread(build_application, settings)
    view = await connect_queue_view(settings)
    try:
        position = await rebuild_read_model(
            QueueProjector(app, view), view.clear, label="screening_queue"
        )
        return f"rebuilt screening_queue from the log (up to position {position})"
    finally:
        await view.pool.close()
        app.close()


cli = service_cli(
    MESSAGING,
    build=lambda: bootstrap(ScreeningSettings()),
    open_application=lambda: build_application(ScreeningSettings()),
    serves="the HTTP API, the consumer of registration's events, the relay to Kafka and "
    "the queue projector",
    rebuild_read_models=rebuild_queue,
)
