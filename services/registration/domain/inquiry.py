"""An inquiry sent to the program office through its form, and the office's answer."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from eventsourcing.domain import Aggregate, event

from kernel.actor import Actor
from kernel.rules import RuleViolation, require

MAX_INQUIRY_BYTES = 1024

# Latin script (ASCII, Latin-1 supplement, Latin Extended-A/B, general punctuation) and
# Japanese script (CJK punctuation, hiragana, katakana, CJK ideographs, full-width forms).
_ALLOWED_TEXT = re.compile(
    r"^[\t\n\r\x20-\x7e\u00a0-\u024f\u2000-\u206f"
    r"\u3000-\u303f\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\u4e00-\u9fff\u3400-\u4dbf"
    r"\uff00-\uffef]*$"
)


def check_inquiry_text(field: str, text: str) -> None:
    """Only Latin and Japanese script are accepted (the office's form rule)."""
    if not _ALLOWED_TEXT.match(text):
        raise RuleViolation(field, "only Latin and Japanese characters are accepted")


class Inquiry(Aggregate):
    """The same sender sending the same text again is the same inquiry: its id is
    derived from them, so a resubmitted form records nothing new."""

    @staticmethod
    def id_for(email: str, inquiry_type: str, text: str) -> uuid.UUID:
        return uuid.uuid5(uuid.NAMESPACE_URL, f"inquiry:{email}:{inquiry_type}:{text}")

    @staticmethod
    def create_id(email: str, inquiry_type: str, text: str, **_: object) -> uuid.UUID:
        return Inquiry.id_for(email, inquiry_type, text)

    @event("Received")
    def __init__(
        self,
        name: str,
        email: str,
        country: str,
        phone: str | None,
        sender_kind: str,
        inquiry_type: str,
        text: str,
        received_at: datetime,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.name = name
        self.email = email
        self.inquiry_type = inquiry_type
        self.text = text
        self.received_at = received_at
        self.answer: str | None = None

    @classmethod
    def receive(cls, *, consent: bool, **kwargs: object) -> Inquiry:
        require(consent, "privacy_policy_consent", "consent to the privacy policy is required")
        text = str(kwargs["text"])
        require(len(text.strip()) > 0, "text", "the inquiry is empty")
        require(
            len(text.encode()) <= MAX_INQUIRY_BYTES,
            "text",
            f"at most {MAX_INQUIRY_BYTES} bytes (512 full-width characters)",
        )
        for field in ("name", "text"):
            check_inquiry_text(field, str(kwargs[field]))
        return cls(**kwargs)  # type: ignore[arg-type]

    def answer_with(
        self, answer: str, answered_by: str, at: datetime, correlation_id: uuid.UUID, actor: Actor
    ) -> None:
        require(
            self.answer is None, "inquiry_id", "this inquiry was already answered", conflict=True
        )
        require(len(answer.strip()) > 0, "answer", "the answer is empty")
        self._answered(
            email=self.email,
            answer=answer,
            answered_by=answered_by,
            answered_at=at,
            correlation_id=correlation_id,
            causation_id=None,
            actor=actor,
        )

    @event("Answered")
    def _answered(
        self,
        email: str,
        answer: str,
        answered_by: str,
        answered_at: datetime,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.answer = answer
