"""Which documents an applicant owes, by the state of their education."""

from __future__ import annotations

from typing import Final

DOCUMENT_KINDS: Final = (
    "certificate_of_enrollment",
    "certificate_of_graduation",
    "language_score_certificate",
    "letter_of_recommendation",
    "resume",
)


def required_documents(education_status: str) -> tuple[str, ...]:
    """Students send a certificate of enrollment, graduates one of graduation; both send
    language score certificates and a letter of recommendation. The resume may come
    later, when the office asks for it (FAQ), so it is never outstanding."""
    certificate = (
        "certificate_of_enrollment"
        if education_status == "enrolled"
        else "certificate_of_graduation"
    )
    return (certificate, "language_score_certificate", "letter_of_recommendation")


def outstanding_documents(education_status: str, submitted_kinds: set[str]) -> list[str]:
    return [k for k in required_documents(education_status) if k not in submitted_kinds]
