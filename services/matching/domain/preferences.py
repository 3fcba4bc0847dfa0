"""Which pairs of a candidate and a host company a round may use, and a ranked list of
companies suggested from a candidate's interests. Pure functions, each with its id and
version recorded in the events that follow from it, so that the log explains why a pair
was (or was not) on the table.

**Hard constraints** (`hard_constraints` v1): a pair is acceptable only if

- *course*: the company offers one of the courses the candidate asked for (the pair's
  course is the first of the candidate's, in their order, that the company offers);
- *language*: the candidate meets the plan's required languages: a JLPT level means
  that level or better (N1 is the best); English tests listed mean at least one of them
  met at its score (a CEFR level: that level or above);
- *period*: some period the candidate prefers overlaps some period the company can
  host (month intervals `YYYY-MM/YYYY-MM`, both ends included); either side giving
  none, or the candidate's given in words a machine cannot read, does not constrain;
- *declined*: the company has not declined this candidate before.

**Interest ranking** (`interest_overlap` v1): each company scores the number of distinct
words of the candidate's interests (three letters or more, any case) found in its plan
(content and skills) or its industry; companies scoring above zero, best first, ties in
the order given (the order in which companies registered).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

HARD_CONSTRAINTS: Final = {"id": "hard_constraints", "version": 1}
INTEREST_RANKING: Final = {"id": "interest_overlap", "version": 1}

JLPT_ORDER: Final = {"N1": 1, "N2": 2, "N3": 3, "N4": 4, "N5": 5}
CEFR_ORDER: Final = {"A1": 1, "A2": 2, "B1": 3, "B2": 4, "C1": 5, "C2": 6}
ENGLISH_TESTS: Final = ("ielts", "toefl_ibt", "toeic", "cefr")

#: Why a listed pair was left out of a round (recorded with the round).
COURSE_NOT_OFFERED: Final = "course_not_offered"
LANGUAGE_BELOW_REQUIREMENT: Final = "language_below_requirement"
PERIOD_OUTSIDE: Final = "period_outside"
DECLINED_BEFORE: Final = "declined_before"

_MONTHS = re.compile(r"^(\d{4})-(\d{2})(?:-\d{2})?/(\d{4})-(\d{2})(?:-\d{2})?$")
_WORD = re.compile(r"[^\W_]{3,}")


@dataclass(frozen=True)
class CandidateFacts:
    """What the constraints read of a candidate (from the office's selection)."""

    applicant_id: uuid.UUID
    course_preferences: Sequence[str]
    languages: Mapping[str, Any]
    period_preferences: Sequence[str] = ()
    interests: Sequence[str] = ()


@dataclass(frozen=True)
class CompanyFacts:
    """What the constraints read of a host company (from its registration)."""

    company_id: uuid.UUID
    courses: Sequence[str]
    required_languages: Mapping[str, Any] = field(default_factory=dict)
    periods: Sequence[str] = ()
    content: str = ""
    skills: Sequence[str] = ()
    industry: str = ""

    @classmethod
    def of(cls, company_id: uuid.UUID, details: Mapping[str, Any]) -> CompanyFacts:
        """From a registration's recorded details."""
        plan = details.get("plan", {})
        return cls(
            company_id=company_id,
            courses=tuple(details.get("courses", ())),
            required_languages=dict(plan.get("required_languages", {})),
            periods=tuple(plan.get("periods", ())),
            content=plan.get("content", ""),
            skills=tuple(plan.get("skills", ())),
            industry=details.get("industry", ""),
        )


@dataclass(frozen=True)
class Verdict:
    """A pair's verdict: its course when acceptable, else the reasons it is not."""

    course: str | None
    reasons: tuple[str, ...] = ()

    @property
    def acceptable(self) -> bool:
        return self.course is not None and not self.reasons


def month_interval(text: str) -> tuple[int, int] | None:
    """`YYYY-MM/YYYY-MM` (or with days) as month numbers, or None if it is not one."""
    found = _MONTHS.match(text.strip())
    if found is None:
        return None
    y1, m1, y2, m2 = (int(g) for g in found.groups())
    if not (1 <= m1 <= 12 and 1 <= m2 <= 12):
        return None
    start, end = y1 * 12 + m1 - 1, y2 * 12 + m2 - 1
    return (start, end) if start <= end else None


def meets_languages(languages: Mapping[str, Any], required: Mapping[str, Any]) -> bool:
    """Whether a candidate's language results meet a plan's minimums."""
    wanted_jlpt = required.get("jlpt")
    if wanted_jlpt is not None:
        had = languages.get("jlpt")
        if had not in JLPT_ORDER or JLPT_ORDER[had] > JLPT_ORDER[wanted_jlpt]:
            return False
    english = [test for test in ENGLISH_TESTS if required.get(test) is not None]
    if not english:
        return True
    for test in english:
        had = languages.get(test)
        if had is None:
            continue
        if test == "cefr":
            if CEFR_ORDER.get(had, 0) >= CEFR_ORDER[required[test]]:
                return True
        elif had >= required[test]:
            return True
    return False


def periods_overlap(wanted: Sequence[str], offered: Sequence[str]) -> bool:
    candidate = [p for p in map(month_interval, wanted) if p is not None]
    company = [p for p in map(month_interval, offered) if p is not None]
    if not candidate or not company:
        return True
    return any(a <= d and c <= b for a, b in candidate for c, d in company)


def judge_pair(candidate: CandidateFacts, company: CompanyFacts, declined: bool) -> Verdict:
    """The hard constraints on one pair."""
    course = next((c for c in candidate.course_preferences if c in company.courses), None)
    reasons = []
    if course is None:
        reasons.append(COURSE_NOT_OFFERED)
    if not meets_languages(candidate.languages, company.required_languages):
        reasons.append(LANGUAGE_BELOW_REQUIREMENT)
    if not periods_overlap(candidate.period_preferences, company.periods):
        reasons.append(PERIOD_OUTSIDE)
    if declined:
        reasons.append(DECLINED_BEFORE)
    return Verdict(course, tuple(reasons))


def _words(texts: Sequence[str]) -> set[str]:
    return {w.casefold() for text in texts for w in _WORD.findall(text)}


def rank_by_interests(
    interests: Sequence[str], companies: Sequence[CompanyFacts]
) -> list[tuple[uuid.UUID, int]]:
    """The companies whose plan shares words with the candidate's interests, as
    (company id, score), best first; ties keep the order given."""
    wanted = _words(interests)
    scored = [
        (
            company.company_id,
            len(wanted & _words([company.content, *company.skills, company.industry])),
        )
        for company in companies
    ]
    ranked = sorted(
        ((i, company_id, score) for i, (company_id, score) in enumerate(scored) if score > 0),
        key=lambda entry: (-entry[2], entry[0]),
    )
    return [(company_id, score) for _, company_id, score in ranked]
