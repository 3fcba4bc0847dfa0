"""``python -m infra up|down|status``: the project's Kafka, PostgreSQL and SMTP server.

Run from the repository root (or anywhere once the project is pip-installed). A part that
cannot start ends the command with exit code 1 and a message saying why -- not a
traceback. Settings come from ``JIP_*`` environment variables (see infra/settings.py).
"""

from __future__ import annotations

import asyncio
import logging
import time

import typer
from rich.console import Console
from rich.table import Table

from infra._process import InfraError
from infra.settings import InfraSettings

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Bring the project's real infrastructure (PostgreSQL, Kafka, SMTP) up and down.",
)
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def _report(component: str, message: str, seconds: float) -> None:
    console.print(f"[green]✓[/] [bold]{component:<10}[/] {message} [dim]({seconds:.2f} s)[/]")


def _fail(exc: InfraError) -> typer.Exit:
    err_console.print(f"[bold red]✗ {exc}[/]", markup=True, soft_wrap=True)
    return typer.Exit(code=1)


@app.callback()
def _main() -> None:
    # Probing a port where Kafka is not (yet) listening makes aiokafka log errors, which
    # Python's last-resort handler would print to the terminal; the CLI reports itself.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)


@app.command()
def up(
    topics: bool = typer.Option(
        True, help="Create the topics of events.topics.ALL_TOPICS (if that module exists)."
    ),
) -> None:
    """Start PostgreSQL, Kafka and the SMTP server (idempotent), create databases and topics."""
    from infra import stack

    settings = InfraSettings()
    t0 = time.monotonic()
    try:
        asyncio.run(stack.up(settings, topics=None if topics else [], report=_report))
    except InfraError as exc:
        raise _fail(exc) from None
    console.print(f"[bold]infrastructure is up[/] in {time.monotonic() - t0:.2f} s")


@app.command()
def down(
    postgres: bool = typer.Option(
        False, "--postgres", help="Also stop the PostgreSQL cluster (shared with the machine)."
    ),
) -> None:
    """Stop the SMTP server and Kafka started by `up` (and PostgreSQL with --postgres)."""
    from infra import stack

    settings = InfraSettings()
    t0 = time.monotonic()
    try:
        stack.down(settings, postgres_too=postgres, report=_report)
    except InfraError as exc:
        raise _fail(exc) from None
    console.print(f"[bold]infrastructure is down[/] in {time.monotonic() - t0:.2f} s")


@app.command()
def status() -> None:
    """Show whether each component runs, where, its pid and details."""
    from infra import stack

    settings = InfraSettings()
    table = Table(title="JIP infrastructure")
    for column in ("component", "state", "address", "pid", "details"):
        table.add_column(column)
    try:
        rows = asyncio.run(stack.status(settings))
    except InfraError as exc:
        raise _fail(exc) from None
    for row in rows:
        state = "[green]running[/]" if row.running else "[red]down[/]"
        table.add_row(row.component, state, row.address, str(row.pid or "-"), row.detail)
    console.print(table)
    console.print(f"[dim]var dir: {settings.var_dir}  ·  kafka jars: {settings.kafka_libs_dir}[/]")
    if not all(row.running for row in rows):
        raise typer.Exit(code=3)


@app.command()
def contract() -> None:
    """Regenerate the published contract: events/schemas/*.json and events/asyncapi.json."""
    from infra import contract as documents

    changed = documents.write()
    for path in changed:
        console.print(f"wrote {path.relative_to(documents.REPO_ROOT)}")
    if not changed:
        console.print("contract documents are up to date")


@app.command()
def demo() -> None:
    """Start everything and carry a sample cohort through the pipeline, printing each step."""
    from infra import demo as sample_cohort

    try:
        sample_cohort.main()
    except InfraError as exc:
        raise _fail(exc) from None


if __name__ == "__main__":
    app(prog_name="python -m infra")
