"""The office's view of the messages a service could not deliver: one staff endpoint,
`GET /mail/undeliverable`, the same in every service that sends e-mail."""

# No `from __future__ import annotations` here: FastAPI reads the annotations at runtime.

import asyncio
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from runtime.http import ERROR_RESPONSES, staff_in
from runtime.mail import UndeliverableMail


class UndeliverableView(BaseModel):
    message_id: uuid.UUID = Field(description="The message (a notification id, a link's key).")
    kind: str = Field(description="Which message, e.g. registration_link, interview_passed.")
    applicant_id: uuid.UUID | None = Field(description="Whose message, when an applicant's.")
    reason: str = Field(description="Why, with the mail server's reply code; no address.")
    failed_at: datetime


class UndeliverableList(BaseModel):
    messages: list[UndeliverableView] = Field(description="Oldest first.")


def undeliverable_router(list_undeliverable: Callable[[], list[UndeliverableMail]]) -> APIRouter:
    """The staff endpoint listing the messages the mail server refused for good (the
    others went on); the office can correct the address or write by other means."""
    router = APIRouter(responses=ERROR_RESPONSES)
    admin = staff_in("admin")

    @router.get(
        "/mail/undeliverable",
        response_model=UndeliverableList,
        summary="Messages the mail server refused for good (admin)",
    )
    async def undeliverable(_staff: admin) -> Any:  # type: ignore[valid-type]
        found = await asyncio.to_thread(list_undeliverable)
        return UndeliverableList(
            messages=[
                UndeliverableView(
                    message_id=m.message_id,
                    kind=m.kind,
                    applicant_id=m.about,
                    reason=m.reason,
                    failed_at=m.failed_at,
                )
                for m in found
            ]
        )

    return router
