"""Screening's command line: `python -m services.screening [serve]` runs the service;
`rebuild-read-models` rebuilds the office's queue from the log; `rerun-assessments`
re-runs every recorded eligibility decision from the log alone."""

from __future__ import annotations

import asyncio

import typer
from rich.console import Console
from rich.progress import Progress

from events import topics
from runtime.cli import service_cli
from runtime.rebuild import rebuild_and_close
from runtime.verify import store_verifier
from services.screening.adapters.queue_view import QueueProjector
from services.screening.application.publishing import to_integration_event
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
    return await rebuild_and_close(app, view, QueueProjector, label="screening_queue")


cli = service_cli(
    MESSAGING,
    build=lambda: bootstrap(ScreeningSettings()),
    open_application=lambda: build_application(ScreeningSettings()),
    verify=store_verifier(
        lambda: ScreeningSettings().kafka_bootstrap,
        lambda: build_application(ScreeningSettings()),
        to_integration_event,
        topics.SCREENING,
    ),
    serves="the HTTP API, the consumer of registration's events, the relay to Kafka and "
    "the queue projector",
    rebuild_read_models=rebuild_queue,
)


@cli.command("rerun-assessments")
def rerun_assessments() -> None:
    """Re-run every recorded eligibility assessment from the log alone (the facts as
    they stood, the rule-set version it names) and report any that differ."""
    app = build_application(ScreeningSettings())
    console = Console()
    try:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("re-running assessments", total=None)
            count, discrepancies = app.rerun_assessments(
                lambda done, total: progress.update(task, completed=done, total=total)
            )
    finally:
        app.close()
    if not discrepancies:
        console.print(f"{count} assessments re-run from the log: every one the same")
        return
    for d in discrepancies:
        console.print(
            f"applicant {d.applicant_id} at case version {d.case_version}: "
            f"recorded {d.recorded}, re-run gives {d.rerun}"
        )
    console.print(f"{len(discrepancies)} of {count} assessments differ")
    raise typer.Exit(1)
