"""Screening's command line: `python -m services.screening [serve]` runs the service."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.progress import Progress

from runtime.cli import service_cli
from services.screening.bootstrap import MESSAGING, bootstrap, build_application
from services.screening.settings import ScreeningSettings

cli = service_cli(
    MESSAGING,
    build=lambda: bootstrap(ScreeningSettings()),
    open_application=lambda: build_application(ScreeningSettings()),
    serves="the HTTP API, the consumer of registration's events and the relay to Kafka",
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
