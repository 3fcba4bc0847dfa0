"""The conventions every service's HTTP API shares: one error shape, who acts (staff by
bearer token, applicants by their access token), correlation ids, and `build_app`.
Clients of any service read errors the same way:

    {"detail": "...", "errors": [{"field": "education.graduation_date", "reason": "..."}]}

An error never echoes the input back: it may be personal data.
"""

# No `from __future__ import annotations`: FastAPI reads these annotations at runtime.

import uuid
from collections.abc import Sequence
from typing import Annotated, Any

from eventsourcing.persistence import IntegrityError
from fastapi import APIRouter, Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from kernel.actor import Actor
from kernel.rules import LimitReached, NotFound, RuleViolation
from runtime.identity import ROLES, Gate, Identity, InvalidToken, RevocationUnavailable, Role


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
    403: {"model": ErrorResponse, "description": "Not allowed for this caller."},
    404: {"model": ErrorResponse, "description": "No such resource."},
    409: {"model": ErrorResponse, "description": "Conflicts with the current state."},
    422: {"model": ErrorResponse, "description": "A field is invalid; see errors."},
}


class Unauthorized(Exception):
    """No valid bearer token (missing, malformed, badly signed, expired, revoked, for
    another audience): 401, the same answer whatever the cause."""


class Forbidden(Exception):
    """A valid token, but this caller may not do this (another role, another applicant,
    another company, or something that does not exist): 403, the same answer always."""


class CredentialsUnavailable(Exception):
    """Tokens cannot be checked now (the revocation list is unreachable): 503."""


# The dependencies below are `async def` although most do no I/O: FastAPI runs a plain
# `def` dependency in its thread pool, a thread hop per request (measured with py-spy
# under load in bench/: anyio's worker threads and the GIL hand-offs they cost).


async def application(request: Request) -> Any:
    """The service's application, for `Annotated[TheApplication, Depends(application)]`."""
    return request.app.state.application


# -- who acts ----------------------------------------------------------------------------
# Every command records its actor, taken from the caller's token here and nowhere else.
# FastAPI solves these dependencies before it reads the body and before the endpoint
# loads anything, so a refusal depends on the token alone and reveals nothing.


#: Declares the bearer token in the OpenAPI document (the "Authorize" button of /docs);
#: without `auto_error`, a missing token reaches `identity` and gets our own 401.
_bearer = HTTPBearer(auto_error=False, description="A JIP token (python -m runtime.identity)")


async def identity(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Identity:
    """The caller, as their bearer token proves (401 otherwise)."""
    gate: Gate = request.app.state.gate
    if credentials is None:
        raise Unauthorized()
    try:
        return await gate.identify(credentials.credentials)
    except InvalidToken:
        raise Unauthorized() from None
    except RevocationUnavailable:
        raise CredentialsUnavailable() from None


#: The verified caller, whoever they are.
Caller = Annotated[Identity, Depends(identity)]


def staff_in(*roles: Role) -> Any:
    """Office staff acting in one of `roles` (any role when none is given), as the
    `Actor` their commands record: `Annotated[Actor, Depends(...)]`, used as a type."""
    allowed = frozenset(roles) or ROLES

    async def staff_member(caller: Caller) -> Actor:
        if caller.kind != "staff" or caller.role not in allowed:
            raise Forbidden()
        return caller.actor

    return Annotated[Actor, Depends(staff_member)]


def applicant_or_staff_in(*roles: Role) -> Any:
    """The applicant named by the path's `{applicant_id}` acting on their own
    application, or office staff in one of `roles` (none: the applicant only)."""
    allowed = frozenset(roles)

    async def applicant_or_staff(applicant_id: uuid.UUID, caller: Caller) -> Actor:
        if caller.kind == "applicant" and caller.subject == str(applicant_id):
            return caller.actor
        if caller.kind == "staff" and caller.role in allowed:
            return caller.actor
        raise Forbidden()

    return Annotated[Actor, Depends(applicant_or_staff)]


def company_or_staff_in(*roles: Role) -> Any:
    """A host company's user, or office staff in one of `roles`. The endpoint then
    checks that a company user acts for their own company (`require_own_company`)."""
    allowed = frozenset(roles)

    async def company_or_staff(caller: Caller) -> Actor:
        if caller.kind == "company" or (caller.kind == "staff" and caller.role in allowed):
            return caller.actor
        raise Forbidden()

    return Annotated[Actor, Depends(company_or_staff)]


def require_own_company(actor: Actor, company_id: uuid.UUID | None) -> None:
    """A company user may act only for their own company; staff are not limited. Pass
    None for something that does not exist: the refusal is the same (403), so a company
    user cannot learn what exists at another company."""
    if actor["kind"] == "company" and actor.get("company_id") != str(company_id):
        raise Forbidden()


async def _applicant(caller: Caller) -> Actor:
    if caller.kind != "applicant":
        raise Forbidden()
    return caller.actor


#: Office staff in any role (auditors included: for what every role may read). A
#: command names the roles that may give it with `staff_in(...)`.
Staff = staff_in()
#: The applicant acting on their own application, by the token registration gave them.
Applicant = Annotated[Actor, Depends(_applicant)]


async def _subject_or_privacy_officer(subject_id: uuid.UUID, caller: Caller) -> Actor:
    if caller.kind == "applicant" and caller.subject == str(subject_id):
        return caller.actor
    if caller.kind == "staff" and caller.role == "privacy_officer":
        return caller.actor
    raise Forbidden()


#: Who may read what a service holds on a data subject (`{subject_id}` in the path): the
#: subject themself, or the privacy officer.
SubjectOrStaff = Annotated[Actor, Depends(_subject_or_privacy_officer)]


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
    gate: Gate,
    **state: Any,
) -> FastAPI:
    """A service's HTTP API: its routers, a liveness probe and the shared error answers.
    `state` (the application, stores) is what the routers' dependencies read from
    `request.app.state`, so that routers are plain modules, not closures. `gate` checks
    the callers' tokens."""
    api = FastAPI(title=title, version="1.0.0", description=description)
    api.state.gate = gate
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

    @api.exception_handler(LimitReached)
    async def too_soon(_: Request, exc: LimitReached) -> JSONResponse:
        response = error_answer(429, exc.reason, [{"field": exc.field, "reason": exc.reason}])
        response.headers["Retry-After"] = str(exc.retry_after_seconds)
        return response

    @api.exception_handler(Unauthorized)
    async def unauthorized(_: Request, __: Unauthorized) -> JSONResponse:
        response = error_answer(*UNAUTHORIZED)
        response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @api.exception_handler(Forbidden)
    async def forbidden(_: Request, __: Forbidden) -> JSONResponse:
        return error_answer(*FORBIDDEN)

    @api.exception_handler(CredentialsUnavailable)
    async def unavailable(_: Request, __: CredentialsUnavailable) -> JSONResponse:
        reason = "credentials cannot be checked at the moment; try again shortly"
        return error_answer(503, reason, [{"field": "authorization", "reason": reason}])


#: The one answer of every refusal of each kind, whatever its cause, so that it tells
#: nothing (which check failed, whether the thing asked for exists).
UNAUTHORIZED = (
    401,
    "Missing or invalid credentials.",
    [{"field": "authorization", "reason": "a valid bearer token is required"}],
)
FORBIDDEN = (
    403,
    "Not allowed.",
    [{"field": "authorization", "reason": "this identity may not do this"}],
)
