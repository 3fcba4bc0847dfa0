"""A host company: registered for a cohort by the office or by the company itself, and
accepted only when it is an eligible host (a small or medium-sized enterprise, see
`sme.py`).

What it offers an intern: the cohort's courses it runs, its internship plan (content,
required languages and levels, skills) and a capacity (usually one intern). Its
contacts are personal data: they arrive here already sealed with the company's own key
(the company is their data subject), and the domain only keeps the sealed text.

A refused registration is recorded with its reasons (the office and the company are
told); the company may register again with corrected figures. An accepted registration
is final here: sending it again changes nothing, and a different one is a conflict
(amendments are not part of this service yet).
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Final, Literal

from eventsourcing.domain import Aggregate, event

from kernel.actor import Actor
from kernel.rules import RuleViolation, require
from services.matching.domain.sme import (
    INDUSTRIES,
    ORGANISATION_KINDS,
    Industry,
    OrganisationKind,
    assess_sme,
)

COMPANY_NAMESPACE = uuid.UUID("9e2d4b7a-3c1f-4a58-8e6d-1f0b2c3a4d5e")

#: Japan's 47 prefectures, north to south (JIS X 0401 order), as the contract spells them.
PREFECTURES: Final = (
    "hokkaido", "aomori", "iwate", "miyagi", "akita", "yamagata", "fukushima",
    "ibaraki", "tochigi", "gunma", "saitama", "chiba", "tokyo", "kanagawa",
    "niigata", "toyama", "ishikawa", "fukui", "yamanashi", "nagano", "gifu",
    "shizuoka", "aichi", "mie", "shiga", "kyoto", "osaka", "hyogo", "nara",
    "wakayama", "tottori", "shimane", "okayama", "hiroshima", "yamaguchi",
    "tokushima", "kagawa", "ehime", "kochi", "fukuoka", "saga", "nagasaki",
    "kumamoto", "oita", "miyazaki", "kagoshima", "okinawa",
)  # fmt: skip

#: At most this many interns per company and cohort (a sanity bound on a typing slip).
MAX_CAPACITY: Final = 50

CompanyStatus = Literal["registered", "refused"]


def company_aggregate_id(company_id: uuid.UUID) -> uuid.UUID:
    """The company's record in matching's store. Derived (not the company id itself) so
    that a lookup by a data subject's id never mistakes a company for a candidate."""
    return uuid.uuid5(COMPANY_NAMESPACE, f"company:{company_id}")


def corporate_number_claim_id(cohort_id: str, corporate_number: str) -> uuid.UUID:
    return uuid.uuid5(COMPANY_NAMESPACE, f"corporate-number:{cohort_id}:{corporate_number}")


def corporate_number_check_digit(base: str) -> int:
    """The check digit of a 12-digit base number, as the National Tax Agency defines the
    corporate number (法人番号): 9 - (sum of the digits, weighted 1, 2, 1, 2, ... from the
    rightmost, mod 9). The check digit comes first in the 13 digits."""
    total = sum(int(d) * (1 if n % 2 else 2) for n, d in enumerate(reversed(base), start=1))
    return 9 - total % 9


def why_not_a_corporate_number(number: str) -> str | None:
    """Why this is not a valid corporate number, or None."""
    if len(number) != 13 or not number.isascii() or not number.isdigit():
        return "a corporate number is 13 digits (法人番号)"
    if int(number[0]) != corporate_number_check_digit(number[1:]):
        return "this corporate number's check digit (its first digit) does not match"
    return None


@dataclass(frozen=True)
class InternshipPlan:
    """What an intern will do, and what they need for it."""

    content: str
    #: Minimum levels, in the contract's LanguageProficiency vocabulary (jlpt, ielts,
    #: toefl_ibt, toeic, cefr): e.g. {"jlpt": "N3"} means N3 or better.
    required_languages: dict[str, Any] = field(default_factory=dict)
    skills: tuple[str, ...] = ()
    #: When the company can host, as month intervals `YYYY-MM/YYYY-MM`; none: any.
    periods: tuple[str, ...] = ()


@dataclass(frozen=True)
class CompanyRegistration:
    """The command: a host company's registration for a cohort (contacts apart: they
    are personal data, given sealed)."""

    company_id: uuid.UUID
    cohort_id: str
    legal_name: str
    corporate_number: str
    organisation_kind: OrganisationKind
    industry: Industry
    prefecture: str
    capital_yen: int
    regular_employees: int
    courses: tuple[str, ...]
    plan: InternshipPlan
    capacity: int = 1

    def details(self) -> dict[str, Any]:
        """As recorded in the company's events (JSON-like)."""
        recorded = asdict(self)
        recorded["company_id"] = str(self.company_id)
        recorded["courses"] = list(self.courses)
        recorded["plan"]["skills"] = list(self.plan.skills)
        recorded["plan"]["periods"] = list(self.plan.periods)
        return recorded

    def check(self, cohort_courses: dict[str, str]) -> None:
        """The input's own rules, each naming its field: nothing is recorded when one
        fails. (Eligibility is a decision, recorded either way: see `Company`.)"""
        require(bool(self.legal_name.strip()), "legal_name", "give the company's legal name")
        why_not = why_not_a_corporate_number(self.corporate_number)
        if why_not is not None:
            raise RuleViolation("corporate_number", why_not)
        require(
            self.organisation_kind in ORGANISATION_KINDS,
            "organisation_kind",
            f"one of {', '.join(ORGANISATION_KINDS)}",
        )
        require(self.industry in INDUSTRIES, "industry", f"one of {', '.join(INDUSTRIES)}")
        require(
            self.prefecture in PREFECTURES,
            "prefecture",
            "one of Japan's 47 prefectures, in lower case (e.g. tokyo, osaka, hokkaido)",
        )
        require(self.capital_yen >= 0, "capital_yen", "capital is zero or more yen")
        require(self.regular_employees >= 0, "regular_employees", "zero or more employees")
        require(bool(self.courses), "courses", "offer at least one of the cohort's courses")
        require(len(set(self.courses)) == len(self.courses), "courses", "each course once")
        for i, code in enumerate(self.courses):
            require(
                code in cohort_courses,
                f"courses.{i}",
                f"the cohort {self.cohort_id} has no course {code} (its courses: "
                f"{', '.join(sorted(cohort_courses))})",
            )
        require(bool(self.plan.content.strip()), "plan.content", "describe the internship")
        require(
            1 <= self.capacity <= MAX_CAPACITY,
            "capacity",
            f"a company takes at least 1 and at most {MAX_CAPACITY} interns",
        )


class Company(Aggregate):
    """A host company's record in a cohort: its registrations, accepted or refused."""

    @staticmethod
    def create_id(company_id: uuid.UUID, **_: Any) -> uuid.UUID:
        return company_aggregate_id(company_id)

    @event("Opened")
    def __init__(
        self,
        company_id: uuid.UUID,
        cohort_id: str,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.company_id = company_id
        self.cohort_id = cohort_id
        self.correlation_id = correlation_id
        self.status: CompanyStatus | None = None
        self.details: dict[str, Any] = {}
        #: The contacts, sealed with the company's key.
        self.contacts = ""
        self.eligibility: dict[str, Any] = {}
        self.refusals: list[dict[str, Any]] = []
        #: Candidates it would accept, best first, for the next rounds; None until stated.
        self.preferences: list[uuid.UUID] | None = None

    @property
    def capacity(self) -> int:
        return int(self.details.get("capacity", 0)) if self.status == "registered" else 0

    def state_preferences(
        self, candidates: list[uuid.UUID], correlation_id: uuid.UUID, actor: Actor
    ) -> bool:
        """The company's ranked acceptable candidates, replacing any earlier list; only a
        registered company has one. Returns whether anything changed."""
        require(
            self.status == "registered",
            "company_id",
            "this company is not registered as a host (refused, or not yet registered): "
            "it cannot rank candidates",
            conflict=True,
        )
        require(len(set(candidates)) == len(candidates), "candidates", "list each candidate once")
        if candidates == self.preferences:
            return False
        self._preferences_stated(
            company_id=self.company_id,
            cohort_id=self.cohort_id,
            candidates=candidates,
            correlation_id=correlation_id,
            causation_id=None,
            actor=actor,
        )
        return True

    @event("PreferencesStated")
    def _preferences_stated(
        self,
        company_id: uuid.UUID,
        cohort_id: str,
        candidates: list[uuid.UUID],
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.preferences = list(candidates)

    def register(
        self,
        registration: CompanyRegistration,
        contacts: str,
        same_contacts: bool,
        correlation_id: uuid.UUID,
        actor: Actor,
    ) -> bool:
        """Decide on a registration: record it accepted or refused (and return True), or
        return False when this very registration was already decided. `contacts` is the
        sealed contacts; `same_contacts` whether they open to the recorded ones."""
        require(
            registration.cohort_id == self.cohort_id,
            "cohort_id",
            f"this company is registered for {self.cohort_id}; a company id serves one cohort",
            conflict=True,
        )
        details = registration.details()
        if self.status is not None and details == self.details and same_contacts:
            return False
        require(
            self.status != "registered",
            "company_id",
            "this company is already registered; its registration cannot be changed here",
            conflict=True,
        )
        decision = assess_sme(
            registration.organisation_kind,
            registration.industry,
            registration.capital_yen,
            registration.regular_employees,
        )
        if decision.eligible:
            self._registered(
                details=details,
                contacts=contacts,
                eligibility=decision.as_dict(),
                correlation_id=correlation_id,
                causation_id=None,
                actor=actor,
            )
        else:
            self._refused(
                details=details,
                contacts=contacts,
                eligibility=decision.as_dict(),
                refusals=[r.as_dict() for r in decision.refusals],
                correlation_id=correlation_id,
                causation_id=None,
                actor=actor,
            )
        return True

    @event("Registered")
    def _registered(
        self,
        details: dict[str, Any],
        contacts: str,
        eligibility: dict[str, Any],
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.status = "registered"
        self.details = details
        self.contacts = contacts
        self.eligibility = eligibility
        self.refusals = []

    @event("Refused")
    def _refused(
        self,
        details: dict[str, Any],
        contacts: str,
        eligibility: dict[str, Any],
        refusals: list[dict[str, Any]],
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.status = "refused"
        self.details = details
        self.contacts = contacts
        self.eligibility = eligibility
        self.refusals = refusals


class CorporateNumberClaim(Aggregate):
    """A corporate number taken in a cohort by one registered company: the same company
    registered twice under two ids would take two places. Created in the same
    transaction as the registration, so two at once cannot both succeed."""

    @staticmethod
    def create_id(cohort_id: str, corporate_number: str, **_: Any) -> uuid.UUID:
        return corporate_number_claim_id(cohort_id, corporate_number)

    @event("Claimed")
    def __init__(
        self,
        cohort_id: str,
        corporate_number: str,
        company_id: uuid.UUID,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.company_id = company_id
