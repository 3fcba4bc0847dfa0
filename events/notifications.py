"""Events published by the notifications service on `jip.notifications.v1`.

They say that a message was sent, never to which address or with what text: the
recipient's personal data stays in the notifications service's own store.
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field

from events.envelope import Contract, Envelope, UtcDatetime


class NotificationSentPayload(Contract):
    notification_id: uuid.UUID
    applicant_id: uuid.UUID | None
    template: str = Field(min_length=1, max_length=100)
    channel: Literal["email"] = "email"
    cause_event_id: uuid.UUID = Field(description="The event this notification answers.")
    sent_at: UtcDatetime


class NotificationSent(Envelope[NotificationSentPayload]):
    """An e-mail was accepted by the mail server for delivery."""

    event_type: Literal["NotificationSent"]
    schema_version: Literal[1]
    producer: Literal["notifications"]
