"""What registration's routers share: the application, the document store, the status
read model, the acting applicant (`Applicant`, from runtime.http) and their id, and the
field types of its forms."""

# No `from __future__ import annotations`: FastAPI reads these annotations at runtime.

import asyncio
import uuid
from typing import Annotated

from fastapi import Depends, Request
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from events.reference.countries import is_country_code
from kernel.actor import Actor
from runtime.http import Applicant as SignedApplicant
from runtime.http import Unauthorized, application
from services.registration.adapters.document_store import DocumentStore
from services.registration.adapters.status_view import StatusView
from services.registration.application.service import RegistrationApplication

App = Annotated[RegistrationApplication, Depends(application)]


async def _documents(request: Request) -> DocumentStore:
    store: DocumentStore = request.app.state.documents
    return store


async def _status_view(request: Request) -> StatusView:
    view: StatusView = request.app.state.status_view
    return view


Documents = Annotated[DocumentStore, Depends(_documents)]
Statuses = Annotated[StatusView, Depends(_status_view)]


async def _active_applicant(app: App, applicant: SignedApplicant) -> Actor:
    # An erased applicant's token stays validly signed until it expires; registration
    # knows of the erasure and refuses it as it refuses no token (401, nothing said).
    # In a thread: it reads the store.
    if not await asyncio.to_thread(app.is_active_applicant, uuid.UUID(applicant["id"])):
        raise Unauthorized()
    return applicant


#: The applicant acting on their own application, by the token registration gave them,
#: while they are not erased.
Applicant = Annotated[Actor, Depends(_active_applicant)]


async def _applicant_id(applicant: Applicant) -> uuid.UUID:
    return uuid.UUID(applicant["id"])


ApplicantId = Annotated[uuid.UUID, Depends(_applicant_id)]


def _country_code(code: str) -> str:
    if not is_country_code(code):
        raise ValueError("not an ISO 3166-1 alpha-2 country code (nor XK, Kosovo)")
    return code


#: A nationality or country of residence: ISO 3166-1 alpha-2, plus XK (Kosovo, on the
#: DAC List of ODA Recipients without an ISO code), so that every recipient registers.
Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$"), AfterValidator(_country_code)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Accepted(BaseModel):
    detail: str
