"""Matching's composition root: the one place that builds the service from its
settings, for production and tests alike. Importing it does no I/O."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from events import topics
from runtime.bootstrap import Messaging, service_process
from runtime.identity.gate import gate_for
from runtime.process import ServiceProcess
from runtime.read_model import read_model_pool
from services.matching.adapters.board_api import router as board_router
from services.matching.adapters.board_view import BoardProjector, BoardView
from services.matching.adapters.http_api import build_http_api
from services.matching.application.publishing import to_integration_event
from services.matching.application.service import MatchingApplication
from services.matching.settings import MatchingSettings

MESSAGING = Messaging(
    service="matching",
    application=MatchingApplication,
    consumes=(topics.SCREENING, topics.REGISTRATION),
    consumes_description="Puts each applicant the office selected after screening in the "
    "pool of candidates that the office recommends to host companies; holds a candidate "
    "screening referred to the office until a new assessment finds them eligible, and "
    "takes out for good one the office rejected; respects a person's "
    "restrictions (no match while their use is suspended, not offered to host companies "
    "once third-party provision is stopped) and erasure; learns each cohort's courses "
    "when it opens (what host companies may offer).",
    publishes="The candidate pool, host companies' registrations (accepted or refused), "
    "companies' final decisions and agreements. Candidates are keyed by applicant id, "
    "matches and agreements by match id, companies by their record's id.",
)


def build_application(settings: MatchingSettings) -> MatchingApplication:
    return MatchingApplication(
        settings.event_store_env(), decide_within=timedelta(days=settings.decide_within_days)
    )


async def connect_board_view(settings: MatchingSettings) -> BoardView:
    """The matching board (a read model in matching's own database)."""
    pool = await read_model_pool(settings)
    view = BoardView(pool)
    await view.create()
    return view


async def bootstrap(settings: MatchingSettings | None = None, **overrides: Any) -> ServiceProcess:
    settings = settings or MatchingSettings(**overrides)
    # Connecting to PostgreSQL (and creating tables) is blocking: keep it off the loop.
    app = await asyncio.to_thread(build_application, settings)
    # The key store seals and opens host companies' contacts, and opens a disclosure.
    personal_data = settings.personal_data()
    board = await connect_board_view(settings)
    http = build_http_api(app, await asyncio.to_thread(gate_for, settings), personal_data)
    http.state.board = board
    http.include_router(board_router)
    return service_process(
        settings,
        MESSAGING,
        app,
        translate=to_integration_event,
        http=http,
        followers=[BoardProjector(app, board)],
        closers=[board.pool.close, personal_data.close],
    )
