"""Screening's command line: `python -m services.screening [serve]` runs the service."""

from __future__ import annotations

from runtime.cli import service_cli
from services.screening.bootstrap import MESSAGING, bootstrap, build_application
from services.screening.settings import ScreeningSettings

cli = service_cli(
    MESSAGING,
    build=lambda: bootstrap(ScreeningSettings()),
    open_application=lambda: build_application(ScreeningSettings()),
    serves="the HTTP API, the consumer of registration's events and the relay to Kafka",
)
