"""Which of notifications' domain events are public, and how they read on Kafka."""

from __future__ import annotations

from typing import Any

from events import notifications as contract
from events.envelope import Envelope
from runtime.relay import envelope_for
from services.notifications.domain.notification import Notification


def to_integration_event(e: Any) -> Envelope | None:
    """Only what became of a message is public: that it was sent, or that it could not
    be delivered (and why, as the mail server's reply code says it); never the address,
    the name or the text, which stay in this service's store. Every other event
    (recipients, requests, releases, deferrals) is private."""
    if isinstance(e, Notification.Sent):  # type: ignore[attr-defined]
        return envelope_for(
            contract.NotificationSent,
            e,
            {
                "notification_id": e.originator_id,
                "applicant_id": e.applicant_id,
                # Sendings recorded before companies were written to name no company.
                "company_id": getattr(e, "company_id", None),
                "template": e.template,
                "channel": "email",
                "cause_event_id": e.cause_event_id,
                "sent_at": e.sent_at,
            },
        )
    # A refusal recorded before failures were published does not say whose message it
    # was: it stays private (the office sees it in `GET /mail/undeliverable`).
    if isinstance(e, Notification.Refused) and getattr(e, "template", None) is not None:  # type: ignore[attr-defined]
        return envelope_for(
            contract.NotificationFailed,
            e,
            {
                "notification_id": e.originator_id,
                "applicant_id": e.applicant_id,
                "company_id": e.company_id,
                "template": e.template,
                "channel": "email",
                "cause_event_id": e.cause_event_id,
                "reason": e.reason[:300],
                "attempts": getattr(e, "attempts", 1),
                "failed_at": e.refused_at,
            },
        )
    return None
