"""Matching's command line: `python -m services.matching [serve]` runs the service;
`python -m services.matching solve < instance.json` matches an instance given as JSON,
with nothing else running."""

from __future__ import annotations

import asyncio
import json
import sys

import typer

from runtime.cli import service_cli
from runtime.rebuild import rebuild_read_model
from services.matching.adapters.board_view import BoardProjector
from services.matching.bootstrap import (
    MESSAGING,
    bootstrap,
    build_application,
    connect_board_view,
)
from services.matching.domain.stable_matching import InvalidInstance, check, solve
from services.matching.settings import MatchingSettings


async def rebuild_board() -> str:
    """Clear the matching board and replay the log into it."""
    settings = MatchingSettings()
    app = await asyncio.to_thread(build_application, settings)
    view = await connect_board_view(settings)
    try:
        position = await rebuild_read_model(
            BoardProjector(app, view), view.clear, label="matching_board"
        )
        return f"rebuilt matching_board from the log (up to position {position})"
    finally:
        await view.pool.close()
        app.close()


cli = service_cli(
    MESSAGING,
    build=lambda: bootstrap(MatchingSettings()),
    open_application=lambda: build_application(MatchingSettings()),
    serves="the HTTP API, the consumer of screening's results, the relay to Kafka and the "
    "matching board's projector",
    rebuild_read_models=rebuild_board,
)

#: Exit code of an instance that cannot be matched (as for a command line misused).
BAD_INPUT = 2


@cli.command(
    "solve",
    help="Match an instance: JSON on standard input, its stable matching on standard output.",
)
def solve_command() -> None:
    """Read an instance as JSON on standard input and write its candidate-optimal stable
    matching as JSON on standard output, with the blocking pairs and capacity violations
    its own check found (both 0). A bad instance: the entry at fault on standard error,
    exit code 2, nothing on standard output."""
    try:
        instance = json.loads(sys.stdin.buffer.read())
        matching = solve(instance)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        typer.echo(f"instance: is not JSON ({error})", err=True)
        raise typer.Exit(BAD_INPUT) from None
    except InvalidInstance as error:
        typer.echo(f"{error.field}: {error.reason}", err=True)
        raise typer.Exit(BAD_INPUT) from None
    verdict = check(instance, matching.matches)
    result = {
        "matches": [{"candidate": c, "host": h} for c, h in matching.matches],
        "unmatched_candidates": list(matching.unmatched_candidates),
        "blocking_pairs": verdict.blocking_pairs,
        "capacity_violations": verdict.capacity_violations,
    }
    # ASCII with \u escapes: valid JSON whatever the terminal's encoding.
    sys.stdout.buffer.write(json.dumps(result).encode("ascii") + b"\n")
