"""How failures are logged without personal data.

An exception's message may quote what it failed on: an e-mail address refused by the
mail server, a name in a KeyError. Logs therefore carry the exception's type and where
it happened (the traceback's frames, which hold code, not data); the message itself
only for infrastructure errors, whose messages name hosts and ports, never people.
"""

from __future__ import annotations

import traceback

from aiokafka.errors import KafkaError
from eventsourcing.persistence import PersistenceError

_SAFE_MESSAGES: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    KafkaError,
    PersistenceError,
)


def describe_failure(error: BaseException) -> str:
    """`Type: message` for infrastructure errors, `Type` otherwise, then the frames."""
    what = type(error).__name__
    if isinstance(error, _SAFE_MESSAGES):
        what += f": {error}"
    frames = "".join(traceback.format_tb(error.__traceback__))
    return f"{what}\n{frames}".rstrip()
