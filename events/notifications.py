"""Events published by the notifications service on `jip.notifications.v1`.

They say that a message was sent, or could not be delivered, never to which address or
with what text: the recipient's personal data stays in the notifications service's own
store.
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
    company_id: uuid.UUID | None = Field(
        default=None, description="The host company written to (then `applicant_id` is null)."
    )


class NotificationFailedPayload(Contract):
    notification_id: uuid.UUID
    applicant_id: uuid.UUID | None = Field(description="The applicant written to, if one.")
    company_id: uuid.UUID | None = Field(
        default=None, description="The host company written to, if one."
    )
    template: str = Field(min_length=1, max_length=100)
    channel: Literal["email"] = "email"
    cause_event_id: uuid.UUID = Field(description="The event this notification answers.")
    reason: str = Field(
        min_length=1,
        max_length=300,
        description="Why, as the mail server's reply code says it; never the address.",
    )
    attempts: int = Field(ge=1, le=1000, description="Attempts made, deferrals included.")
    failed_at: UtcDatetime


class NotificationSent(Envelope[NotificationSentPayload]):
    """An e-mail was accepted by the mail server for delivery."""

    event_type: Literal["NotificationSent"]
    schema_version: Literal[1]
    producer: Literal["notifications"]


class NotificationFailed(Envelope[NotificationFailedPayload]):
    """An e-mail could not be delivered, for good (refused, or deferred until the last
    retry): the office may correct the address and have it sent again."""

    event_type: Literal["NotificationFailed"]
    schema_version: Literal[1]
    producer: Literal["notifications"]
