"""Which documents screening requires of an applicant, and where their review stands.

Screening decides this itself, from the facts the case holds (registration only counts
what arrived): the office cannot review against a list it did not compute.

- a student (`enrolled`) sends a certificate of enrollment, a graduate one of
  graduation; both send a letter of recommendation;
- an applicant who claims any language score (JLPT, IELTS, TOEFL iBT, TOEIC, CEFR)
  sends the certificate of it;
- plus any kind the office asked for (the FAQ: a recommendation or a résumé may come
  later, when the office asks).

A newer document of a kind supersedes the older ones: only the latest of each kind is
reviewed and counts. A kind is outstanding until its latest document is accepted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

#: Every kind, in the order the office reads them.
DOCUMENT_KINDS: Final = (
    "certificate_of_enrollment",
    "certificate_of_graduation",
    "letter_of_recommendation",
    "language_score_certificate",
    "resume",
)

#: Why a document was rejected (the contract's `DocumentRejectionCode`).
REJECTION_CODES: Final = (
    "unreadable",
    "wrong_kind",
    "incomplete",
    "expired",
    "not_the_applicants",
    "other",
)

ReviewState = Literal["awaiting_review", "accepted", "rejected", "superseded"]


def claims_a_language_score(languages: Mapping[str, Any] | None) -> bool:
    """Any score or level given in the registration's `languages`."""
    return any(value is not None for value in (languages or {}).values())


def required_documents(
    education_status: str | None,
    languages: Mapping[str, Any] | None,
    requested: Iterable[str] = (),
) -> list[str]:
    """The kinds this applicant must provide, in `DOCUMENT_KINDS` order. Without an
    education status (a case opened before screening kept it) neither certificate is
    required: the office asks for what it needs."""
    kinds = {"letter_of_recommendation", *requested}
    if education_status == "enrolled":
        kinds.add("certificate_of_enrollment")
    elif education_status == "graduated":
        kinds.add("certificate_of_graduation")
    if claims_a_language_score(languages):
        kinds.add("language_score_certificate")
    return [k for k in DOCUMENT_KINDS if k in kinds]


@dataclass(frozen=True)
class DocumentsState:
    """Where the review of the applicant's documents stands."""

    required: list[str]
    #: The latest document of each kind received (the one that counts), by kind.
    current: dict[str, str]
    #: The required kinds without an accepted latest document.
    outstanding: list[str]

    @property
    def complete(self) -> bool:
        """Every required document is in and accepted: interviews may begin."""
        return not self.outstanding


def documents_state(
    required: Sequence[str],
    received: Sequence[Mapping[str, Any]],
    decisions: Mapping[str, str],
) -> DocumentsState:
    """`received`: the documents in the order they arrived (`document_id`, `kind`);
    `decisions`: the review decision by document id (`accepted`, `rejected`)."""
    current: dict[str, str] = {}
    for document in received:
        current[document["kind"]] = str(document["document_id"])
    outstanding = [
        kind
        for kind in required
        if kind not in current or decisions.get(current[kind]) != "accepted"
    ]
    return DocumentsState(list(required), current, outstanding)


def review_state(
    document_id: str, kind: str, state: DocumentsState, decisions: Mapping[str, str]
) -> ReviewState:
    if state.current.get(kind) != document_id:
        return "superseded"
    decision = decisions.get(document_id)
    if decision == "accepted":
        return "accepted"
    if decision == "rejected":
        return "rejected"
    return "awaiting_review"
