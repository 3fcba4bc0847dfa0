"""The operator's commands on the records a consuming service set aside, shared by
every consuming service's command line: `quarantine` lists them with their status,
`replay` runs them through the inbox again once the cause is fixed."""

from __future__ import annotations

import base64

from rich.console import Console
from rich.table import Table

from runtime.application import ServiceApplication
from runtime.inbox import Inbox, QuarantinedMessage, quarantined_message_at, quarantined_messages


def print_quarantine(app: ServiceApplication) -> None:
    """List the records set aside: where they were, why, and what became of them (set
    aside, replayed, failed again)."""
    messages = quarantined_messages(app)
    table = Table(title=f"{app.name}: records set aside ({len(messages)})")
    for column in ("topic", "partition", "offset", "status", "reason", "bytes"):
        table.add_column(column)
    for m in messages:
        size = len(base64.b64decode(m.value_base64))
        table.add_row(m.topic, str(m.partition), str(m.offset), m.status, m.reason, str(size))
    Console(width=180).print(table)


def replay(inbox: Inbox, *, every: bool = False, position: str | None = None) -> int:
    """Replay the record set aside at `position` (`topic:partition:offset`), or with
    `every` each one not yet replayed; print each outcome. Returns the exit code: 0 when
    every replayed record was processed, 1 when one was set aside again, 2 on misuse."""
    console = Console(width=180)
    if every == (position is not None):
        console.print("give either --all or --offset topic:partition:offset")
        return 2
    chosen: list[QuarantinedMessage]
    if position is not None:
        try:
            chosen = [quarantined_message_at(inbox.app, position)]
        except (ValueError, LookupError) as error:
            console.print(str(error))
            return 2
    else:
        chosen = [m for m in quarantined_messages(inbox.app) if m.status != "replayed"]
    failed = 0
    for message in chosen:
        status = inbox.replay(message)
        if status == "failed again":
            failed += 1
            current = inbox.app.repository.get(message.id)
            console.print(f"{message.position}: {status}: {current.reason}")
        else:
            console.print(f"{message.position}: {status}")
    console.print(f"{len(chosen)} replayed, {failed} set aside again")
    return 1 if failed else 0
