"""Notifications' HTTP API, for office staff. Thin: validate, call the application, answer.

Every error is JSON naming the field and the reason, never echoing the input back:
`{"detail": ..., "errors": [{"field": ..., "reason": ...}]}`. Answers carry no address
and no message text; the office sees which messages went out and when.
"""

# No `from __future__ import annotations` here: FastAPI reads the annotations at runtime.

import asyncio
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from kernel.rules import RuleViolation
from runtime.http import ERROR_RESPONSES, ErrorResponse, NewFlow, application, build_app, staff_in
from runtime.identity import Gate
from runtime.privacy import PersonalData
from runtime.privacy_api import RecordsOf, stored_events_of, subject_records_router
from services.notifications.adapters.view import NotificationsView
from services.notifications.application.service import NotificationsApplication
from services.notifications.domain.notification import Notification
from services.notifications.domain.recipient import Recipient

State = Literal[
    "awaiting_recipient", "pending", "retrying", "sent", "failed", "withheld", "cancelled"
]


class NotificationView(BaseModel):
    notification_id: uuid.UUID
    template: str = Field(description="Which message, e.g. interview_passed.")
    state: State = Field(
        description="awaiting_recipient: owed before the applicant's registration was "
        "read; pending: to be sent (in the order of the applicant's path); retrying: the "
        "mail server deferred it, it is tried again at retry_at; sent: accepted by the "
        "mail server; failed: refused by the mail server for good (may be resent); "
        "withheld: the person asked that their data not be used (sent once resumed); "
        "cancelled: never to be sent (the person was erased)."
    )
    cause_event_id: uuid.UUID = Field(description="The event this notification answers.")
    requested_at: datetime
    sent_at: datetime | None = Field(description="When it was last sent.")
    sends: int = Field(description="How many times it was sent (resends included).")
    failure: str | None = Field(
        default=None,
        description="Why the last attempt failed (the mail server's reply code), if it did.",
    )
    retry_at: datetime | None = Field(default=None, description="When it is tried again.")
    not_sent_because: str | None = Field(
        default=None, description="Why it is withheld or cancelled (no personal data)."
    )

    @classmethod
    def of(cls, n: Notification) -> "NotificationView":
        return cls(
            notification_id=n.id,
            template=n.template,
            state=n.state,  # type: ignore[arg-type]
            cause_event_id=n.cause_event_id,
            requested_at=n.created_on,
            sent_at=n.sent_at,
            sends=n.sends,
            failure=n.failure,
            retry_at=n.retry_at,
            not_sent_because=n.not_sent_because,
        )


class ListedNotification(BaseModel):
    """One message in the office's list: to whom (an id, never the address), why, when,
    and what became of it."""

    notification_id: uuid.UUID
    template: str
    recipient_kind: Literal["applicant", "company", "inquirer"] = Field(
        description="inquirer: an inquiry's sender, written to at the address it gave."
    )
    applicant_id: uuid.UUID | None
    company_id: uuid.UUID | None
    cause_event_id: uuid.UUID = Field(description="The event this message answers: why.")
    requested_at: datetime = Field(description="When it became owed.")
    state: State
    attempts: int = Field(description="Attempts at sending, deferrals and refusals included.")
    sends: int = Field(description="How many times it was sent (resends included).")
    sent_at: datetime | None
    failure: str | None = Field(description="Why the last attempt failed (reply code).")
    retry_at: datetime | None
    not_before: datetime | None = Field(description="A reminder: not sent before then.")
    not_sent_because: str | None
    updated_at: datetime


class NotificationList(BaseModel):
    notifications: list[ListedNotification] = Field(description="Oldest first.")
    next: str | None = Field(
        description="Pass as `after` for the next page; null on the last page."
    )


async def _view(request: Request) -> NotificationsView:
    view: NotificationsView = request.app.state.notifications_view
    return view


View = Annotated[NotificationsView, Depends(_view)]


def _cursor(requested_at: datetime, notification_id: uuid.UUID) -> str:
    return f"{requested_at.isoformat()}_{notification_id}"


def _parse_cursor(after: str) -> tuple[datetime, uuid.UUID]:
    moment, _, notification_id = after.rpartition("_")
    try:
        at = datetime.fromisoformat(moment)
        if at.tzinfo is None:
            raise ValueError("no time zone")
        return at, uuid.UUID(notification_id)
    except ValueError:
        raise RuleViolation("after", "not a cursor this list gave") from None


App = Annotated[NotificationsApplication, Depends(application)]
#: Who may see which messages an applicant was sent.
Reader = staff_in("admin", "auditor")
#: Who may have a message sent again.
Resender = staff_in("admin")
router = APIRouter(responses=ERROR_RESPONSES)


@router.get(
    "/notifications",
    response_model=NotificationList,
    summary="What was sent to whom, when, why, its state and attempts (admin, auditor)",
    description="The office's view of every message, from a read model of the service's "
    "log (rebuilt by `python -m services.notifications rebuild-view`); it may lag the "
    "log by a moment. Filters combine; no address or text is ever shown.",
)
async def list_notifications(
    view: View,
    _: Reader,
    applicant_id: Annotated[uuid.UUID | None, Query()] = None,
    company_id: Annotated[uuid.UUID | None, Query()] = None,
    state: Annotated[State | None, Query()] = None,
    template: Annotated[str | None, Query(max_length=100)] = None,
    cause_event_id: Annotated[uuid.UUID | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after: Annotated[str | None, Query(max_length=100)] = None,
) -> Any:
    page = await view.page(
        applicant_id=applicant_id,
        company_id=company_id,
        state=state,
        template=template,
        cause_event_id=cause_event_id,
        limit=limit,
        after=_parse_cursor(after) if after else None,
    )
    return NotificationList(
        notifications=[
            ListedNotification.model_validate(r, from_attributes=True) for r in page.rows
        ],
        next=_cursor(*page.next_after) if page.next_after else None,
    )


@router.post(
    "/notifications/{notification_id}/resend",
    status_code=202,
    response_model=NotificationView,
    summary="Send a message again, e.g. one the applicant lost (admin)",
    responses={
        429: {
            "model": ErrorResponse,
            "description": "Resent too often lately; Retry-After says when it may be.",
        }
    },
)
async def resend(notification_id: uuid.UUID, app: App, staff: Resender, cid: NewFlow) -> Any:
    notification = await asyncio.to_thread(app.request_resend, notification_id, staff, cid)
    return NotificationView.of(notification)


class AddressAmendment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr = Field(description="The corrected address (never shown back).")
    reason: str = Field(min_length=1, max_length=1000, description="Why, in the office's words.")


class AddressAmended(BaseModel):
    recipient_id: uuid.UUID
    next_step: str = Field(description="What to do to have a refused message sent again.")


@router.put(
    "/recipients/{recipient_id}/address",
    response_model=AddressAmended,
    summary="Correct the address an applicant or a company is written to (admin)",
    description="After the mail server refused a message (`GET /mail/undeliverable`), the "
    "office corrects the address, recorded as an amendment with who and why (the address "
    "and the reason sealed with the person's key); messages from then on, and resends, go "
    "there. The recipient id is the applicant id or the company id.",
)
async def amend_address(
    recipient_id: uuid.UUID, body: AddressAmendment, app: App, staff: Resender, cid: NewFlow
) -> Any:
    await asyncio.to_thread(
        app.amend_address, recipient_id, str(body.email), body.reason, staff, cid
    )
    return AddressAmended(
        recipient_id=recipient_id,
        next_step="POST /notifications/{notification_id}/resend for each message to send again",
    )


def records_of(app: NotificationsApplication) -> RecordsOf:
    """What notifications holds on a data subject (an applicant, or an inquiry's
    sender): the stored events of their recipient (sealed address and names, their
    restrictions) and of every message owed to them (the context it was written from,
    sealed where personal, and what became of each sending). No rendered message is
    kept: there is none to give."""

    async def held(subject_id: uuid.UUID) -> dict[str, Any]:
        def read() -> dict[str, Any]:
            recipient = app.find(subject_id, Recipient)
            if recipient is None:
                return {"recipient": [], "notifications": []}
            return {
                "recipient": stored_events_of(app, [subject_id]),
                "notifications": stored_events_of(app, [n["id"] for n in recipient.notifications]),
            }

        return await asyncio.to_thread(read)

    return held


def build_http_api(
    app: NotificationsApplication, gate: Gate, personal_data: PersonalData
) -> FastAPI:
    return build_app(
        title="JIP notifications",
        description="The e-mails the Japan Internship Program office sends applicants "
        "(every step of their path), host companies (registration, proposals, reminders, "
        "matches, agreements) and inquirers: which went out, when and why, which failed, "
        "and the office's corrections and resends.",
        routers=[router, subject_records_router("notifications", records_of(app), personal_data)],
        gate=gate,
        application=app,
    )
