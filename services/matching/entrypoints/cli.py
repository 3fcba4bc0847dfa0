"""Matching's command line: `python -m services.matching [serve]` runs the service;
`python -m services.matching solve < instance.json` matches an instance given as JSON,
with nothing else running."""

from __future__ import annotations

import asyncio

import typer

from events import topics
from runtime.cli import service_cli
from runtime.rebuild import rebuild_and_close
from runtime.verify import store_verifier
from services.matching.adapters.board_view import BoardProjector
from services.matching.application.publishing import to_integration_event
from services.matching.bootstrap import (
    MESSAGING,
    bootstrap,
    build_application,
    connect_board_view,
)
from services.matching.entrypoints.solve import solve_standard_input
from services.matching.settings import MatchingSettings


async def rebuild_board() -> str:
    """Clear the matching board and replay the log into it."""
    settings = MatchingSettings()
    app = await asyncio.to_thread(build_application, settings)
    view = await connect_board_view(settings)
    return await rebuild_and_close(app, view, BoardProjector, label="matching_board")


cli = service_cli(
    MESSAGING,
    build=lambda: bootstrap(MatchingSettings()),
    open_application=lambda: build_application(MatchingSettings()),
    verify=store_verifier(
        lambda: MatchingSettings().kafka_bootstrap,
        lambda: build_application(MatchingSettings()),
        to_integration_event,
        topics.MATCHING,
    ),
    serves="the HTTP API, the consumer of screening's results, the relay to Kafka and the "
    "matching board's projector",
    rebuild_read_models=rebuild_board,
)


@cli.command(
    "solve",
    help="Match an instance: JSON on standard input, its stable matching on standard output.",
)
def solve_command() -> None:
    """See `entrypoints/solve.py` (which `__main__` runs directly, without this CLI)."""
    code = solve_standard_input()
    if code:
        raise typer.Exit(code)
