"""Who may take part: a cohort's eligibility rule set, applied to what screening knows of
an applicant, as an assessment that explains itself.

The rule set is data, versioned, and travels whole in the log (registration's
`CohortOpened.rules` and `CohortRulesRevised`): the DAC List edition's recipients, the
cohort's exclusions, the age range on its reference date, the language requirement with
the English minimums the office configured, the accepted levels of education, whether
residents of Japan may apply, and the fiscal years whose participants may not apply
again. `assess` is pure: the same facts and rule set give the same assessment, so a
decision can be replayed and explained from the log alone.

Every check says which rule (and which version of its wording) it applied, what it saw
and whether it passed. What it saw is only what the contract publishes in clear (codes,
the age, levels and scores, years, booleans): never a name, an address or a date of
birth. Screening never sees a date of birth: registration publishes the applicant's age
on the cohort's reference date, which is all the age rule needs.

Facts that cannot be true (a graduation more than ten years after the reference date, a
participation in the program not before this cohort) are not assessed: the result is
`implausible`, with only the plausibility check, and the case goes to the office.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

JAPAN = "JP"

#: JLPT levels from the hardest: "N3 or better" is N1, N2 or N3.
JLPT_LEVELS = ("N1", "N2", "N3", "N4", "N5")
#: CEFR levels from the lowest.
CEFR_LEVELS = ("A1", "A2", "B1", "B2", "C1", "C2")
#: The English tests a cohort may accept, by their field in `languages`.
ENGLISH_TESTS = ("ielts", "toefl_ibt", "toeic", "cefr")
#: How far after the cohort's reference date an expected graduation is still believed.
GRADUATION_HORIZON_YEARS = 10

Result = Literal["eligible", "ineligible", "implausible"]


@dataclass(frozen=True)
class ApplicantFacts:
    """What screening knows of an applicant that eligibility depends on, as
    registration published it: no personal value in clear (the age, not the date of
    birth)."""

    #: Whole years of age on the cohort's reference date, as registration computed it.
    age_on_reference_date: int
    nationality: str
    country_of_residence: str
    education_level: str | None = None
    education_status: str | None = None
    graduation_date: date | None = None
    #: As in the contract's `LanguageProficiency`: jlpt, ielts, toefl_ibt, toeic, cefr.
    languages: Mapping[str, Any] = field(default_factory=dict, hash=False)
    previous_participation_years: tuple[int, ...] = ()
    declares_no_final_job_commitment: bool = True

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> ApplicantFacts:
        """From a stored domain event (and from cases recorded before screening kept
        education and languages: those read as unknown)."""
        graduation = record.get("graduation_date")
        return cls(
            age_on_reference_date=record["age_on_reference_date"],
            nationality=record["nationality"],
            country_of_residence=record["country_of_residence"],
            education_level=record.get("education_level"),
            education_status=record.get("education_status"),
            graduation_date=date.fromisoformat(graduation) if graduation else None,
            languages={k: v for k, v in (record.get("languages") or {}).items() if v is not None},
            previous_participation_years=tuple(record.get("previous_participation_years", ())),
            declares_no_final_job_commitment=record.get("declares_no_final_job_commitment", True),
        )

    @classmethod
    def from_registration(cls, payload: Mapping[str, Any]) -> ApplicantFacts:
        """From `ApplicantRegistered`'s payload as JSON (education and languages nested
        as the contract has them)."""
        education = payload.get("education") or {}
        return cls.from_record(
            {
                **payload,
                "education_level": education.get("level"),
                "education_status": education.get("status"),
                "graduation_date": education.get("graduation_date"),
            }
        )

    def as_record(self) -> dict[str, Any]:
        """The facts as stored in a domain event (lists and strings: events are JSON)."""
        return {
            "age_on_reference_date": self.age_on_reference_date,
            "nationality": self.nationality,
            "country_of_residence": self.country_of_residence,
            "education_level": self.education_level,
            "education_status": self.education_status,
            "graduation_date": self.graduation_date.isoformat() if self.graduation_date else None,
            "languages": dict(self.languages),
            "previous_participation_years": list(self.previous_participation_years),
            "declares_no_final_job_commitment": self.declares_no_final_job_commitment,
        }


@dataclass(frozen=True)
class RuleSet:
    """One version of a cohort's eligibility rules, with the cohort's age range and
    reference date (which registration keeps outside the rules)."""

    cohort_id: str
    id: str
    version: int
    age_reference_date: date
    min_age: int
    max_age: int
    recipient_list: str
    recipient_countries: frozenset[str]
    excluded_nationalities: frozenset[str] = frozenset()
    residents_of_japan_may_apply: bool = False
    language_rule: Literal["jlpt_or_english", "jlpt_and_english"] = "jlpt_or_english"
    min_jlpt: str = "N3"
    #: The lowest accepted score per English test; a test absent is not accepted.
    english_minimums: Mapping[str, Any] = field(default_factory=dict, hash=False)
    accepted_education_levels: frozenset[str] = frozenset()
    #: Fiscal years (from, to, both included) whose participants may not apply again.
    excluded_participation: tuple[int, int] | None = None

    @property
    def fiscal_year(self) -> int:
        """FY2025 and FY2025-B -> 2025."""
        return int(self.cohort_id[2:6])

    @classmethod
    def from_cohort(
        cls,
        cohort_id: str,
        age_reference_date: date,
        min_age: int,
        max_age: int,
        rules_json: Mapping[str, Any],
    ) -> RuleSet:
        """From `CohortRules` as JSON (as `CohortOpened` and `CohortRulesRevised` carry
        it). Rules recorded before rule sets had ids read as version 1 of
        "jip-<cohort>", naming no recipient list (so no nationality passes it)."""
        language = rules_json.get("language") or {}
        excluded = rules_json.get("earlier_participation_excluded")
        return cls(
            cohort_id=cohort_id,
            id=rules_json.get("rule_set_id") or f"jip-{cohort_id.lower()}",
            version=int(rules_json.get("rule_set_version", 1)),
            age_reference_date=age_reference_date,
            min_age=min_age,
            max_age=max_age,
            recipient_list=rules_json.get("recipient_list") or "none",
            recipient_countries=frozenset(rules_json.get("recipient_countries", ())),
            excluded_nationalities=frozenset(rules_json.get("excluded_nationalities", ())),
            residents_of_japan_may_apply=bool(rules_json.get("residents_of_japan_may_apply")),
            language_rule=language.get("rule", "jlpt_or_english"),
            min_jlpt=language.get("min_jlpt", "N3"),
            english_minimums={
                k: v for k, v in (language.get("english_minimums") or {}).items() if v is not None
            },
            accepted_education_levels=frozenset(
                rules_json.get(
                    "accepted_education_levels",
                    (
                        "junior_college",
                        "technical_college",
                        "bachelor",
                        "master",
                        "doctorate",
                        "other_higher",
                    ),
                )
            ),
            excluded_participation=(excluded["from_fy"], excluded["to_fy"]) if excluded else None,
        )


@dataclass(frozen=True)
class RuleCheck:
    """One rule applied: its id and wording's version, what it saw (nothing personal in
    clear), whether it passed and, when not, why in words the office can act on."""

    rule: str
    version: int
    saw: Any
    passed: bool
    reason: str | None = None

    def as_record(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "version": self.version,
            "saw": self.saw,
            "passed": self.passed,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Assessment:
    """The outcome of one assessment, naming the rule set version it used."""

    rule_set_id: str
    rule_set_version: int
    result: Result
    checks: tuple[RuleCheck, ...]

    @property
    def eligible(self) -> bool:
        return self.result == "eligible"

    @property
    def failed(self) -> tuple[RuleCheck, ...]:
        return tuple(c for c in self.checks if not c.passed)

    def as_record(self) -> dict[str, Any]:
        """As JSON, as `EligibilityAssessed` publishes it."""
        return {
            "rule_set": {"id": self.rule_set_id, "version": self.rule_set_version},
            "result": self.result,
            "checks": [c.as_record() for c in self.checks],
        }


# -- the rules ------------------------------------------------------------------------
# Each is (id, version, check); a check returns (what it saw, None when passed or why
# not). Raise a rule's version whenever what it decides changes, so that recorded
# decisions keep saying which wording made them.

Check = Callable[[ApplicantFacts, RuleSet], tuple[Any, str | None]]


def _plausibility(facts: ApplicantFacts, rules: RuleSet) -> tuple[Any, str | None]:
    saw = {
        "graduation_date": facts.graduation_date.isoformat() if facts.graduation_date else None,
        "previous_participation_years": list(facts.previous_participation_years),
    }
    reference = rules.age_reference_date
    # 28 at most: the horizon of a 29 February is a day that exists.
    horizon = reference.replace(
        year=reference.year + GRADUATION_HORIZON_YEARS, day=min(reference.day, 28)
    )
    if facts.graduation_date is not None and facts.graduation_date > horizon:
        return saw, (
            f"a graduation more than {GRADUATION_HORIZON_YEARS} years after "
            f"{reference.isoformat()} is not plausible"
        )
    later = [y for y in facts.previous_participation_years if y >= rules.fiscal_year]
    if later:
        return saw, f"a participation in FY{later[0]} is not before this cohort, {rules.cohort_id}"
    return saw, None


def _on_recipient_list(facts: ApplicantFacts, rules: RuleSet) -> tuple[Any, str | None]:
    if facts.nationality in rules.recipient_countries:
        return facts.nationality, None
    return facts.nationality, f"{facts.nationality} is not on the DAC List ({rules.recipient_list})"


def _not_excluded(facts: ApplicantFacts, rules: RuleSet) -> tuple[Any, str | None]:
    if facts.nationality in rules.excluded_nationalities:
        return facts.nationality, (
            f"citizens of {facts.nationality} are not eligible in {rules.cohort_id}"
        )
    return facts.nationality, None


def _age(facts: ApplicantFacts, rules: RuleSet) -> tuple[Any, str | None]:
    age, on = facts.age_on_reference_date, rules.age_reference_date.isoformat()
    if age < rules.min_age:
        return age, f"younger than {rules.min_age} on {on}"
    if age > rules.max_age:
        return age, f"older than {rules.max_age} on {on}"
    return age, None


def _jlpt_met(languages: Mapping[str, Any], minimum: str) -> bool:
    level = languages.get("jlpt")
    return level in JLPT_LEVELS and JLPT_LEVELS.index(level) <= JLPT_LEVELS.index(minimum)


def _english_met(languages: Mapping[str, Any], minimums: Mapping[str, Any]) -> bool:
    for test, minimum in minimums.items():
        score = languages.get(test)
        if score is None:
            continue
        if test == "cefr":
            if score in CEFR_LEVELS and CEFR_LEVELS.index(score) >= CEFR_LEVELS.index(minimum):
                return True
        elif score >= minimum:
            return True
    return False


def _language(facts: ApplicantFacts, rules: RuleSet) -> tuple[Any, str | None]:
    saw = {k: v for k, v in facts.languages.items() if v is not None}
    jlpt = _jlpt_met(facts.languages, rules.min_jlpt)
    english = _english_met(facts.languages, rules.english_minimums)
    accepted = ", ".join(f"{t} {m}" for t, m in rules.english_minimums.items()) or "none"
    if rules.language_rule == "jlpt_and_english":
        if jlpt and english:
            return saw, None
        missing = [
            *([f"JLPT {rules.min_jlpt} or better"] if not jlpt else []),
            *([f"an accepted English score ({accepted})"] if not english else []),
        ]
        return saw, "requires " + " and ".join(missing)
    if jlpt or english:
        return saw, None
    return saw, (
        f"requires JLPT {rules.min_jlpt} or better, or an accepted English score ({accepted})"
    )


def _education(facts: ApplicantFacts, rules: RuleSet) -> tuple[Any, str | None]:
    saw = {"level": facts.education_level, "status": facts.education_status}
    if facts.education_level is None:
        return saw, "the level of education is not known"
    if facts.education_level not in rules.accepted_education_levels:
        return saw, (
            "requires enrolment in or graduation from a junior college, technical college, "
            "university or other higher-education institution"
        )
    return saw, None


def _not_residing_in_japan(facts: ApplicantFacts, rules: RuleSet) -> tuple[Any, str | None]:
    if facts.country_of_residence == JAPAN and not rules.residents_of_japan_may_apply:
        return facts.country_of_residence, f"residents of Japan may not apply in {rules.cohort_id}"
    return facts.country_of_residence, None


def _no_earlier_participation(facts: ApplicantFacts, rules: RuleSet) -> tuple[Any, str | None]:
    years = list(facts.previous_participation_years)
    if rules.excluded_participation is None:
        return years, None
    first, last = rules.excluded_participation
    within = [y for y in years if first <= y <= last]
    if within:
        return years, (
            f"took part in FY{within[0]}; FY{first} to FY{last} participants may not apply"
        )
    return years, None


def _no_final_job_commitment(facts: ApplicantFacts, rules: RuleSet) -> tuple[Any, str | None]:
    declared = facts.declares_no_final_job_commitment
    return declared, None if declared else "has not declared to be free of any final job commitment"


PLAUSIBILITY: tuple[str, int, Check] = ("plausibility", 1, _plausibility)

#: The rules, in the order the checks list them, each with the version of its wording.
#: Versions: `age_within_cohort_range` 2 reads the age registration publishes (1 computed
#: it from the date of birth); `no_earlier_participation` 2 reads a range of fiscal years
#: (1 read a first year up to the cohort).
RULES: tuple[tuple[str, int, Check], ...] = (
    ("nationality_on_recipient_list", 1, _on_recipient_list),
    ("nationality_not_excluded", 1, _not_excluded),
    ("age_within_cohort_range", 2, _age),
    ("language", 1, _language),
    ("education", 1, _education),
    ("not_residing_in_japan", 1, _not_residing_in_japan),
    ("no_earlier_participation", 2, _no_earlier_participation),
    ("no_final_job_commitment", 1, _no_final_job_commitment),
)

RULE_IDS: tuple[str, ...] = (PLAUSIBILITY[0], *(rule for rule, _, _ in RULES))


def _apply(rule: tuple[str, int, Check], facts: ApplicantFacts, rules: RuleSet) -> RuleCheck:
    name, version, check = rule
    saw, reason = check(facts, rules)
    return RuleCheck(rule=name, version=version, saw=saw, passed=reason is None, reason=reason)


def assess(facts: ApplicantFacts, rule_set: RuleSet) -> Assessment:
    """Applies the rule set to the facts: `implausible` (only the plausibility check)
    when they cannot be true, else `eligible` when every rule passes, `ineligible`
    otherwise, with every check."""
    plausibility = _apply(PLAUSIBILITY, facts, rule_set)
    if not plausibility.passed:
        return Assessment(rule_set.id, rule_set.version, "implausible", (plausibility,))
    checks = (plausibility, *(_apply(rule, facts, rule_set) for rule in RULES))
    result: Result = "eligible" if all(c.passed for c in checks) else "ineligible"
    return Assessment(rule_set.id, rule_set.version, result, checks)
