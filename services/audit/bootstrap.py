"""The audit service's composition root: the one place that builds the service from its
settings, for production and tests alike. Importing it does no I/O."""

from __future__ import annotations

import asyncio
from typing import Any

from events import topics
from runtime.bootstrap import Messaging, service_process
from runtime.identity.gate import gate_for
from runtime.process import ServiceProcess
from runtime.read_model import read_model_pool
from services.audit.adapters.history_view import HistoryProjector, HistoryView
from services.audit.adapters.http_api import build_http_api
from services.audit.application.service import AuditApplication, AuditInbox
from services.audit.settings import AuditSettings

MESSAGING = Messaging(
    service="audit",
    application=AuditApplication,
    consumes=topics.ALL_TOPICS,
    consumes_description="Keeps every event of every topic from the beginning, as "
    "published (any event type, known to this contract version or not), in its own "
    "history store: the auditors' copy of the log, by applicant, company and cohort.",
    publishes=None,
    inbox=AuditInbox,
)


def build_application(settings: AuditSettings) -> AuditApplication:
    return AuditApplication(settings.event_store_env())


async def connect_view(settings: AuditSettings) -> HistoryView:
    """The history table (a read model in the audit's own database)."""
    view = HistoryView(await read_model_pool(settings))
    await view.create()
    return view


async def bootstrap(settings: AuditSettings | None = None, **overrides: Any) -> ServiceProcess:
    settings = settings or AuditSettings(**overrides)
    # Connecting to PostgreSQL (and creating tables) is blocking: keep it off the loop.
    app = await asyncio.to_thread(build_application, settings)
    view = await connect_view(settings)
    personal_data = settings.personal_data()
    http = build_http_api(app, view, await asyncio.to_thread(gate_for, settings), personal_data)
    return service_process(
        settings,
        MESSAGING,
        app,
        translate=None,
        http=http,
        followers=[HistoryProjector(app, view)],
        closers=[view.pool.close, personal_data.close],
    )
