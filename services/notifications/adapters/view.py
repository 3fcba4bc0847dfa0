"""The office's view of the notifications: what was owed to whom, why, when it went out
(or why not), its state and attempts.

A read model in notifications' own PostgreSQL database, folded from the service's own
log (the notifications' domain events: requested, released, sent, deferred, refused,
resend asked, withheld, resumed, cancelled). Each row keeps the version of the last
event applied, so replaying an event changes nothing, and the table can be dropped and
rebuilt from the log at any time (`python -m services.notifications rebuild-view`).

The table holds no personal data: ids (applicant, company, cause), the template, times,
states and the mail server's reply codes; never an address, a name or a text.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final

import asyncpg

from runtime.read_model import POSITIONS_SCHEMA, FoldedTable, FoldingProjector
from services.notifications.domain.notification import (
    AWAITING_RECIPIENT,
    CANCELLED,
    FAILED,
    PENDING,
    RETRYING,
    SENT,
    WITHHELD,
    Notification,
)

SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS notifications_view (
    notification_id uuid PRIMARY KEY,
    template text NOT NULL,
    recipient_kind text NOT NULL,
    applicant_id uuid,
    company_id uuid,
    cause_event_id uuid NOT NULL,
    requested_at timestamptz NOT NULL,
    state text NOT NULL,
    attempts integer NOT NULL,
    sends integer NOT NULL,
    sent_at timestamptz,
    failure text,
    retry_at timestamptz,
    not_before timestamptz,
    not_sent_because text,
    updated_at timestamptz NOT NULL,
    version integer NOT NULL
);
CREATE INDEX IF NOT EXISTS notifications_view_by_applicant
    ON notifications_view (applicant_id, requested_at, notification_id);
CREATE INDEX IF NOT EXISTS notifications_view_by_company
    ON notifications_view (company_id, requested_at, notification_id);
CREATE INDEX IF NOT EXISTS notifications_view_by_state
    ON notifications_view (state, requested_at, notification_id);
CREATE INDEX IF NOT EXISTS notifications_view_by_time
    ON notifications_view (requested_at, notification_id);
"""
    + POSITIONS_SCHEMA
)

PROJECTOR_NAME = "projector:notifications_view"
COLUMNS: Final = (
    "notification_id",
    "template",
    "recipient_kind",
    "applicant_id",
    "company_id",
    "cause_event_id",
    "requested_at",
    "state",
    "attempts",
    "sends",
    "sent_at",
    "failure",
    "retry_at",
    "not_before",
    "not_sent_because",
    "updated_at",
    "version",
)
#: Writes a folded row; the version guard keeps an older event (a replay) from
#: overwriting a newer state.
_UPDATES = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS[1:])
_PLACES = ", ".join(f"${i}" for i in range(1, len(COLUMNS) + 1))
# The names are this module's own, the values placeholders.
UPSERT = (
    f"INSERT INTO notifications_view AS v ({', '.join(COLUMNS)}) VALUES ({_PLACES}) "  # noqa: S608
    f"ON CONFLICT (notification_id) DO UPDATE SET {_UPDATES} "
    "WHERE v.version < EXCLUDED.version"
)


@dataclass(frozen=True)
class NotificationRow:
    """One message as the office sees it."""

    notification_id: uuid.UUID
    template: str
    #: applicant, company, or inquirer (an inquiry's sender, written to at the address
    #: the inquiry gave).
    recipient_kind: str
    applicant_id: uuid.UUID | None
    company_id: uuid.UUID | None
    cause_event_id: uuid.UUID
    requested_at: datetime
    state: str
    attempts: int
    sends: int
    sent_at: datetime | None
    failure: str | None
    retry_at: datetime | None
    not_before: datetime | None
    not_sent_because: str | None
    updated_at: datetime
    version: int

    @classmethod
    def from_record(cls, r: asyncpg.Record) -> NotificationRow:
        return cls(**{c: r[c] for c in COLUMNS})

    def as_args(self) -> tuple[Any, ...]:
        return tuple(getattr(self, c) for c in COLUMNS)


def fold(row: NotificationRow | None, e: Any) -> NotificationRow | None:
    """The row after one of the notification's events (an event the row already
    reflects changes nothing)."""
    if row is not None and row.version >= e.originator_version:
        return row
    if isinstance(e, Notification.Requested):  # type: ignore[attr-defined]
        company_id = getattr(e, "company_id", None)
        kind = "company" if company_id else "applicant" if e.applicant_id else "inquirer"
        return NotificationRow(
            notification_id=e.originator_id,
            template=e.template,
            recipient_kind=kind,
            applicant_id=e.applicant_id,
            company_id=company_id,
            cause_event_id=e.cause_event_id,
            requested_at=e.timestamp,
            state=AWAITING_RECIPIENT if e.awaiting_recipient else PENDING,
            attempts=0,
            sends=0,
            sent_at=None,
            failure=None,
            retry_at=None,
            not_before=getattr(e, "not_before", None),
            not_sent_because=None,
            updated_at=e.timestamp,
            version=e.originator_version,
        )
    if row is None:
        return None  # the request comes first in a notification's own log
    moved = replace(row, updated_at=e.timestamp, version=e.originator_version)
    n = Notification
    if isinstance(e, n.RecipientArrived):  # type: ignore[attr-defined]
        return replace(moved, state=PENDING)
    if isinstance(e, n.Sent):  # type: ignore[attr-defined]
        return replace(
            moved,
            state=SENT,
            sends=row.sends + 1,
            attempts=row.attempts + 1,
            sent_at=e.sent_at,
            failure=None,
            retry_at=None,
        )
    if isinstance(e, n.Refused):  # type: ignore[attr-defined]
        return replace(
            moved, state=FAILED, attempts=row.attempts + 1, failure=e.reason, retry_at=None
        )
    if isinstance(e, n.Deferred):  # type: ignore[attr-defined]
        return replace(
            moved,
            state=RETRYING,
            attempts=row.attempts + 1,
            failure=e.reason,
            retry_at=e.retry_at,
        )
    if isinstance(e, n.ResendRequested):  # type: ignore[attr-defined]
        return replace(moved, state=PENDING, retry_at=None)
    if isinstance(e, n.Withheld):  # type: ignore[attr-defined]
        return replace(moved, state=WITHHELD, not_sent_because=e.reason, retry_at=None)
    if isinstance(e, n.Resumed):  # type: ignore[attr-defined]
        return replace(moved, state=PENDING, not_sent_because=None)
    if isinstance(e, n.Cancelled):  # type: ignore[attr-defined]
        return replace(moved, state=CANCELLED, not_sent_because=e.reason, retry_at=None)
    return row  # e.g. a resend refused by the limit: nothing the list shows changed


#: The events the view folds (a notification's own; recipients are not listed).
FOLDED: Final = (
    Notification.Requested,  # type: ignore[attr-defined]
    Notification.RecipientArrived,  # type: ignore[attr-defined]
    Notification.Sent,  # type: ignore[attr-defined]
    Notification.Refused,  # type: ignore[attr-defined]
    Notification.Deferred,  # type: ignore[attr-defined]
    Notification.ResendRequested,  # type: ignore[attr-defined]
    Notification.Withheld,  # type: ignore[attr-defined]
    Notification.Resumed,  # type: ignore[attr-defined]
    Notification.Cancelled,  # type: ignore[attr-defined]
)


@dataclass(frozen=True)
class Page:
    rows: list[NotificationRow]
    #: Where the next page starts (pass as `after`), or None on the last page.
    next_after: tuple[datetime, uuid.UUID] | None


class NotificationsView(FoldedTable[NotificationRow]):
    """Reads and writes the `notifications_view` table through an asyncpg pool."""

    name = PROJECTOR_NAME
    table = "notifications_view"
    key_column = "notification_id"
    upsert = UPSERT

    def items(self, batch: Sequence[tuple[Any, int]]) -> list[Any]:
        return [e for e, _ in batch if isinstance(e, FOLDED)]

    def key_of(self, item: Any) -> uuid.UUID:
        key: uuid.UUID = item.originator_id
        return key

    def row_of(self, record: asyncpg.Record) -> NotificationRow:
        return NotificationRow.from_record(record)

    def fold(self, row: NotificationRow | None, item: Any) -> NotificationRow | None:
        return fold(row, item)

    def args_of(self, row: NotificationRow) -> tuple[Any, ...]:
        return row.as_args()

    async def create(self) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute(SCHEMA)

    async def page(
        self,
        *,
        applicant_id: uuid.UUID | None = None,
        company_id: uuid.UUID | None = None,
        state: str | None = None,
        template: str | None = None,
        cause_event_id: uuid.UUID | None = None,
        limit: int = 50,
        after: tuple[datetime, uuid.UUID] | None = None,
    ) -> Page:
        """The messages matching every filter given, oldest first, `limit` at a time;
        keyset pagination on (requested_at, notification_id)."""
        conditions: list[str] = []
        args: list[Any] = []
        for column, value in (
            ("applicant_id", applicant_id),
            ("company_id", company_id),
            ("state", state),
            ("template", template),
            ("cause_event_id", cause_event_id),
        ):
            if value is not None:
                args.append(value)
                conditions.append(f"{column} = ${len(args)}")
        if after is not None:
            args.extend(after)
            conditions.append(f"(requested_at, notification_id) > (${len(args) - 1}, ${len(args)})")
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        args.append(limit + 1)
        async with self.pool.acquire() as conn:
            found = await conn.fetch(
                f"SELECT * FROM notifications_view {where} "  # noqa: S608 - placeholders only
                f"ORDER BY requested_at, notification_id LIMIT ${len(args)}",
                *args,
            )
        rows = [NotificationRow.from_record(r) for r in found[:limit]]
        more = len(found) > limit
        return Page(rows, (rows[-1].requested_at, rows[-1].notification_id) if more else None)

    async def all_rows(self) -> list[NotificationRow]:
        async with self.pool.acquire() as conn:
            found = await conn.fetch("SELECT * FROM notifications_view ORDER BY notification_id")
        return [NotificationRow.from_record(r) for r in found]


class ViewProjector(FoldingProjector):
    """Keeps the office's view in step with the log (and rebuilds it after `clear`)."""
