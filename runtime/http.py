"""The conventions every service's HTTP API shares: one error shape, staff bearer
tokens, correlation ids. Clients of any service read errors the same way:

    {"detail": "...", "errors": [{"field": "education.graduation_date", "reason": "..."}]}

An error never echoes the input back: it may be personal data.
"""

# No `from __future__ import annotations`: FastAPI reads these annotations at runtime.

import hmac
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Protocol

from eventsourcing.persistence import IntegrityError
from fastapi import FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException


class ErrorItem(BaseModel):
    field: str
    reason: str


class ErrorResponse(BaseModel):
    detail: str
    errors: list[ErrorItem]


#: The documented error answers, for `APIRouter(responses=ERROR_RESPONSES)`.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorResponse,
        "description": "The body cannot be read (not JSON, bad multipart).",
    },
    401: {"model": ErrorResponse, "description": "Missing or invalid credentials."},
    404: {"model": ErrorResponse, "description": "No such resource."},
    409: {"model": ErrorResponse, "description": "Conflicts with the current state."},
    422: {"model": ErrorResponse, "description": "A field is invalid; see errors."},
}


class Unauthorized(Exception):
    """No valid bearer token for this endpoint."""


class FieldError(Protocol):
    """What a service's rule violations look like (each domain defines its own)."""

    field: str
    reason: str
    conflict: bool


def bearer_token(authorization: str | None) -> str:
    if not authorization or not authorization.startswith("Bearer "):
        raise Unauthorized()
    return authorization.removeprefix("Bearer ").strip()


# The dependencies below are `async def` although they do no I/O: FastAPI runs a plain
# `def` dependency in its thread pool, a thread hop per request (measured with py-spy
# under load in bench/: anyio's worker threads and the GIL hand-offs they cost).


def staff_guard(staff_token: str) -> Callable[..., Awaitable[str]]:
    """A dependency admitting office staff by their bearer token; returns who acts."""

    async def staff(authorization: Annotated[str | None, Header()] = None) -> str:
        if not hmac.compare_digest(bearer_token(authorization).encode(), staff_token.encode()):
            raise Unauthorized()
        return "office-staff"

    return staff


async def correlation_id(
    x_correlation_id: Annotated[str | None, Header()] = None,
) -> uuid.UUID:
    """The caller's X-Correlation-ID when it is a UUID, otherwise a new flow's id."""
    return _as_uuid(x_correlation_id) or uuid.uuid4()


async def optional_correlation_id(
    x_correlation_id: Annotated[str | None, Header()] = None,
) -> uuid.UUID | None:
    """The caller's X-Correlation-ID when it is a UUID; None lets the service continue
    the flow it already knows (e.g. the applicant's)."""
    return _as_uuid(x_correlation_id)


def _as_uuid(x_correlation_id: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(x_correlation_id) if x_correlation_id else None
    except ValueError:
        return None


def error_answer(code: int, detail: str, errors: list[dict[str, str]]) -> JSONResponse:
    return JSONResponse(status_code=code, content={"detail": detail, "errors": errors})


def install_error_handlers(
    api: FastAPI, *, rule_violation: type[Exception], not_found: type[Exception]
) -> None:
    """An unreadable body answers 400, invalid requests 422, `not_found` 404, a
    `rule_violation` 409 when it clashes with the current state (`conflict`) and 422
    otherwise, a concurrent change 409, missing credentials 401; each naming the field
    and the reason."""

    @api.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Raised by the framework itself: an unreadable body (400), an unknown path
        # (404), a wrong method (405). Same shape as every other error.
        field = {400: "body", 404: "path", 405: "method"}.get(exc.status_code, "request")
        reason = str(exc.detail)
        response = error_answer(exc.status_code, reason, [{"field": field, "reason": reason}])
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @api.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for e in exc.errors():
            loc = [str(p) for p in e["loc"] if p not in ("body", "query", "path", "header")]
            errors.append({"field": ".".join(loc) or "body", "reason": e["msg"]})
        return error_answer(422, "The request is invalid.", errors)

    @api.exception_handler(not_found)
    async def missing(_: Request, exc: Exception) -> JSONResponse:
        error: FieldError = exc  # type: ignore[assignment]
        return error_answer(404, error.reason, [{"field": error.field, "reason": error.reason}])

    @api.exception_handler(rule_violation)
    async def violated(_: Request, exc: Exception) -> JSONResponse:
        error: FieldError = exc  # type: ignore[assignment]
        code = 409 if error.conflict else 422
        return error_answer(code, error.reason, [{"field": error.field, "reason": error.reason}])

    @api.exception_handler(IntegrityError)
    async def changed_meanwhile(_: Request, __: IntegrityError) -> JSONResponse:
        # Two requests changed the same record at once and the retry clashed again.
        reason = "the record changed while this request was handled; send it again"
        return error_answer(409, reason, [{"field": "body", "reason": reason}])

    @api.exception_handler(Unauthorized)
    async def unauthorized(_: Request, __: Unauthorized) -> JSONResponse:
        return error_answer(
            401,
            "Missing or invalid credentials.",
            [{"field": "authorization", "reason": "a valid bearer token is required"}],
        )
