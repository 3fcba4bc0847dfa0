"""Host companies in matching's application: their registration for a cohort (by the
office or by the company's own user), and what the office reads of them.

The contacts are the only personal data here: sealed with the company's own key (the
company id is their data subject) at the command, before they reach the aggregate, and
opened only when a reader allowed to see them asks.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kernel.actor import Actor
from kernel.rules import NotFound, RuleViolation
from runtime.privacy import PersonalData, SubjectErased
from services.matching.domain.company import (
    Company,
    CompanyRegistration,
    CorporateNumberClaim,
    company_aggregate_id,
    corporate_number_claim_id,
)
from services.matching.domain.courses import CohortCourses, cohort_courses_id_for

if TYPE_CHECKING:
    from services.matching.application.service import MatchingApplication


@dataclass(frozen=True)
class Decided:
    """A registration's outcome: the company's record, and whether this call recorded
    it (False: the very same registration was already decided)."""

    company: Company
    new: bool


class HostCompanies:
    """The company commands and queries of `MatchingApplication` (mixed into it)."""

    def cohort_courses(self: MatchingApplication, cohort_id: str) -> dict[str, str]:
        """The cohort's course codes and modes, as its opening announced them."""
        courses = self.find(cohort_courses_id_for(cohort_id), CohortCourses)
        if courses is None:
            raise RuleViolation(
                "cohort_id",
                f"matching has not heard of cohort {cohort_id} opening (its courses come "
                "with the cohort's opening)",
                conflict=True,
            )
        return courses.courses

    def register_company(
        self: MatchingApplication,
        registration: CompanyRegistration,
        contacts: list[dict[str, Any]],
        personal: PersonalData,
        actor: Actor,
        correlation_id: uuid.UUID | None = None,
    ) -> Decided:
        """Record a company's registration, accepted or refused by the SME rule. Bad
        input (a field's own rule, a course the cohort lacks) records nothing."""
        registration.check(self.cohort_courses(registration.cohort_id))
        require_contacts(contacts)

        def attempt() -> Decided:
            company = self.find(company_aggregate_id(registration.company_id), Company)
            same_contacts = (
                company is not None
                and bool(company.contacts)
                and (personal.unseal(company.contacts) == contacts)
            )
            if company is None:
                company = Company(
                    company_id=registration.company_id,
                    cohort_id=registration.cohort_id,
                    correlation_id=correlation_id or uuid.uuid4(),
                    causation_id=None,
                    actor=actor,
                )
            try:
                sealed = personal.seal(registration.company_id, contacts)
            except SubjectErased:
                raise RuleViolation(
                    "company_id", "this company's data was erased", conflict=True
                ) from None
            new = company.register(
                registration,
                sealed,
                same_contacts,
                correlation_id or company.correlation_id,
                actor,
            )
            if not new:
                return Decided(company, False)
            if company.status != "registered":
                self.save(company)
                return Decided(company, True)
            claim_id = corporate_number_claim_id(
                registration.cohort_id, registration.corporate_number
            )
            claim = self.find(claim_id, CorporateNumberClaim)
            if claim is not None and claim.company_id != registration.company_id:
                raise RuleViolation(
                    "corporate_number",
                    f"a company with this corporate number is already registered for "
                    f"{registration.cohort_id} under another company id",
                    conflict=True,
                )
            if claim is None:
                claim = CorporateNumberClaim(
                    cohort_id=registration.cohort_id,
                    corporate_number=registration.corporate_number,
                    company_id=registration.company_id,
                    correlation_id=company.correlation_id,
                    causation_id=None,
                    actor=actor,
                )
            self.save(company, claim)
            return Decided(company, True)

        return self.retry_on_conflict(attempt)

    def get_company(self: MatchingApplication, company_id: uuid.UUID) -> Company:
        company = self.find(company_aggregate_id(company_id), Company)
        if company is None:
            raise NotFound("company_id", "there is no such company")
        return company

    def companies_of_cohort(self: MatchingApplication, cohort_id: str) -> list[Company]:
        """The companies that registered (or tried to) for the cohort, in the order they
        first did. Read from their first events in the log (a few hundred a year)."""
        ids: list[uuid.UUID] = [
            e.originator_id
            for e in self.stored_events_of(Company.Opened)  # type: ignore[attr-defined]
            if e.cohort_id == cohort_id
        ]
        found = self._read_many(ids)
        return [found[i] for i in ids if isinstance(found.get(i), Company)]


#: At most this many contacts per company.
MAX_CONTACTS = 5


def require_contacts(contacts: list[dict[str, Any]]) -> None:
    if not 1 <= len(contacts) <= MAX_CONTACTS:
        raise RuleViolation("contacts", f"give one to {MAX_CONTACTS} contacts")
