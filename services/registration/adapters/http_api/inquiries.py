"""Inquiries from the public, and the office's answers."""

import asyncio
import uuid
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, EmailStr, Field

from kernel.rules import RuleViolation
from runtime.http import ERROR_RESPONSES, NewFlow, staff_in
from services.registration.adapters.http_api.dependencies import App, Country, Strict

router = APIRouter(responses=ERROR_RESPONSES)

#: Who may answer an inquiry in the office's name.
Answerer = staff_in("admin")


class InquiryForm(Strict):
    name: str = Field(min_length=1, max_length=100)
    email: EmailStr
    email_confirmation: EmailStr
    country: Country
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9 ()-]{6,20}$")
    sender_kind: Literal["individual", "company"]
    inquiry_type: Literal["application", "eligibility", "documents", "hosting", "other"]
    text: str = Field(min_length=1)
    privacy_policy_consent: bool


class InquiryReceipt(BaseModel):
    inquiry_id: uuid.UUID


class InquiryAnswer(Strict):
    answer: str = Field(min_length=1, max_length=5000)


@router.post(
    "/inquiries",
    status_code=202,
    response_model=InquiryReceipt,
    summary="Send the office an inquiry",
)
async def inquire(form: InquiryForm, app: App, cid: NewFlow) -> Any:
    if form.email != form.email_confirmation:
        raise RuleViolation("email_confirmation", "the two e-mail addresses differ")
    inquiry_id, _ = await asyncio.to_thread(app.receive_inquiry, form.model_dump(mode="json"), cid)
    return InquiryReceipt(inquiry_id=inquiry_id)


@router.post("/inquiries/{inquiry_id}/answer", status_code=204, summary="Answer an inquiry (admin)")
async def answer(
    inquiry_id: uuid.UUID, body: InquiryAnswer, app: App, staff: Answerer, cid: NewFlow
) -> None:
    await asyncio.to_thread(app.answer_inquiry, inquiry_id, body.answer, staff, cid)
