"""The run's console: a progress bar per phase while it runs, a table at the end."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from bench.results import Figure, Run

# Wide enough for the table when the output is not a terminal (make bench | tee).
console = Console(highlight=False, width=None if Console().is_terminal else 150)


@contextmanager
def phase(description: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    """Show one phase with its progress; yields `update(completed)`."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task(description, total=total)

        def update(completed: int) -> None:
            progress.update(task, completed=completed)

        yield update


def say(component: str, message: str, seconds: float) -> None:
    console.print(f"[green]✓[/] [bold]{component:<10}[/] {message} [dim]({seconds:.2f} s)[/]")


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def table(run: Run) -> Table:
    t = Table(title=f"JIP transport benchmark · commit {run.commit} · {run.machine['cores']} cores")
    for column in ("scenario", "measured", "value", "limit (same run)", "ratio", "target"):
        t.add_column(column, overflow="fold")
    for f in run.figures:
        value = f"{_number(f.value)} {f.unit}" + ("" if f.complete else " [red](timed out)[/]")
        extra = f.details.get("summary")
        if extra:
            value += f"\n[dim]{extra}[/]"
        limit = f"{_number(f.limit_value)} · {f.limit}" if f.limit else "-"
        ratio = "-" if f.ratio is None else f"{f.ratio:.2f}"
        t.add_row(f.scenario, f.subject, value, limit, ratio, f.target or "")
    return t


def show(run: Run) -> None:
    console.print(table(run))
    for note in run.notes:
        console.print(f"[dim]· {note}[/]")


def bare(figure: Figure) -> str:
    return f"{figure.subject}: {_number(figure.value)} {figure.unit}"
