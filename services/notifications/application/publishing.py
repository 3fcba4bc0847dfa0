"""Which of notifications' domain events are public, and how they read on Kafka."""

from __future__ import annotations

from typing import Any

from events import notifications as contract
from events.envelope import Envelope
from runtime.relay import envelope_for
from services.notifications.domain.notification import Notification


def to_integration_event(e: Any) -> Envelope | None:
    """Only a sent message is public, and only that it was sent: never the address, the
    name or the text, which stay in this service's store. Every other event (recipients,
    requests, releases, refusals) is private."""
    if isinstance(e, Notification.Sent):  # type: ignore[attr-defined]
        return envelope_for(
            contract.NotificationSent,
            e,
            {
                "notification_id": e.originator_id,
                "applicant_id": e.applicant_id,
                "template": e.template,
                "channel": "email",
                "cause_event_id": e.cause_event_id,
                "sent_at": e.sent_at,
            },
        )
    return None
