"""Rebuilding a read model from the log, with a progress bar for the operator.

Every service that keeps read models rebuilds them the same way: clear the model (and
its recorded position), then let its projector follow the log from the start until it
has caught up. A log of a few hundred thousand events takes minutes; the bar says how
far the projector has read, out of the events the log held when the rebuild began.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from runtime.follower import LogFollower


async def rebuild_read_model(
    projector: LogFollower,
    clear: Callable[[], Awaitable[None]],
    *,
    label: str,
    console: Console | None = None,
) -> int:
    """Clear the read model, replay the log into it through `projector`, showing the
    progress on `console` (standard error by default); returns the log position reached.

    The total is the log's last position when the rebuild begins: events stored while it
    runs are applied too (the projector follows to the end), and the bar then simply
    finishes. A projector that reads only some event types skips over the others, so the
    bar advances by log position, not by events applied."""
    total = await projector.in_thread(projector.recorder.max_notification_id) or 0
    await clear()
    position = 0
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("events"),
        TimeElapsedColumn(),
        console=console or Console(stderr=True),
    ) as progress:
        task = progress.add_task(label, total=total)
        while await projector.step():
            position = await projector.load_position()
            progress.update(task, completed=min(position, total))
        # The last events may be of types the projector does not read.
        progress.update(task, completed=total)
    return max(position, total)


class ReadModel(Protocol):
    """What a rebuild needs of a read model: its pool, and a way to forget it."""

    pool: Any

    async def clear(self) -> None: ...


async def rebuild_and_close(
    app: Any,
    view: ReadModel,
    projector: Callable[[Any, Any], LogFollower],
    *,
    label: str,
) -> str:
    """A service's `rebuild-read-models` command: rebuild `view` from `app`'s log with
    its projector, then close both; what to print."""
    try:
        position = await rebuild_read_model(projector(app, view), view.clear, label=label)
        return f"rebuilt {label} from the log (up to position {position})"
    finally:
        await view.pool.close()
        app.close()
