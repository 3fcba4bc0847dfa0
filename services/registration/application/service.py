"""Registration's application service: every command an applicant or the office can
give, each loading aggregates, applying the domain's rules and saving atomically.

Commands are idempotent by natural key, so a retry or a double click never creates a
second application or a second event: the same address in the same cohort, the same
completed form, the same document checksums, the same inquiry text.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from eventsourcing.persistence import IntegrityError

from kernel import actor as acting
from kernel.actor import Actor
from kernel.rules import NotFound, RuleViolation
from runtime.application import ServiceApplication, conflict_retried
from runtime.identity import TokenIssuer
from services.registration.application.tokens import TokenSigner
from services.registration.domain.applicant import Applicant, EmailClaim, normalise_email
from services.registration.domain.cohort import Cohort, cohort_aggregate_id
from services.registration.domain.inquiry import Inquiry

Clock = Callable[[], datetime]


class RegistrationApplication(ServiceApplication):
    name = "registration"

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        signer: TokenSigner,
        applicant_tokens: TokenIssuer | None = None,
        applicant_token_valid_for: timedelta = timedelta(days=30),
        link_valid_for: timedelta = timedelta(days=7),
        clock: Clock = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(env)
        self.signer = signer
        self.applicant_tokens = applicant_tokens
        self.applicant_token_valid_for = applicant_token_valid_for
        self.link_valid_for = link_valid_for
        self.clock = clock

    # -- cohorts -----------------------------------------------------------------------
    @conflict_retried
    def open_cohort(self, spec: dict[str, Any], actor: Actor, correlation_id: uuid.UUID) -> bool:
        """Opens a cohort; opening the same cohort again with the same spec is a no-op
        (returns False), with a different spec a conflict."""
        aggregate_id = cohort_aggregate_id(spec["cohort_id"])
        existing = self.find(aggregate_id, Cohort)
        if existing is not None:
            if _cohort_spec(existing) != spec:
                raise RuleViolation(
                    "cohort_id", "this cohort is already open with other terms", conflict=True
                )
            return False
        cohort = Cohort.open(
            **spec,
            opened_by=actor["id"],
            correlation_id=correlation_id,
            causation_id=None,
            actor=actor,
        )
        self.save(cohort)
        return True

    def get_cohort(self, cohort_id: str) -> Cohort:
        aggregate_id = cohort_aggregate_id(cohort_id)
        cohort = self.find(aggregate_id, Cohort)
        if cohort is None:
            raise NotFound("cohort_id", f"there is no cohort {cohort_id}")
        return cohort

    # -- applicants --------------------------------------------------------------------
    def preregister(
        self, cohort_id: str, email: str, correlation_id: uuid.UUID
    ) -> tuple[uuid.UUID, bool]:
        """Creates the application and issues its registration link. Returns the
        applicant id and whether it was created now (False: the address was already
        pre-registered in this cohort, and nothing new is recorded)."""
        now = self.clock()
        cohort = self.get_cohort(cohort_id)
        cohort.check_accepts_applications(now)
        email = normalise_email(email)
        claim_id = EmailClaim.id_for(cohort_id, email)
        claim = self.find(claim_id, EmailClaim)
        if claim is not None:
            return claim.applicant_id, False
        applicant_id = uuid.uuid4()
        # Whoever pre-registers an address acts as the applicant of that application.
        actor = acting.applicant(applicant_id)
        applicant = Applicant(
            applicant_id=applicant_id,
            cohort_id=cohort_id,
            email=email,
            preregistered_at=now,
            correlation_id=correlation_id,
            causation_id=None,
            actor=actor,
        )
        applicant.issue_registration_link(now, self.link_valid_for, correlation_id, actor)
        claim = EmailClaim(cohort_id=cohort_id, email=email, applicant_id=applicant.id)
        try:
            self.save(applicant, claim)
        except IntegrityError:
            # A concurrent request claimed the address first: same answer as a retry.
            return self.repository.get(claim_id).applicant_id, False
        return applicant.id, True

    def reissue_registration_link(
        self, cohort_id: str, email: str, correlation_id: uuid.UUID
    ) -> None:
        """A new link for an address that lost or let expire its link. Silent when the
        address is unknown and when its application is already registered (a link would
        be of no use), so that the endpoint cannot be used to learn who applied."""
        claim_id = EmailClaim.id_for(cohort_id, email)
        claim = self.find(claim_id, EmailClaim)
        if claim is None:
            return
        applicant = self.get_applicant(claim.applicant_id)
        if applicant.details is not None:
            return
        applicant.issue_registration_link(
            self.clock(), self.link_valid_for, correlation_id, acting.applicant(applicant.id)
        )
        self.save(applicant)

    def get_applicant(self, applicant_id: uuid.UUID) -> Applicant:
        applicant = self.find(applicant_id, Applicant)
        if applicant is None:
            raise NotFound("applicant_id", "there is no such application")
        return applicant

    def open_registration_link(self, token: str) -> tuple[Applicant, Cohort]:
        """What an applicant who follows the link sees before filling in the form: the
        link is checked (genuine, current, unused, unexpired) and the cohort shown."""
        claims = self.signer.verify("registration-link", token)
        applicant = self.get_applicant(claims.applicant_id)
        applicant.check_registration_link(claims.serial, self.clock())
        return applicant, self.get_cohort(applicant.cohort_id)

    def registration_link(self, applicant_id: uuid.UUID, link_number: int) -> str:
        return self.signer.sign("registration-link", applicant_id, link_number)

    def access_token(self, applicant_id: uuid.UUID) -> str:
        """A bearer token for the applicant's own endpoints (in every service), signed
        with registration's own key, for `applicant_token_valid_for`."""
        if self.applicant_tokens is None:
            raise RuntimeError("this registration application issues no access tokens")
        issued = self.applicant_tokens.issue(
            "applicant", str(applicant_id), self.applicant_token_valid_for, now=self.clock()
        )
        return issued.token

    def register(
        self, token: str, details: dict[str, Any], correlation_id: uuid.UUID
    ) -> tuple[Applicant, bool]:
        """Completes the registration through a link. Submitting the same form again
        through the same link answers as the first time, without a new event."""
        claims = self.signer.verify("registration-link", token)

        def attempt() -> tuple[Applicant, bool]:
            applicant = self.get_applicant(claims.applicant_id)
            if (
                applicant.details is not None
                and applicant.details == details
                and claims.serial == applicant.link_number
            ):
                return applicant, False
            cohort = self.get_cohort(applicant.cohort_id)
            applicant.register(
                claims.serial,
                details,
                cohort.course_codes(),
                self.clock(),
                correlation_id,
                acting.applicant(applicant.id),
            )
            self.save(applicant)
            return applicant, True

        return self.retry_on_conflict(attempt)

    def submit_documents(
        self,
        applicant_id: uuid.UUID,
        documents: list[dict[str, Any]],
        actor: Actor,
        correlation_id: uuid.UUID,
    ) -> tuple[Applicant, list[dict[str, Any]]]:
        """Records documents already written to the document store. Documents whose kind
        and checksum were already recorded are not recorded again; returns the ones that
        were new."""

        def attempt() -> tuple[Applicant, list[dict[str, Any]]]:
            applicant = self.get_applicant(applicant_id)
            known = {(d["kind"], d["sha256"]) for d in applicant.documents}
            new = [d for d in documents if (d["kind"], d["sha256"]) not in known]
            if not new:
                return applicant, []
            applicant.submit_documents(new, self.clock(), correlation_id, actor)
            self.save(applicant)
            return applicant, new

        return self.retry_on_conflict(attempt)

    def amend_details(
        self,
        applicant_id: uuid.UUID,
        changes: dict[str, Any],
        reason: str,
        actor: Actor,
        correlation_id: uuid.UUID,
    ) -> bool:

        def attempt() -> bool:
            applicant = self.get_applicant(applicant_id)
            if applicant.details is not None and all(
                applicant.details.get(k) == v for k, v in changes.items()
            ):
                return False
            applicant.amend_details(
                changes, reason, actor["id"], self.clock(), correlation_id, actor
            )
            self.save(applicant)
            return True

        return self.retry_on_conflict(attempt)

    # -- inquiries ---------------------------------------------------------------------
    @conflict_retried
    def receive_inquiry(
        self, form: dict[str, Any], correlation_id: uuid.UUID
    ) -> tuple[uuid.UUID, bool]:
        email = normalise_email(form["email"])
        inquiry_id = Inquiry.id_for(email, form["inquiry_type"], form["text"])
        if self.find(inquiry_id, Inquiry) is not None:
            return inquiry_id, False
        inquiry = Inquiry.receive(
            consent=form["privacy_policy_consent"],
            name=form["name"],
            email=email,
            country=form["country"],
            phone=form.get("phone"),
            sender_kind=form["sender_kind"],
            inquiry_type=form["inquiry_type"],
            text=form["text"],
            received_at=self.clock(),
            correlation_id=correlation_id,
            causation_id=None,
            actor=acting.inquirer(inquiry_id),
        )
        self.save(inquiry)
        return inquiry_id, True

    def answer_inquiry(
        self, inquiry_id: uuid.UUID, answer: str, actor: Actor, correlation_id: uuid.UUID
    ) -> None:
        inquiry = self.find(inquiry_id, Inquiry)
        if inquiry is None:
            raise NotFound("inquiry_id", "there is no such inquiry")
        inquiry.answer_with(answer, actor["id"], self.clock(), correlation_id, actor)
        self.save(inquiry)


def _cohort_spec(cohort: Cohort) -> dict[str, Any]:
    return {
        "cohort_id": cohort.cohort_id,
        "applications_open_at": cohort.applications_open_at,
        "applications_close_at": cohort.applications_close_at,
        "age_reference_date": cohort.age_reference_date,
        "min_age": cohort.min_age,
        "max_age": cohort.max_age,
        "results_by": cohort.results_by,
        "courses": cohort.courses,
        "rules": cohort.rules,
    }
