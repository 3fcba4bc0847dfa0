"""An application: one applicant's intake in one cohort, from pre-registration to
documents. Personal details are kept as the applicant gave them; amendments by the
office are recorded with their reason, never overwritten silently."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from eventsourcing.domain import Aggregate, event

from kernel.actor import Actor
from kernel.rules import RuleViolation, require
from services.registration.domain.documents import outstanding_documents

EMAIL_CLAIM_NAMESPACE = uuid.UUID("5e0f8a3c-7a31-4b65-9d0e-1b2c3d4e5f60")

#: Details the office may amend on an applicant's request (domain page: name,
#: nationality, age, language, address), with the field names of the registration form.
AMENDABLE_FIELDS = frozenset(
    {
        "given_name",
        "family_name",
        "date_of_birth",
        "nationality",
        "country_of_residence",
        "languages",
        "education",
    }
)


def normalise_email(email: str) -> str:
    """One address, however it is typed: surrounding spaces and case do not count."""
    return email.strip().lower()


class EmailClaim(Aggregate):
    """Reserves an address in a cohort for one application. Saved atomically with the
    application, its deterministic id makes a second claim of the same address fail:
    one live application per address per cohort."""

    @staticmethod
    def create_id(cohort_id: str, email: str, **_: Any) -> uuid.UUID:
        return EmailClaim.id_for(cohort_id, email)

    @staticmethod
    def id_for(cohort_id: str, email: str) -> uuid.UUID:
        return uuid.uuid5(EMAIL_CLAIM_NAMESPACE, f"{cohort_id}:{normalise_email(email)}")

    @event("Claimed")
    def __init__(self, cohort_id: str, email: str, applicant_id: uuid.UUID) -> None:
        self.cohort_id = cohort_id
        self.applicant_id = applicant_id


class Applicant(Aggregate):
    """Stages: preregistered -> registered (documents may then follow, in any number of
    submissions, until none is outstanding)."""

    @staticmethod
    def create_id(applicant_id: uuid.UUID, **_: Any) -> uuid.UUID:
        # Chosen by the command, so that the pre-registering applicant can be named as
        # the actor of their own application's first event.
        return applicant_id

    @event("Preregistered")
    def __init__(
        self,
        applicant_id: uuid.UUID,
        cohort_id: str,
        email: str,
        preregistered_at: datetime,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.cohort_id = cohort_id
        self.email = email
        self.preregistered_at = preregistered_at
        self.link_number = 0
        self.link_expires_at: datetime | None = None
        self.details: dict[str, Any] | None = None
        self.registered_at: datetime | None = None
        self.documents: list[dict[str, Any]] = []
        self.amendments: list[dict[str, Any]] = []

    # -- the registration link ---------------------------------------------------------
    def issue_registration_link(
        self, at: datetime, valid_for: timedelta, correlation_id: uuid.UUID, actor: Actor
    ) -> None:
        require(
            self.details is None,
            "email",
            "this application is already registered",
            conflict=True,
        )
        self._registration_link_issued(
            cohort_id=self.cohort_id,
            email=self.email,
            link_number=self.link_number + 1,
            expires_at=at + valid_for,
            correlation_id=correlation_id,
            causation_id=None,
            actor=actor,
        )

    @event("RegistrationLinkIssued")
    def _registration_link_issued(
        self,
        cohort_id: str,
        email: str,
        link_number: int,
        expires_at: datetime,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.link_number = link_number
        self.link_expires_at = expires_at

    def check_registration_link(self, link_number: int, at: datetime) -> None:
        """A link is good once, for registration only, until it expires; issuing a new
        link retires the older ones."""
        require(
            self.details is None, "token", "this registration link was already used", conflict=True
        )
        require(link_number == self.link_number, "token", "this registration link was replaced")
        require(
            self.link_expires_at is not None and at < self.link_expires_at,
            "token",
            "this registration link has expired; ask for a new one",
        )

    # -- full registration -------------------------------------------------------------
    def register(
        self,
        link_number: int,
        details: dict[str, Any],
        course_codes: list[str],
        at: datetime,
        correlation_id: uuid.UUID,
        actor: Actor,
    ) -> None:
        self.check_registration_link(link_number, at)
        for i, code in enumerate(details["course_preferences"]):
            require(
                code in course_codes,
                f"course_preferences.{i}",
                f"course {code} is not offered in {self.cohort_id}",
            )
        require(
            details["privacy_policy_consent"] is True,
            "privacy_policy_consent",
            "consent to the privacy policy is required to process an application",
        )
        self._registered(
            cohort_id=self.cohort_id,
            email=self.email,
            details=details,
            registered_at=at,
            correlation_id=correlation_id,
            causation_id=None,
            actor=actor,
        )

    @event("Registered")
    def _registered(
        self,
        cohort_id: str,
        email: str,
        details: dict[str, Any],
        registered_at: datetime,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.details = details
        self.registered_at = registered_at

    # -- documents ---------------------------------------------------------------------
    def submit_documents(
        self, documents: list[dict[str, Any]], at: datetime, correlation_id: uuid.UUID, actor: Actor
    ) -> None:
        if self.details is None:
            raise RuleViolation(
                "applicant_id", "documents come after the full registration", conflict=True
            )
        require(len(documents) > 0, "files", "at least one document is required")
        submitted = {d["kind"] for d in [*self.documents, *documents]}
        assert self.details is not None
        self._documents_submitted(
            cohort_id=self.cohort_id,
            documents=documents,
            outstanding=outstanding_documents(self.details["education"]["status"], submitted),
            submitted_at=at,
            correlation_id=correlation_id,
            causation_id=None,
            actor=actor,
        )

    @event("DocumentsSubmitted")
    def _documents_submitted(
        self,
        cohort_id: str,
        documents: list[dict[str, Any]],
        outstanding: list[str],
        submitted_at: datetime,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.documents.extend(documents)

    def outstanding_documents(self) -> list[str]:
        if self.details is None:
            return []
        submitted = {d["kind"] for d in self.documents}
        return outstanding_documents(self.details["education"]["status"], submitted)

    # -- amendments by the office ------------------------------------------------------
    def amend_details(
        self,
        changes: dict[str, Any],
        reason: str,
        amended_by: str,
        at: datetime,
        correlation_id: uuid.UUID,
        actor: Actor,
    ) -> None:
        if self.details is None:
            raise RuleViolation(
                "applicant_id", "only registered details can be amended", conflict=True
            )
        require(len(changes) > 0, "changes", "name at least one detail to change")
        for name in changes:
            require(name in AMENDABLE_FIELDS, f"changes.{name}", "this detail cannot be amended")
        require(len(reason.strip()) > 0, "reason", "say why the details change")
        previous = {name: self.details.get(name) for name in changes}
        self._details_amended(
            cohort_id=self.cohort_id,
            changes=changes,
            previous=previous,
            reason=reason.strip(),
            amended_by=amended_by,
            amended_at=at,
            correlation_id=correlation_id,
            causation_id=None,
            actor=actor,
        )

    @event("DetailsAmended")
    def _details_amended(
        self,
        cohort_id: str,
        changes: dict[str, Any],
        previous: dict[str, Any],
        reason: str,
        amended_by: str,
        amended_at: datetime,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        assert self.details is not None
        self.details = {**self.details, **changes}
        self.amendments.append({"fields": sorted(changes), "reason": reason, "at": amended_at})

    @property
    def stage(self) -> str:
        if self.details is None:
            return "preregistered"
        if self.outstanding_documents():
            return "registered"
        return "documents_complete"
