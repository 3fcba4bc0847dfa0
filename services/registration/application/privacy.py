"""The rights of the privacy policy, as commands of registration's application: each
request is recorded with who made it (the subject with their own token, or the privacy
officer after checking their identity) and answered with its outcome, in the same save
as its effect.

- suspension and resumption of use, stop and resumption of provision to third parties:
  the applicant's flags change (`ProcessingRestricted`, both flags every time), and
  every service respects them;
- deletion: the subject's key is destroyed (crypto-shredding: every sealed value of
  theirs, in every store and on every topic, reads as erased), their documents deleted,
  their address's claim released, and `SubjectErased` published;
- amendment and addition: the request, sealed, waits for the office, which answers it
  with the amendment command (naming the request) or refuses it;
- disclosure: the export is gathered by the HTTP adapter (from every service), then
  recorded here as answered.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from kernel.actor import Actor
from kernel.rules import NotFound, require
from runtime.privacy_api import stored_events_of
from services.registration.domain.applicant import Applicant, EmailClaim
from services.registration.domain.inquiry import Inquiry
from services.registration.domain.privacy import (
    ANSWERED_LATER,
    PrivacyRequest,
    RequestedBy,
    Right,
)

if TYPE_CHECKING:
    from services.registration.application.service import RegistrationApplication

#: The flags (use suspended, third-party provision stopped) a right asks for, given the
#: current ones.
_RESTRICTIONS = {
    "suspension_of_use": lambda use, third: (True, third),
    "resumption_of_use": lambda use, third: (False, third),
    "stop_third_party_provision": lambda use, third: (use, True),
    "resumption_of_third_party_provision": lambda use, third: (use, False),
}


@dataclass(frozen=True)
class PrivacyAnswer:
    """What the requester is told: the request's id and its outcome (pending: the office
    will act on it and answer)."""

    request_id: uuid.UUID
    subject_id: uuid.UUID
    right: str
    outcome: Literal["done", "refused", "pending"]
    outcome_reason: str | None


class PrivacyCommands:
    """Mixed into `RegistrationApplication`."""

    def subject_of(self: RegistrationApplication, subject_id: uuid.UUID) -> Applicant | Inquiry:
        """The applicant or inquiry a subject id names."""
        found = self.find(subject_id, Applicant) or self.find(subject_id, Inquiry)
        if found is None:
            raise NotFound("subject_id", "there is no such data subject")
        return found

    def make_privacy_request(
        self: RegistrationApplication,
        subject_id: uuid.UUID,
        right: Right,
        requested_by: RequestedBy,
        identity_check: str | None,
        details: str | None,
        actor: Actor,
        correlation_id: uuid.UUID,
    ) -> PrivacyAnswer:
        """Record a request (any right but disclosure, see `record_disclosure`) and
        carry it out, or leave it to the office (amendment, addition)."""
        require(right != "disclosure", "right", "a disclosure is answered with its export")
        if right in ANSWERED_LATER:
            require(
                details is not None and len(details.strip()) > 0,
                "details",
                "say what to amend or add",
            )
        if right == "deletion":
            # The key first: erasing it again is harmless, so a retry after a failed
            # save completes the erasure rather than leaving a readable subject.
            return self._erase(subject_id, requested_by, identity_check, actor, correlation_id)

        def attempt() -> PrivacyAnswer:
            subject = self.subject_of(subject_id)
            refusal = _refusal(subject, right)
            sealed = None
            if refusal is None and right in ANSWERED_LATER:
                sealed = self.sealer(subject_id)(details)
            request_id, request = self._new_request(
                subject, right, requested_by, identity_check, sealed, actor, correlation_id
            )
            if refusal is not None:
                request.answer("refused", refusal, self.clock(), correlation_id, actor)
            elif right in _RESTRICTIONS:
                assert isinstance(subject, Applicant)
                flags = _RESTRICTIONS[right](
                    subject.use_suspended, subject.third_party_provision_stopped
                )
                changed = subject.restrict(*flags, request_id, correlation_id, actor)
                note = None if changed else "no change: it already stood so"
                request.answer("done", note, self.clock(), correlation_id, actor)
            self.save(subject, request)
            return _answer_of(request, request_id)

        return self.retry_on_conflict(attempt)

    def _erase(
        self: RegistrationApplication,
        subject_id: uuid.UUID,
        requested_by: RequestedBy,
        identity_check: str | None,
        actor: Actor,
        correlation_id: uuid.UUID,
    ) -> PrivacyAnswer:
        subject = self.subject_of(subject_id)
        PrivacyRequest.check(requested_by, identity_check)
        if not subject.erased:
            self.personal.erase(subject_id)
            if isinstance(subject, Applicant):
                self.delete_documents(subject_id)

        def attempt() -> PrivacyAnswer:
            subject = self.subject_of(subject_id)
            request_id, request = self._new_request(
                subject, "deletion", requested_by, identity_check, None, actor, correlation_id
            )
            changed: list[Any] = [subject, request]
            if subject.erased:
                request.answer("done", "already erased", self.clock(), correlation_id, actor)
            else:
                subject.erase(request_id, self.clock(), correlation_id, actor)
                if isinstance(subject, Applicant) and subject.email_claim_id is not None:
                    claim = self.find(subject.email_claim_id, EmailClaim)
                    if claim is not None and claim.applicant_id == subject.id:
                        claim.release(subject.id)
                        changed.append(claim)
                request.answer("done", None, self.clock(), correlation_id, actor)
            self.save(*changed)
            return _answer_of(request, request_id)

        return self.retry_on_conflict(attempt)

    def record_disclosure(
        self: RegistrationApplication,
        subject_id: uuid.UUID,
        requested_by: RequestedBy,
        identity_check: str | None,
        refused_because: str | None,
        actor: Actor,
        correlation_id: uuid.UUID,
    ) -> PrivacyAnswer:
        """Record a disclosure as answered: done (the export was given), or refused."""

        def attempt() -> PrivacyAnswer:
            subject = self.subject_of(subject_id)
            request_id, request = self._new_request(
                subject, "disclosure", requested_by, identity_check, None, actor, correlation_id
            )
            outcome = "done" if refused_because is None else "refused"
            request.answer(outcome, refused_because, self.clock(), correlation_id, actor)
            self.save(subject, request)
            return _answer_of(request, request_id)

        return self.retry_on_conflict(attempt)

    def check_privacy_request(
        self: RegistrationApplication,
        subject_id: uuid.UUID,
        requested_by: RequestedBy,
        identity_check: str | None,
    ) -> None:
        """Refuse a request that cannot be recorded, before any work is done for it."""
        self.subject_of(subject_id)
        PrivacyRequest.check(requested_by, identity_check)

    def _new_request(
        self: RegistrationApplication,
        subject: Applicant | Inquiry,
        right: Right,
        requested_by: RequestedBy,
        identity_check: str | None,
        details: str | None,
        actor: Actor,
        correlation_id: uuid.UUID,
    ) -> tuple[uuid.UUID, PrivacyRequest]:
        """A new request about `subject`, noted on the subject (to be saved with it)."""
        request_id = uuid.uuid4()
        request = PrivacyRequest.make(
            request_id=request_id,
            subject_id=subject.id,
            subject_kind="applicant" if isinstance(subject, Applicant) else "inquirer",
            right=right,
            requested_by=requested_by,
            identity_check=identity_check,
            details=details,
            made_at=self.clock(),
            correlation_id=correlation_id,
            causation_id=None,
            actor=actor,
        )
        subject.note_privacy_request(request_id, right, actor=actor)
        return request_id, request

    def get_privacy_request(self: RegistrationApplication, request_id: uuid.UUID) -> PrivacyRequest:
        request = self.find(request_id, PrivacyRequest)
        if request is None:
            raise NotFound("request_id", "there is no such request")
        return request

    def pending_change_request(
        self: RegistrationApplication, request_id: uuid.UUID, applicant_id: uuid.UUID
    ) -> PrivacyRequest:
        """The applicant's unanswered request for an amendment or addition."""
        request = self.get_privacy_request(request_id)
        require(
            request.subject_id == applicant_id and request.right in ANSWERED_LATER,
            "request_id",
            "this request is not this applicant's request for an amendment or addition",
        )
        require(
            not request.answered, "request_id", "this request was already answered", conflict=True
        )
        return request

    def refuse_privacy_request(
        self: RegistrationApplication,
        request_id: uuid.UUID,
        reason: str,
        actor: Actor,
        correlation_id: uuid.UUID,
    ) -> PrivacyAnswer:
        """The office refuses a pending request (an amendment or addition it cannot
        make), saying why."""

        def attempt() -> PrivacyAnswer:
            request = self.get_privacy_request(request_id)
            request.answer("refused", reason, self.clock(), correlation_id, actor)
            self.save(request)
            return _answer_of(request, request_id)

        return self.retry_on_conflict(attempt)

    def records_of(self: RegistrationApplication, subject_id: uuid.UUID) -> dict[str, Any]:
        """What registration's store holds on a subject (sealed values still sealed): the
        events of their application or inquiry and of their privacy requests. Blocking."""
        subject = self.find(subject_id, Applicant) or self.find(subject_id, Inquiry)
        if subject is None:
            return {"events": []}
        return {"events": stored_events_of(self, [subject_id, *subject.privacy_requests])}


def _refusal(subject: Applicant | Inquiry, right: str) -> str | None:
    if subject.erased:
        return "this person's data was erased"
    if isinstance(subject, Inquiry):
        return "this right applies to an application; an inquiry can be disclosed or deleted"
    return None


def _answer_of(request: PrivacyRequest, request_id: uuid.UUID) -> PrivacyAnswer:
    return PrivacyAnswer(
        request_id=request_id,
        subject_id=request.subject_id,
        right=request.right,
        outcome=request.outcome or "pending",
        outcome_reason=request.outcome_reason,
    )
