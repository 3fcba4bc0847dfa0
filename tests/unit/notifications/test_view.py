"""The office's view folds a notification's own events into one row: to whom, why,
when, its state and attempts; replaying the log changes nothing."""

import itertools
import uuid
from datetime import UTC, datetime, timedelta

from events import registration
from runtime.inbox import Inbox, ReceivedRecord
from runtime.mail import Accepted, Deferred, RetrySchedule
from services.notifications.adapters.view import NotificationsView, fold
from services.notifications.application.service import NotificationsApplication, OutgoingMail
from tests.envelopes import UNIT_VAULT, upstream

_offsets = itertools.count(2_000_000)


def rows_of(app: NotificationsApplication, events=None) -> dict[uuid.UUID, object]:
    events = events or [
        app.mapper.to_domain_event(n)
        for n in app.recorder.select_notifications(start=1, limit=10_000)
    ]
    view = NotificationsView.__new__(NotificationsView)  # folding needs no pool
    rows: dict[uuid.UUID, object] = {}
    for e in view.items([(e, i) for i, e in enumerate(events, 1)]):
        row = fold(rows.get(e.originator_id), e)
        if row is not None:
            rows[e.originator_id] = row
    return rows


def test_a_message_deferred_then_sent_shows_two_attempts_one_sending_and_its_cause():
    app = NotificationsApplication(
        {"PERSISTENCE_MODULE": "eventsourcing.popo"}, personal_data=UNIT_VAULT
    )
    applicant = uuid.uuid4()
    event = upstream(registration.ApplicantRegistered, aggregate_id=applicant)
    record = ReceivedRecord(
        "jip.registration.v1", 0, next(_offsets), event.model_dump_json().encode()
    )
    Inbox(app, accepts=NotificationsApplication.consumed_event_types()).receive(record)
    [welcome] = app.notifications_of(applicant)
    now = datetime.now(UTC)
    for outcome in (Deferred("recipient deferred: SMTP 452"), Accepted()):
        mail = app.mail_to_send(welcome.id, now + timedelta(hours=1), "jip.example", timedelta(0))
        assert isinstance(mail, OutgoingMail)
        app.record_delivery(mail, outcome, RetrySchedule())

    [row] = rows_of(app).values()
    assert (row.template, row.recipient_kind, row.applicant_id) == (
        "application_received",
        "applicant",
        applicant,
    )
    assert row.cause_event_id == event.event_id
    assert (row.state, row.attempts, row.sends, row.failure) == ("sent", 2, 1, None)
    # Read twice (at-least-once), the log folds into the same rows.
    events = [app.mapper.to_domain_event(n) for n in app.recorder.select_notifications(1, 10_000)]
    assert rows_of(app, events + events) == rows_of(app, events)
