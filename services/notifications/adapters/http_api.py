"""Notifications' HTTP API, for office staff. Thin: validate, call the application, answer.

Every error is JSON naming the field and the reason, never echoing the input back:
`{"detail": ..., "errors": [{"field": ..., "reason": ...}]}`. Answers carry no address
and no message text; the office sees which messages went out and when.
"""

# No `from __future__ import annotations` here: FastAPI reads the annotations at runtime.

import asyncio
import hmac
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.notifications.application.service import NotFound, NotificationsApplication
from services.notifications.domain.notification import Notification
from services.notifications.domain.rules import RuleViolation


class ErrorItem(BaseModel):
    field: str
    reason: str


class ErrorResponse(BaseModel):
    detail: str
    errors: list[ErrorItem]


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "Missing or invalid credentials."},
    404: {"model": ErrorResponse, "description": "No such resource."},
    409: {"model": ErrorResponse, "description": "Conflicts with the current state."},
    422: {"model": ErrorResponse, "description": "A field is invalid; see errors."},
}


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    service: str = "notifications"


class NotificationView(BaseModel):
    notification_id: uuid.UUID
    template: str = Field(description="Which message, e.g. interview_passed.")
    state: Literal["awaiting_recipient", "pending", "sent", "failed"] = Field(
        description="awaiting_recipient: owed before the applicant's registration was "
        "read; pending: to be sent; sent: accepted by the mail server; failed: refused "
        "by the mail server for good (may be resent)."
    )
    cause_event_id: uuid.UUID = Field(description="The event this notification answers.")
    requested_at: datetime
    sent_at: datetime | None = Field(description="When it was last sent.")
    sends: int = Field(description="How many times it was sent (resends included).")

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
        )


class NotificationList(BaseModel):
    applicant_id: uuid.UUID
    notifications: list[NotificationView] = Field(description="Oldest first.")


class Unauthorized(Exception):
    pass


def _correlation_id(x_correlation_id: Annotated[str | None, Header()] = None) -> uuid.UUID:
    try:
        return uuid.UUID(x_correlation_id) if x_correlation_id else uuid.uuid4()
    except ValueError:
        return uuid.uuid4()


def build_http_api(app: NotificationsApplication, staff_token: str) -> FastAPI:
    api = FastAPI(
        title="JIP notifications",
        version="1.0.0",
        description="The e-mails the Japan Internship Program office sends applicants "
        "(application received, documents complete, interview results, match) and "
        "inquiry answers: which went out, and when.",
    )
    router = APIRouter(responses=ERRORS)
    Correlation = Annotated[uuid.UUID, Depends(_correlation_id)]

    def staff(authorization: Annotated[str | None, Header()] = None) -> str:
        if not authorization or not authorization.startswith("Bearer "):
            raise Unauthorized()
        token = authorization.removeprefix("Bearer ").strip()
        if not hmac.compare_digest(token.encode(), staff_token.encode()):
            raise Unauthorized()
        return "office-staff"

    Staff = Annotated[str, Depends(staff)]

    @api.get("/health", response_model=Health, summary="Liveness")
    async def health() -> Any:
        return Health()

    @router.get(
        "/notifications",
        response_model=NotificationList,
        summary="The notifications of one applicant, with their state (staff)",
    )
    async def list_notifications(applicant_id: Annotated[uuid.UUID, Query()], _staff: Staff) -> Any:
        found = await asyncio.to_thread(app.notifications_of, applicant_id)
        return NotificationList(
            applicant_id=applicant_id, notifications=[NotificationView.of(n) for n in found]
        )

    @router.post(
        "/notifications/{notification_id}/resend",
        status_code=202,
        response_model=NotificationView,
        summary="Send a message again, e.g. one the applicant lost (staff)",
    )
    async def resend(notification_id: uuid.UUID, staff_id: Staff, cid: Correlation) -> Any:
        notification = await asyncio.to_thread(app.request_resend, notification_id, staff_id, cid)
        return NotificationView.of(notification)

    api.include_router(router)
    _install_error_handlers(api)
    return api


def _install_error_handlers(api: FastAPI) -> None:
    def answer(code: int, detail: str, errors: list[dict[str, str]]) -> JSONResponse:
        return JSONResponse(status_code=code, content={"detail": detail, "errors": errors})

    @api.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for e in exc.errors():
            loc = [str(p) for p in e["loc"] if p not in ("body", "query", "path", "header")]
            errors.append({"field": ".".join(loc) or "body", "reason": e["msg"]})
        return answer(422, "The request is invalid.", errors)

    @api.exception_handler(NotFound)
    async def not_found(_: Request, exc: NotFound) -> JSONResponse:
        return answer(404, exc.reason, [{"field": exc.field, "reason": exc.reason}])

    @api.exception_handler(RuleViolation)
    async def violated(_: Request, exc: RuleViolation) -> JSONResponse:
        code = status.HTTP_409_CONFLICT if exc.conflict else 422
        return answer(code, exc.reason, [{"field": exc.field, "reason": exc.reason}])

    @api.exception_handler(Unauthorized)
    async def unauthorized(_: Request, __: Unauthorized) -> JSONResponse:
        return answer(
            401,
            "Missing or invalid credentials.",
            [{"field": "authorization", "reason": "a valid bearer token of office staff"}],
        )
