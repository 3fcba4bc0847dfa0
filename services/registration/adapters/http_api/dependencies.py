"""What registration's routers share: the application, the document store, the status
read model, the acting applicant, and the field types of its forms."""

# No `from __future__ import annotations`: FastAPI reads these annotations at runtime.

import asyncio
import uuid
from typing import Annotated

import pycountry
from fastapi import Depends, Header, Request
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from kernel.actor import Actor
from runtime.http import application, authenticated_applicant
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


async def _applicant(app: App, authorization: Annotated[str | None, Header()] = None) -> Actor:
    # In a thread: an erased applicant's token is refused, which reads the store.
    return await asyncio.to_thread(
        authenticated_applicant, app.authenticate_applicant, authorization
    )


#: The applicant acting on their own application, by the access token registration gave.
Applicant = Annotated[Actor, Depends(_applicant)]


async def _applicant_id(applicant: Applicant) -> uuid.UUID:
    return uuid.UUID(applicant["id"])


ApplicantId = Annotated[uuid.UUID, Depends(_applicant_id)]


def _iso_country(code: str) -> str:
    if pycountry.countries.get(alpha_2=code) is None:
        raise ValueError("not an ISO 3166-1 alpha-2 country code")
    return code


Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$"), AfterValidator(_iso_country)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Accepted(BaseModel):
    detail: str
