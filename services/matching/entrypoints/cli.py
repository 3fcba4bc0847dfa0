"""Matching's command line: `python -m services.matching [serve]` runs the service."""

from __future__ import annotations

from runtime.cli import service_cli
from services.matching.bootstrap import MESSAGING, bootstrap, build_application
from services.matching.settings import MatchingSettings

cli = service_cli(
    MESSAGING,
    build=lambda: bootstrap(MatchingSettings()),
    open_application=lambda: build_application(MatchingSettings()),
    serves="the HTTP API, the consumer of screening's results and the relay to Kafka",
)
