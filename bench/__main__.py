"""`python -m bench` (or `make bench`): the transport benchmark, on a fresh stack of its own,
and the stable matching beside the `matching` package (no stack: `--only matching`).

Each figure is printed beside the bare limit measured in the same run, and the whole
run is written to bench/results/<commit>-<time>.json. Run on demand, never in the suite.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time

import typer

from bench import consumer, matching, registration, ui
from bench.results import Run
from bench.stack import bench_infra_settings, fresh_stack, stop_stack
from runtime.process import GIL_SWITCH_INTERVAL

SCENARIOS = ("consumer", "command", "relay", "rebuild", "matching")
#: The scenarios that need the stack (Kafka, PostgreSQL, SMTP).
TRANSPORT = ("consumer", "command", "relay", "rebuild")

cli = typer.Typer(add_completion=False, help=__doc__)


@cli.command()
def main(
    records: int = typer.Option(5000, help="ApplicantRegistered records for the consumers."),
    requests: int = typer.Option(1000, help="Pre-registrations per concurrency level."),
    events: int = typer.Option(2000, help="Pre-registrations written for the relay and mailer."),
    timeout: float = typer.Option(120.0, help="Seconds a phase may take before it is cut."),
    only: str = typer.Option(",".join(SCENARIOS), help="The scenarios to run, comma-separated."),
    quick: bool = typer.Option(
        False, help="Small counts (1,000 records, 300 requests; the package at 2,000 x 200)."
    ),
    keep_stack: bool = typer.Option(False, help="Leave the bench Kafka and SMTP running."),
) -> None:
    """Measure the transport and the matching; write the figures to bench/results/."""
    if quick:
        records, requests, events = 1000, 300, 500
    chosen = [s.strip() for s in only.split(",") if s.strip()]
    unknown = set(chosen) - set(SCENARIOS)
    if unknown:
        raise typer.BadParameter(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    levels = {1: max(requests // 3, 50), 8: requests, 32: requests}
    run = Run(
        parameters={
            "records": records,
            "requests_per_concurrency": levels,
            "events": events,
            "timeout_seconds": timeout,
            "scenarios": [s for s in SCENARIOS if s in chosen],
        }
    )
    run.notes += [
        "Matching: the solver on a freshly parsed instance, median of the repetitions; "
        "the package is given the acceptable pairs only (its game requires it).",
        "Consumers, relay, mailers and rebuild run in the bench process (their bootstrap "
        "and ServiceProcess, keeping only the part measured); HTTP figures come from "
        "registration run as its own process (infra/services.py), with its relay, link "
        "mailer and projector running as in production.",
        "Rates are taken from the first observed progress (start-up excluded).",
    ]
    settings = bench_infra_settings()
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    # The services log at INFO as in production, into a file beside the stack's logs.
    logging.basicConfig(
        filename=settings.log_dir / "bench.log",
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    ui.console.print(
        f"[bold]JIP transport benchmark[/] · commit {run.commit} · "
        f"{run.machine['cores']} cores, {run.machine['memory_gib']} GiB · "
        f"load {run.machine['load_average_at_start']}"
    )
    # The services run in this process for most scenarios: tune the interpreter as
    # their own processes do (runtime/process.py serve).
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    started = time.monotonic()

    async def measure() -> None:
        if not any(s in chosen for s in TRANSPORT):
            return
        await fresh_stack(ui.say)
        if "consumer" in chosen:
            run.figures += await consumer.run(settings, records, timeout)
        if "command" in chosen:
            run.figures += await registration.command_path(settings, levels, timeout)
        if "relay" in chosen:
            run.figures += await registration.store_to_kafka(settings, events, timeout)
        if "rebuild" in chosen:
            run.figures += await registration.rebuild(settings, timeout)

    try:
        # First, while no stack of ours is loading the machine.
        if "matching" in chosen:
            run.figures += matching.run(quick)
        asyncio.run(measure())
    finally:
        if not keep_stack and any(s in chosen for s in TRANSPORT):
            stop_stack(settings)
        run.parameters["total_seconds"] = round(time.monotonic() - started, 1)
        if run.figures:
            path = run.write()
            ui.show(run)
            ui.console.print(f"written to {path}")


if __name__ == "__main__":
    cli(prog_name="python -m bench")
