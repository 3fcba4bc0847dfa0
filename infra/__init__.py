"""Local infrastructure of the project: a real Kafka broker, PostgreSQL and an SMTP server.

``python -m infra up|down|status`` from the repository root; from Python::

    from infra import InfraSettings, up, down

Submodules: :mod:`infra.settings`, :mod:`infra.kafka`, :mod:`infra.postgres`,
:mod:`infra.smtp`, :mod:`infra.stack`. Importing this package does no I/O and imports the
heavier submodules (aiokafka, psycopg) only when one of the names below is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from infra._process import InfraError, Status
    from infra.settings import InfraSettings
    from infra.stack import DATABASES, down, status, up

__all__ = ["DATABASES", "InfraError", "InfraSettings", "Status", "down", "status", "up"]

_LAZY = {
    "InfraError": "infra._process",
    "Status": "infra._process",
    "InfraSettings": "infra.settings",
    "DATABASES": "infra.stack",
    "down": "infra.stack",
    "status": "infra.stack",
    "up": "infra.stack",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'infra' has no attribute {name!r}")
