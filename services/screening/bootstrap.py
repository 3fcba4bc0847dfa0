"""Screening's composition root: the one place that builds the service from its
settings, for production and tests alike. Importing it does no I/O."""

from __future__ import annotations

import asyncio
from typing import Any

from events import topics
from runtime.bootstrap import Messaging, service_process
from runtime.identity.gate import gate_for
from runtime.process import ServiceProcess
from runtime.read_model import read_model_pool
from services.screening.adapters.http_api import build_http_api
from services.screening.adapters.queue_api import router as queue_router
from services.screening.adapters.queue_view import QueueProjector, QueueView
from services.screening.application.publishing import to_integration_event
from services.screening.application.service import ScreeningApplication
from services.screening.settings import ScreeningSettings

MESSAGING = Messaging(
    service="screening",
    application=ScreeningApplication,
    consumes=(topics.REGISTRATION,),
    consumes_description="Opens a screening case for each registered applicant, records "
    "their documents and amendments, and adopts each cohort's eligibility rules.",
    publishes="Screening of registered applicants: cases opened and interview results. "
    "Keyed by applicant id (the case id).",
)


def build_application(settings: ScreeningSettings) -> ScreeningApplication:
    return ScreeningApplication(settings.event_store_env())


async def connect_queue_view(settings: ScreeningSettings) -> QueueView:
    """The office's screening queue (a read model in screening's own database)."""
    pool = await read_model_pool(settings)
    view = QueueView(pool)
    await view.create()
    return view


async def bootstrap(settings: ScreeningSettings | None = None, **overrides: Any) -> ServiceProcess:
    settings = settings or ScreeningSettings(**overrides)
    # Connecting to PostgreSQL (and creating tables) is blocking: keep it off the loop.
    app = await asyncio.to_thread(build_application, settings)
    # Screening opens personal data only to show staff an amendment's reason and to
    # answer a disclosure; its decisions need none (the age comes published).
    personal_data = settings.personal_data()
    queue = await connect_queue_view(settings)
    http = build_http_api(app, await asyncio.to_thread(gate_for, settings), personal_data)
    http.state.queue = queue
    http.include_router(queue_router)
    return service_process(
        settings,
        MESSAGING,
        app,
        translate=to_integration_event,
        http=http,
        followers=[QueueProjector(app, queue)],
        closers=[queue.pool.close, personal_data.close],
    )
