"""Registration's application service: every command an applicant or the office can
give, each loading aggregates, applying the domain's rules and saving atomically.

Commands are idempotent by natural key, so a retry or a double click never creates a
second application or a second event: the same address in the same cohort, the same
completed form, the same document checksums, the same inquiry text.

Personal values are sealed here, once, with their subject's key, before they reach an
aggregate (the domain checks its rules on the clear values and records what the seal
gives): the stored events hold only sealed text, which the relay copies verbatim to
Kafka. The natural keys that come from personal values (an address's claim in a cohort,
an inquiry's id) are keyed hashes, see `EmailClaim`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from eventsourcing.persistence import IntegrityError
from pydantic import ValidationError

from events.reference import dac_list
from events.registration import CohortRules
from kernel import actor as acting
from kernel.actor import Actor
from kernel.rules import NotFound, RuleViolation
from runtime.application import ServiceApplication, conflict_retried
from runtime.identity import TokenIssuer
from runtime.privacy import PersonalData, SubjectErased
from services.registration.application.privacy import PrivacyCommands
from services.registration.application.tokens import TokenSigner
from services.registration.domain.applicant import (
    Applicant,
    EmailClaim,
    Seal,
    normalise_email,
)
from services.registration.domain.cohort import Cohort, check_fiscal_year, cohort_aggregate_id
from services.registration.domain.inquiry import Inquiry

Clock = Callable[[], datetime]


class RegistrationApplication(PrivacyCommands, ServiceApplication):
    name = "registration"

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        signer: TokenSigner,
        applicant_tokens: TokenIssuer | None = None,
        applicant_token_valid_for: timedelta = timedelta(days=30),
        personal_data: PersonalData,
        pseudonym_secret: bytes,
        delete_documents: Callable[[uuid.UUID], None] = lambda _: None,
        link_valid_for: timedelta = timedelta(days=7),
        clock: Clock = lambda: datetime.now(UTC),
    ) -> None:
        """`personal_data` seals, opens and erases personal values; `pseudonym_secret`
        keys the hashes of addresses and inquiries; `delete_documents` removes an
        applicant's uploaded files (the document store's, given by the bootstrap)."""
        super().__init__(env)
        if len(pseudonym_secret) < 16:
            raise ValueError("the pseudonym secret must be at least 16 bytes")
        self.signer = signer
        self.applicant_tokens = applicant_tokens
        self.applicant_token_valid_for = applicant_token_valid_for
        self.personal = personal_data
        self.pseudonym_secret = pseudonym_secret
        self.delete_documents = delete_documents
        self.link_valid_for = link_valid_for
        self.clock = clock

    def close(self) -> None:
        super().close()
        self.personal.close()

    def sealer(self, subject_id: uuid.UUID) -> Seal:
        """Seals values of one subject; their key is looked up (or made) on first use, so
        a command refused before it records anything personal costs no lookup."""
        key: list[bytes] = []

        def seal(value: Any) -> str:
            if not key:
                try:
                    key.append(self.personal.keystore.key_for_sealing(subject_id))
                except SubjectErased:
                    raise RuleViolation(
                        "subject_id", "this person's data was erased", conflict=True
                    ) from None
            return PersonalData.seal_with(key[0], subject_id, value)

        return seal

    def claim_id_of(self, cohort_id: str, email: str) -> uuid.UUID:
        return EmailClaim.id_for(self.pseudonym_secret, cohort_id, email)

    # -- cohorts -----------------------------------------------------------------------
    @conflict_retried
    def open_cohort(self, spec: dict[str, Any], actor: Actor, correlation_id: uuid.UUID) -> bool:
        """Opens a cohort; opening the same cohort again with the same spec is a no-op
        (returns False), with a different spec a conflict."""
        cohort_id = spec["cohort_id"]
        rules = {
            "rule_set_id": f"jip-{cohort_id.lower()}",
            "rule_set_version": 1,
            **spec["rules"],
        }
        if "recipient_list" not in rules:
            fiscal_year = check_fiscal_year(cohort_id)
            try:
                rules["recipient_list"] = dac_list.edition_for_year(fiscal_year).id
            except dac_list.UnknownEdition:
                raise RuleViolation(
                    "rules.recipient_list",
                    f"no edition of the DAC List is in force for FY{fiscal_year}: name one",
                ) from None
        spec = {**spec, "rules": complete_rules(rules, "rules.")}
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

    def revise_cohort_rules(
        self, cohort_id: str, rules: dict[str, Any], actor: Actor, correlation_id: uuid.UUID
    ) -> None:
        """Records the next version of a cohort's rule set (`rules` names it)."""

        def attempt() -> None:
            cohort = self.get_cohort(cohort_id)
            current = {k: cohort.rules.get(k) for k in ("rule_set_id", "recipient_list")}
            complete = complete_rules({**current, **rules}, "")
            cohort.revise_rules(complete, actor["id"], correlation_id, actor)
            self.save(cohort)

        self.retry_on_conflict(attempt)

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
        claim_id = self.claim_id_of(cohort_id, email)
        claim = self.find(claim_id, EmailClaim)
        if claim is not None and claim.applicant_id is not None:
            return claim.applicant_id, False
        applicant_id = uuid.uuid4()
        # Whoever pre-registers an address acts as the applicant of that application.
        actor = acting.applicant(applicant_id)
        applicant = Applicant(
            applicant_id=applicant_id,
            cohort_id=cohort_id,
            email=self.sealer(applicant_id)(email),
            preregistered_at=now,
            correlation_id=correlation_id,
            causation_id=None,
            actor=actor,
            email_claim_id=claim_id,
        )
        applicant.issue_registration_link(now, self.link_valid_for, correlation_id, actor)
        if claim is None:
            claim = EmailClaim(claim_id=claim_id, cohort_id=cohort_id, applicant_id=applicant.id)
        else:  # released by an erased application: the address applies anew
            claim.reclaim(applicant.id)
        try:
            self.save(applicant, claim)
        except IntegrityError:
            # A concurrent request claimed the address first: same answer as a retry.
            # (The key made for the losing id stays unused: it seals nothing.)
            winner = self.repository.get(claim_id).applicant_id
            if winner is None:
                raise
            return winner, False
        return applicant.id, True

    def reissue_registration_link(
        self, cohort_id: str, email: str, correlation_id: uuid.UUID
    ) -> None:
        """A new link for an address that lost or let expire its link. Silent when the
        address is unknown and when its application is already registered (a link would
        be of no use), so that the endpoint cannot be used to learn who applied."""
        claim = self.find(self.claim_id_of(cohort_id, email), EmailClaim)
        if claim is None or claim.applicant_id is None:
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

    def is_active_applicant(self, applicant_id: uuid.UUID) -> bool:
        """Whether the applicant may still act: an erased applicant's token, although
        validly signed until it expires, is refused. Reads the store: call it in a
        thread."""
        applicant = self.find(applicant_id, Applicant)
        return applicant is None or not applicant.erased

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
                and claims.serial == applicant.link_number
                and not applicant.erased
                and self.personal.reveal(applicant.details) == details
            ):
                return applicant, False
            cohort = self.get_cohort(applicant.cohort_id)
            applicant.register(
                claims.serial,
                details,
                cohort.course_codes(),
                cohort.age_reference_date,
                self.clock(),
                self.sealer(applicant.id),
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
            applicant.submit_documents(
                new, self.clock(), self.sealer(applicant_id), correlation_id, actor
            )
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
        request_id: uuid.UUID | None = None,
    ) -> bool:
        """The office changes registered details, saying why; `request_id` names the
        applicant's request (amendment or addition) this answers, which is then answered
        as done in the same save. False when the details already read so."""

        def attempt() -> bool:
            applicant = self.get_applicant(applicant_id)
            request = (
                None
                if request_id is None
                else self.pending_change_request(request_id, applicant_id)
            )
            unchanged = (
                applicant.details is not None
                and not applicant.erased
                # Opened together: one key lookup.
                and self.personal.reveal({k: applicant.details.get(k) for k in changes}) == changes
            )
            if not unchanged:
                cohort = self.get_cohort(applicant.cohort_id)
                applicant.amend_details(
                    changes,
                    reason,
                    actor["id"],
                    cohort.age_reference_date,
                    self.clock(),
                    self.sealer(applicant_id),
                    correlation_id,
                    actor,
                    request_id=request_id,
                )
            if request is not None:
                note = "the details already read so" if unchanged else None
                request.answer("done", note, self.clock(), correlation_id, actor)
            if unchanged and request is None:
                return False
            self.save(applicant, *([request] if request is not None else []))
            return not unchanged

        return self.retry_on_conflict(attempt)

    # -- inquiries ---------------------------------------------------------------------
    @conflict_retried
    def receive_inquiry(
        self, form: dict[str, Any], correlation_id: uuid.UUID
    ) -> tuple[uuid.UUID, bool]:
        email = normalise_email(form["email"])
        inquiry_id = Inquiry.id_for(
            self.pseudonym_secret, email, form["inquiry_type"], form["text"]
        )
        if self.find(inquiry_id, Inquiry) is not None:
            return inquiry_id, False
        inquiry = Inquiry.receive(
            inquiry_id=inquiry_id,
            seal=self.sealer(inquiry_id),
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
        inquiry.answer_with(
            answer, actor["id"], self.clock(), self.sealer(inquiry_id), correlation_id, actor
        )
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
        "rules": cohort.opened_rules,
    }


def complete_rules(rules: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The rules as the contract records them, with the recipients of the DAC List
    edition they name (the office names the edition, never types the list; the log then
    holds it). `prefix`: how the caller's input names the rules (e.g. "rules.")."""
    edition_id = rules.get("recipient_list")
    try:
        codes = dac_list.recipient_codes(str(edition_id))
    except dac_list.UnknownEdition:
        raise RuleViolation(
            f"{prefix}recipient_list",
            f"no edition of the DAC List is called {edition_id!r}; known: "
            + ", ".join(sorted(dac_list.EDITIONS)),
        ) from None
    try:
        return CohortRules.model_validate({**rules, "recipient_countries": codes}).model_dump(
            mode="json"
        )
    except ValidationError as e:
        error = e.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise RuleViolation(f"{prefix}{where}", error["msg"]) from None
