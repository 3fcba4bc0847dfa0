"""Requests under the program's privacy policy, and their answers.

A data subject (an applicant, or the sender of an inquiry) may ask for the disclosure of
what the program holds on them, its amendment or addition, the suspension of its use
(and its resumption), the stop of its provision to third parties (and its resumption),
and its deletion. They ask with their own credentials, or at the office, where the
privacy officer checks their identity and records the request, saying how identity was
checked. Every request is answered, done or refused, with the reason.

Most rights are answered at once, by the command that carries them out. An amendment or
an addition is answered when the office makes the change (the amendment then names the
request) or refuses it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal, get_args

from eventsourcing.domain import Aggregate, event

from kernel.actor import Actor
from kernel.rules import require

Right = Literal[
    "disclosure",
    "amendment",
    "addition",
    "suspension_of_use",
    "resumption_of_use",
    "stop_third_party_provision",
    "resumption_of_third_party_provision",
    "deletion",
]
RIGHTS: tuple[str, ...] = get_args(Right)
#: Rights the office acts on later, by hand (the request carries what to change).
ANSWERED_LATER = frozenset({"amendment", "addition"})
SubjectKind = Literal["applicant", "inquirer"]
RequestedBy = Literal["subject", "privacy_officer"]
Outcome = Literal["done", "refused"]


class PrivacyRequest(Aggregate):
    """One request, from the moment it is made until it is answered."""

    @staticmethod
    def create_id(request_id: uuid.UUID, **_: object) -> uuid.UUID:
        return request_id

    @event("Made")
    def __init__(
        self,
        request_id: uuid.UUID,
        subject_id: uuid.UUID,
        subject_kind: SubjectKind,
        right: Right,
        requested_by: RequestedBy,
        identity_check: str | None,
        details: str | None,
        made_at: datetime,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        """`details`: what the subject asks to amend or add, sealed with their key."""
        self.subject_id = subject_id
        self.subject_kind = subject_kind
        self.right = right
        self.requested_by = requested_by
        self.identity_check = identity_check
        self.details = details
        self.made_at = made_at
        self.outcome: Outcome | None = None
        self.outcome_reason: str | None = None

    @staticmethod
    def check(requested_by: str, identity_check: str | None) -> None:
        """The privacy officer says how identity was checked; the subject, who asks with
        their own credentials, has nothing to say there."""
        if requested_by == "privacy_officer":
            require(
                identity_check is not None and len(identity_check.strip()) > 0,
                "identity_check",
                "say how the requester's identity was checked",
            )
        else:
            require(identity_check is None, "identity_check", "only the privacy officer says this")

    @classmethod
    def make(cls, **kwargs: object) -> PrivacyRequest:
        require(kwargs["right"] in RIGHTS, "right", "not a right of the privacy policy")
        cls.check(str(kwargs["requested_by"]), kwargs.get("identity_check"))  # type: ignore[arg-type]
        return cls(**kwargs)  # type: ignore[arg-type]

    @property
    def answered(self) -> bool:
        return self.outcome is not None

    def answer(
        self,
        outcome: Outcome,
        reason: str | None,
        at: datetime,
        correlation_id: uuid.UUID,
        actor: Actor,
    ) -> None:
        require(not self.answered, "request_id", "this request was already answered", conflict=True)
        self._answered(
            subject_id=self.subject_id,
            subject_kind=self.subject_kind,
            right=self.right,
            requested_by=self.requested_by,
            identity_check=self.identity_check,
            outcome=outcome,
            outcome_reason=reason,
            answered_at=at,
            correlation_id=correlation_id,
            causation_id=None,
            actor=actor,
        )

    @event("Answered")
    def _answered(
        self,
        subject_id: uuid.UUID,
        subject_kind: SubjectKind,
        right: Right,
        requested_by: RequestedBy,
        identity_check: str | None,
        outcome: Outcome,
        outcome_reason: str | None,
        answered_at: datetime,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.outcome = outcome
        self.outcome_reason = outcome_reason
