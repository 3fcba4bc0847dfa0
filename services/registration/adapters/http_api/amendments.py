"""The office's amendments of an applicant's details, each with its reason."""

import asyncio
import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import MISSING, BaseModel, Field

from events.registration import Education, LanguageProficiency, PreferredLanguage
from runtime.http import ERROR_RESPONSES, NewFlow, staff_in
from services.registration.adapters.http_api.dependencies import App, Country, Strict

router = APIRouter(responses=ERROR_RESPONSES)

#: Who may amend an applicant's details.
Amender = staff_in("screener", "privacy_officer", "admin")


Name = Annotated[str, Field(min_length=1, max_length=100)]


class AmendableDetails(Strict):
    """The details the office may change, validated exactly as in the registration form.
    A detail left out does not change; none can be erased (null is refused), as in the
    published `ApplicantDetailsAmended`."""

    given_name: Name | MISSING = MISSING
    family_name: Name | MISSING = MISSING
    date_of_birth: date | MISSING = MISSING
    nationality: Country | MISSING = MISSING
    country_of_residence: Country | MISSING = MISSING
    education: Education | MISSING = MISSING
    languages: LanguageProficiency | MISSING = MISSING
    language: PreferredLanguage | MISSING = MISSING


class AmendmentRequest(Strict):
    changes: AmendableDetails
    reason: str = Field(min_length=1, max_length=1000)
    request_id: uuid.UUID | None = Field(
        default=None,
        description="The applicant's request (amendment or addition, under the privacy "
        "policy) that this change answers: it is then answered as done.",
    )


class Amended(BaseModel):
    amended: bool = Field(description="False when the details already had these values.")


@router.post(
    "/applicants/{applicant_id}/amendments",
    response_model=Amended,
    summary="Record a change of an applicant's details, with its reason "
    "(screener, privacy officer, admin)",
)
async def amend(
    applicant_id: uuid.UUID, body: AmendmentRequest, app: App, staff: Amender, cid: NewFlow
) -> Any:
    changes = body.changes.model_dump(mode="json", exclude_unset=True)
    amended = await asyncio.to_thread(
        app.amend_details, applicant_id, changes, body.reason, staff, cid, body.request_id
    )
    return Amended(amended=amended)
