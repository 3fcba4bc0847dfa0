"""The relay publishes sendings recorded before a field existed, rather than stalling on
them (the log is kept forever; the code that reads it changes)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from services.notifications.application.publishing import to_integration_event
from services.notifications.domain.notification import Notification


def test_a_sending_recorded_before_companies_were_written_to_is_published() -> None:
    sent = object.__new__(Notification.Sent)  # type: ignore[attr-defined]
    recorded = {
        "originator_id": uuid.uuid4(),
        "originator_version": 3,
        "timestamp": datetime(2025, 6, 1, tzinfo=UTC),
        "template": "application_received",
        "applicant_id": uuid.uuid4(),
        "cause_event_id": uuid.uuid4(),
        "sent_at": datetime(2025, 6, 1, tzinfo=UTC),
        "message_id": "<x@jip.example>",
        "correlation_id": uuid.uuid4(),
        "causation_id": None,
        "actor": None,
        # no company_id: it did not exist then
    }
    object.__setattr__(sent, "__dict__", recorded)

    envelope = to_integration_event(sent)

    assert envelope is not None and envelope.event_type == "NotificationSent"
    assert envelope.payload.company_id is None  # type: ignore[attr-defined]
