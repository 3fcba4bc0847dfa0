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

from fastapi import APIRouter, Depends, FastAPI, Query
from pydantic import BaseModel, Field

from runtime.http import ERROR_RESPONSES, ErrorResponse, NewFlow, application, build_app, staff_in
from runtime.identity import Gate
from services.notifications.application.service import NotificationsApplication
from services.notifications.domain.notification import Notification


class NotificationView(BaseModel):
    notification_id: uuid.UUID
    template: str = Field(description="Which message, e.g. interview_passed.")
    state: Literal["awaiting_recipient", "pending", "retrying", "sent", "failed"] = Field(
        description="awaiting_recipient: owed before the applicant's registration was "
        "read; pending: to be sent (in the order of the applicant's path); retrying: the "
        "mail server deferred it, it is tried again at retry_at; sent: accepted by the "
        "mail server; failed: refused by the mail server for good (may be resent)."
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
        )


class NotificationList(BaseModel):
    applicant_id: uuid.UUID
    notifications: list[NotificationView] = Field(description="Oldest first.")


App = Annotated[NotificationsApplication, Depends(application)]
#: Who may see which messages an applicant was sent.
Reader = staff_in("admin", "auditor")
#: Who may have a message sent again.
Resender = staff_in("admin")
router = APIRouter(responses=ERROR_RESPONSES)


@router.get(
    "/notifications",
    response_model=NotificationList,
    summary="The notifications of one applicant, with their state (admin, auditor)",
)
async def list_notifications(
    applicant_id: Annotated[uuid.UUID, Query()], app: App, _: Reader
) -> Any:
    found = await asyncio.to_thread(app.notifications_of, applicant_id)
    return NotificationList(
        applicant_id=applicant_id, notifications=[NotificationView.of(n) for n in found]
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


def build_http_api(app: NotificationsApplication, gate: Gate) -> FastAPI:
    return build_app(
        title="JIP notifications",
        description="The e-mails the Japan Internship Program office sends applicants "
        "(application received, documents complete, interview results, match) and "
        "inquiry answers: which went out, and when.",
        routers=[router],
        gate=gate,
        application=app,
    )
