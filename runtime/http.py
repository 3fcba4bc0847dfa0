"""The conventions every service's HTTP API shares: one error shape, who acts (staff by
bearer token, applicants by their access token), correlation ids, and `build_app`.
Clients of any service read errors the same way:

    {"detail": "...", "errors": [{"field": "education.graduation_date", "reason": "..."}]}

An error never echoes the input back: it may be personal data.
"""

# No `from __future__ import annotations`: FastAPI reads these annotations at runtime.

import hmac
import uuid
from collections.abc import Callable, Sequence
from typing import Annotated, Any

from eventsourcing.persistence import IntegrityError
from fastapi import APIRouter, Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from kernel import actor
from kernel.actor import Actor
from kernel.rules import NotFound, RuleViolation


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


def bearer_token(authorization: str | None) -> str:
    if not authorization or not authorization.startswith("Bearer "):
        raise Unauthorized()
    return authorization.removeprefix("Bearer ").strip()


# The dependencies below are `async def` although they do no I/O: FastAPI runs a plain
# `def` dependency in its thread pool, a thread hop per request (measured with py-spy
# under load in bench/: anyio's worker threads and the GIL hand-offs they cost).


async def application(request: Request) -> Any:
    """The service's application, for `Annotated[TheApplication, Depends(application)]`."""
    return request.app.state.application


# -- who acts ----------------------------------------------------------------------------
# Every command records its actor. The dependencies below are the one place where a
# request becomes an actor: when access control brings real staff and company
# identities, only they change.


async def staff(request: Request, authorization: Annotated[str | None, Header()] = None) -> Actor:
    """Office staff, admitted by the service's staff bearer token. Today the office
    shares one token, so every staff member acts as the one office account."""
    staff_token: str = request.app.state.staff_token
    if not hmac.compare_digest(bearer_token(authorization).encode(), staff_token.encode()):
        raise Unauthorized()
    return actor.staff("office-staff", role="admin")


def authenticated_applicant(
    authenticate: Callable[[str], uuid.UUID], authorization: str | None
) -> Actor:
    """The applicant whose bearer token `authenticate` accepts (and turns into their
    applicant id); 401 otherwise. For a service's own `Applicant` dependency."""
    try:
        return actor.applicant(authenticate(bearer_token(authorization)))
    except RuleViolation:
        raise Unauthorized() from None


#: The acting member of the office (401 without the staff token).
Staff = Annotated[Actor, Depends(staff)]

#: Who may read what a service holds on a data subject (`subject_id` in the path): the
#: privacy officer, or the subject themself. Until identities and roles land, the staff
#: token stands in.
SubjectOrStaff = Annotated[Actor, Depends(staff)]


# -- correlation -------------------------------------------------------------------------


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


#: A command that starts a business flow: the caller's id, or a new one.
NewFlow = Annotated[uuid.UUID, Depends(correlation_id)]
#: A command on something that already has a flow (an applicant's case, a match): the
#: caller's id if given, else None, and the application continues the known flow.
ContinuedFlow = Annotated[uuid.UUID | None, Depends(optional_correlation_id)]


def error_answer(code: int, detail: str, errors: list[dict[str, str]]) -> JSONResponse:
    return JSONResponse(status_code=code, content={"detail": detail, "errors": errors})


def build_app(
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    staff_token: str,
    **state: Any,
) -> FastAPI:
    """A service's HTTP API: its routers, a liveness probe and the shared error answers.
    `state` (the application, stores) is what the routers' dependencies read from
    `request.app.state`, so that routers are plain modules, not closures."""
    api = FastAPI(title=title, version="1.0.0", description=description)
    api.state.staff_token = staff_token
    for name, value in state.items():
        setattr(api.state, name, value)
    for router in routers:
        api.include_router(router)
    api.include_router(_health)
    install_error_handlers(api)
    return api


_health = APIRouter()


@_health.get("/health", summary="Liveness")
async def health() -> dict[str, str]:
    return {"status": "ok"}


def install_error_handlers(api: FastAPI) -> None:
    """An unreadable body answers 400, invalid requests 422, `NotFound` 404, a
    `RuleViolation` 409 when it clashes with the current state (`conflict`) and 422
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

    # Starlette picks the handler of the most specific class in the exception's MRO,
    # so NotFound (a RuleViolation) answers 404, not 422.
    @api.exception_handler(NotFound)
    async def missing(_: Request, exc: NotFound) -> JSONResponse:
        return error_answer(404, exc.reason, [{"field": exc.field, "reason": exc.reason}])

    @api.exception_handler(RuleViolation)
    async def violated(_: Request, exc: RuleViolation) -> JSONResponse:
        code = 409 if exc.conflict else 422
        return error_answer(code, exc.reason, [{"field": exc.field, "reason": exc.reason}])

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
