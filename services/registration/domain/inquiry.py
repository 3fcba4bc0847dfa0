"""An inquiry sent to the program office through its form, and the office's answer.

The sender is a data subject of their own, under the inquiry's id: their name, address,
phone and text, and the office's answer to them, are recorded sealed with the inquiry's
key (see `applicant.Seal`), and erasing the inquiry destroys that key.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import datetime

from eventsourcing.domain import Aggregate, event

from kernel.actor import Actor
from kernel.rules import RuleViolation, require
from services.registration.domain.applicant import Seal, keyed_uuid

#: The form's limit: "1024 bytes or less / 512 full-width characters", counted as the form
#: counts (`form_bytes`), not as UTF-8 encodes (three bytes a kana).
MAX_INQUIRY_BYTES = 1024

# Latin script (ASCII, Latin-1 supplement, Latin Extended-A/B and Additional, which has
# Vietnamese letters such as "ễ", combining diacritics, general punctuation) and Japanese
# script (CJK punctuation, hiragana, katakana, CJK ideographs and compatibility
# ideographs, full-width forms). Ideographs are further checked by `_japanese_kanji`.
_ALLOWED_TEXT = re.compile(
    r"^[\t\n\r\x20-\x7e\u00a0-\u024f\u0300-\u036f\u1e00-\u1eff\u2000-\u206f"
    r"\u3000-\u303f\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\u4e00-\u9fff\u3400-\u4dbf"
    r"\uf900-\ufaff\uff00-\uffef\U00020000-\U0002ffff]*$"
)
_IDEOGRAPH = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")


def _japanese_kanji(character: str) -> bool:
    """Whether an ideograph is written in Japanese: in JIS X 0213 (the fullest standard
    Japanese character set, which Python encodes as `shift_jis_2004`) or in Windows-31J
    (`cp932`, whose NEC and IBM extensions hold kanji Japanese names use that JIS X 0213
    lacks, such as 髙 and 﨑). Characters only simplified Chinese uses (张, 们, 这, 龙, 东,
    语) are in neither; those simplified Chinese shares with Japanese (国, 学) are accepted,
    as the form cannot tell them apart and Japanese needs them."""
    for codec in ("shift_jis_2004", "cp932"):
        try:
            character.encode(codec)
        except UnicodeEncodeError:
            continue
        return True
    return False


def form_bytes(text: str) -> int:
    """The length the inquiry form counts: two for a full-width (or wide) character, one
    for any other, as in a Shift_JIS-era form's "bytes"."""
    return sum(2 if unicodedata.east_asian_width(c) in ("F", "W") else 1 for c in text)


def check_inquiry_text(field: str, text: str) -> None:
    """Only Latin (with its diacritics, e.g. Vietnamese) and Japanese script are accepted
    (the form's "alphabetic input"): not simplified Chinese characters."""
    if not _ALLOWED_TEXT.match(text):
        raise RuleViolation(field, "only Latin and Japanese characters are accepted")
    if not all(_japanese_kanji(c) for c in _IDEOGRAPH.findall(text)):
        raise RuleViolation(
            field,
            "only Latin and Japanese characters are accepted: a character is in no Japanese "
            "character set (JIS X 0213, Windows-31J), as simplified Chinese ones are not",
        )


class Inquiry(Aggregate):
    """The same sender sending the same text again is the same inquiry: its id is
    derived from them, keyed with the service's pseudonym secret (as the e-mail claims
    are, see `EmailClaim`: a plain hash would let anyone test who wrote what)."""

    @staticmethod
    def id_for(secret: bytes, email: str, inquiry_type: str, text: str) -> uuid.UUID:
        return keyed_uuid(secret, f"inquiry:{email}:{inquiry_type}:{text}")

    @staticmethod
    def create_id(inquiry_id: uuid.UUID, **_: object) -> uuid.UUID:
        return inquiry_id

    @event("Received")
    def __init__(
        self,
        inquiry_id: uuid.UUID,
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
        #: Sealed, as are `email` and `text`.
        self.name = name
        self.email = email
        self.inquiry_type = inquiry_type
        self.text = text
        self.received_at = received_at
        self.answer: str | None = None
        self.privacy_requests: list[uuid.UUID] = []
        self.erased = False

    @classmethod
    def receive(
        cls,
        *,
        inquiry_id: uuid.UUID,
        consent: bool,
        name: str,
        email: str,
        phone: str | None,
        text: str,
        seal: Seal,
        **kwargs: object,
    ) -> Inquiry:
        """The form's values in clear; the sender's are recorded sealed."""
        require(consent, "privacy_policy_consent", "consent to the privacy policy is required")
        require(len(text.strip()) > 0, "text", "the inquiry is empty")
        require(
            form_bytes(text) <= MAX_INQUIRY_BYTES,
            "text",
            f"at most {MAX_INQUIRY_BYTES} bytes (512 full-width characters)",
        )
        check_inquiry_text("name", name)
        check_inquiry_text("text", text)
        return cls(
            inquiry_id=inquiry_id,
            name=seal(name),
            email=seal(email),
            phone=None if phone is None else seal(phone),
            text=seal(text),
            **kwargs,  # type: ignore[arg-type]
        )

    def answer_with(
        self,
        answer: str,
        answered_by: str,
        at: datetime,
        seal: Seal,
        correlation_id: uuid.UUID,
        actor: Actor,
    ) -> None:
        require(not self.erased, "inquiry_id", "this inquiry was erased", conflict=True)
        require(
            self.answer is None, "inquiry_id", "this inquiry was already answered", conflict=True
        )
        require(len(answer.strip()) > 0, "answer", "the answer is empty")
        self._answered(
            email=self.email,
            answer=seal(answer),
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

    # -- the rights of the privacy policy ----------------------------------------------
    @event("PrivacyRequestNoted")
    def note_privacy_request(self, request_id: uuid.UUID, right: str, actor: Actor) -> None:
        self.privacy_requests.append(request_id)

    def erase(
        self, request_id: uuid.UUID, at: datetime, correlation_id: uuid.UUID, actor: Actor
    ) -> None:
        """Records that the inquirer's key was destroyed."""
        require(not self.erased, "subject_id", "this inquiry was erased", conflict=True)
        self._erased(
            request_id=request_id,
            erased_at=at,
            correlation_id=correlation_id,
            causation_id=None,
            actor=actor,
        )

    @event("Erased")
    def _erased(
        self,
        request_id: uuid.UUID,
        erased_at: datetime,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.erased = True
