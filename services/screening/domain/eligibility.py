"""Who may take part: the cohort's eligibility rules, each a named rule that says why
when an applicant does not meet it.

Everything that differs between calls for applicants (age range and the date it is
computed on, excluded nationalities, whether residents of Japan may apply, which
earlier participation excludes) comes from the cohort, never from a constant here.
Two requirements of the calls are left to the office's own review for now: the language
level ("fluent English" has no threshold in the calls) and the host company's extras.

Screening never sees a date of birth: registration publishes the applicant's age on the
cohort's reference date, which is all the age rule needs. Each rule has a version, so
that a decision recorded today still says which wording of a rule made it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar

JAPAN = "JP"


@dataclass(frozen=True)
class ApplicantFacts:
    """What screening knows of an applicant that eligibility depends on: no personal
    value in clear (the age, not the date of birth)."""

    #: Whole years of age on the cohort's reference date, as registration computed it.
    age_on_reference_date: int
    nationality: str
    country_of_residence: str
    previous_participation_years: tuple[int, ...] = ()
    declares_no_final_job_commitment: bool = True
    #: `enrolled` or `graduated` (None in a case opened before screening kept it).
    education_status: str | None = None
    #: The language scores claimed, as in the contract's `LanguageProficiency`.
    languages: Mapping[str, Any] | None = None

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> ApplicantFacts:
        return cls(
            age_on_reference_date=record["age_on_reference_date"],
            nationality=record["nationality"],
            country_of_residence=record["country_of_residence"],
            previous_participation_years=tuple(record.get("previous_participation_years", ())),
            declares_no_final_job_commitment=record.get("declares_no_final_job_commitment", True),
            education_status=record.get("education_status"),
            languages=record.get("languages"),
        )

    def as_record(self) -> dict[str, Any]:
        """The facts as stored in a domain event (lists, not tuples: events are JSON)."""
        return {
            "age_on_reference_date": self.age_on_reference_date,
            "nationality": self.nationality,
            "country_of_residence": self.country_of_residence,
            "previous_participation_years": list(self.previous_participation_years),
            "declares_no_final_job_commitment": self.declares_no_final_job_commitment,
            "education_status": self.education_status,
            "languages": dict(self.languages) if self.languages is not None else None,
        }


@dataclass(frozen=True)
class EligibilityTerms:
    """One cohort's eligibility rules, as its call for applicants states them."""

    cohort_id: str
    age_reference_date: date
    min_age: int
    max_age: int
    excluded_nationalities: frozenset[str] = field(default_factory=frozenset)
    residents_of_japan_may_apply: bool = False
    earlier_participation_excluded_from_fy: int | None = None

    @property
    def fiscal_year(self) -> int:
        """FY2025 -> 2025."""
        return int(self.cohort_id.removeprefix("FY"))


@dataclass(frozen=True)
class Finding:
    """A rule the applicant does not meet (and the version of its wording), and why."""

    rule: str
    reason: str
    version: int = 1


class EligibilityRule(ABC):
    """One requirement of a call for applicants."""

    name: ClassVar[str]
    #: Raised whenever what the rule decides changes, so that recorded decisions keep
    #: saying which wording made them.
    version: ClassVar[int] = 1

    @abstractmethod
    def unmet_because(self, facts: ApplicantFacts, terms: EligibilityTerms) -> str | None:
        """None when the applicant meets the rule; otherwise the reason, in words the
        office can act on and without the applicant's personal data."""


class AgeWithinCohortRange(EligibilityRule):
    """Version 2: reads the age registration published for the cohort's reference date
    (version 1 computed it from the date of birth, which screening no longer gets)."""

    name = "age_within_cohort_range"
    version = 2

    def unmet_because(self, facts: ApplicantFacts, terms: EligibilityTerms) -> str | None:
        age = facts.age_on_reference_date
        on = terms.age_reference_date.isoformat()
        if age < terms.min_age:
            return f"younger than {terms.min_age} on {on}"
        if age > terms.max_age:
            return f"older than {terms.max_age} on {on}"
        return None


class NationalityNotExcluded(EligibilityRule):
    """The calls exclude some aid recipients by nationality (e.g. the People's Republic
    of China); living outside one's home country does not matter."""

    name = "nationality_not_excluded"

    def unmet_because(self, facts: ApplicantFacts, terms: EligibilityTerms) -> str | None:
        if facts.nationality in terms.excluded_nationalities:
            return f"citizens of {facts.nationality} are not eligible in {terms.cohort_id}"
        return None


class NotResidingInJapan(EligibilityRule):
    """The 2025 call excludes residents of Japan; other years admitted them (e.g.
    students at Japanese universities): a per-cohort switch."""

    name = "not_residing_in_japan"

    def unmet_because(self, facts: ApplicantFacts, terms: EligibilityTerms) -> str | None:
        if facts.country_of_residence == JAPAN and not terms.residents_of_japan_may_apply:
            return f"residents of Japan may not apply in {terms.cohort_id}"
        return None


class NoEarlierParticipation(EligibilityRule):
    """Earlier participants since a given fiscal year may not take part again."""

    name = "no_earlier_participation"

    def unmet_because(self, facts: ApplicantFacts, terms: EligibilityTerms) -> str | None:
        since = terms.earlier_participation_excluded_from_fy
        if since is None:
            return None
        if any(since <= year < terms.fiscal_year for year in facts.previous_participation_years):
            return f"took part in the program between FY{since} and FY{terms.fiscal_year - 1}"
        return None


class NoFinalJobCommitment(EligibilityRule):
    name = "no_final_job_commitment"

    def unmet_because(self, facts: ApplicantFacts, terms: EligibilityTerms) -> str | None:
        if not facts.declares_no_final_job_commitment:
            return "has not declared to be free of any final job commitment"
        return None


RULES: tuple[EligibilityRule, ...] = (
    AgeWithinCohortRange(),
    NationalityNotExcluded(),
    NotResidingInJapan(),
    NoEarlierParticipation(),
    NoFinalJobCommitment(),
)


def assess(
    facts: ApplicantFacts, terms: EligibilityTerms, rules: Sequence[EligibilityRule] = RULES
) -> list[Finding]:
    """The rules the applicant does not meet; empty when eligible."""
    findings = []
    for rule in rules:
        reason = rule.unmet_because(facts, terms)
        if reason is not None:
            findings.append(Finding(rule.name, reason, rule.version))
    return findings
