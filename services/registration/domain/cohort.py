"""A cohort: one fiscal year's call for applicants, with its calendar, courses and rules.

Everything that differs between calls (age range and cutoff, windows, language rule,
who may apply from inside Japan, earlier participation) is data recorded when the
office opens the cohort, never a constant in code.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from eventsourcing.domain import Aggregate, event

from kernel.actor import Actor
from kernel.fiscal import JST, fiscal_year_of_cohort, fiscal_year_start
from kernel.rules import RuleViolation, require

COHORT_NAMESPACE = uuid.UUID("0b5d1c52-2a52-4a1e-9f6e-3e8f0c6f7a11")


def cohort_aggregate_id(cohort_id: str) -> uuid.UUID:
    return uuid.uuid5(COHORT_NAMESPACE, cohort_id)


class Cohort(Aggregate):
    """Opened once by the office; its rules are read by every later decision."""

    @staticmethod
    def create_id(cohort_id: str, **_: Any) -> uuid.UUID:
        return cohort_aggregate_id(cohort_id)

    @event("Opened")
    def __init__(
        self,
        cohort_id: str,
        applications_open_at: datetime,
        applications_close_at: datetime,
        age_reference_date: date,
        min_age: int,
        max_age: int,
        results_by: date,
        courses: list[dict[str, Any]],
        rules: dict[str, Any],
        opened_by: str,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.cohort_id = cohort_id
        self.applications_open_at = applications_open_at
        self.applications_close_at = applications_close_at
        self.age_reference_date = age_reference_date
        self.min_age = min_age
        self.max_age = max_age
        self.results_by = results_by
        self.courses = courses
        #: The rule set in force (its latest version); `opened_rules` as first opened.
        self.rules = rules
        self.opened_rules = rules
        self.opened_by = opened_by

    @classmethod
    def open(cls, **kwargs: Any) -> Cohort:
        """Opens a cohort whose terms hold together; contradictory terms are refused,
        naming the field."""
        cohort_id = kwargs["cohort_id"]
        check_fiscal_year(cohort_id)
        opens, closes = kwargs["applications_open_at"], kwargs["applications_close_at"]
        require(
            opens < closes,
            "applications_close_at",
            "the application window must close after it opens",
        )
        fiscal_year = fiscal_year_of_cohort(cohort_id)
        # A call fills its fiscal year's internships and may be made in the year before
        # (the 2021 call took applications in October 2020), never earlier nor later.
        earliest, end = fiscal_year_start(fiscal_year - 1), fiscal_year_start(fiscal_year + 1)
        require(
            earliest <= opens,
            "applications_open_at",
            f"the window of {cohort_id} may open from {earliest.date().isoformat()} (JST), "
            f"in FY{fiscal_year - 1} or FY{fiscal_year}",
        )
        require(
            closes <= end,
            "applications_close_at",
            f"the window of {cohort_id} must close by the end of FY{fiscal_year} "
            f"({(end.date().replace(day=31, month=3)).isoformat()}, JST)",
        )
        require(
            kwargs["results_by"] >= closes.astimezone(JST).date(),
            "results_by",
            "results cannot be due before applications close",
        )
        require(kwargs["min_age"] > 0, "min_age", "the minimum age must be positive")
        require(
            kwargs["min_age"] <= kwargs["max_age"],
            "max_age",
            "the maximum age must not be below the minimum age",
        )
        codes = [c["code"] for c in kwargs["courses"]]
        require(len(codes) > 0, "courses", "a cohort offers at least one course")
        require(len(set(codes)) == len(codes), "courses", "course codes must be unique")
        rules = kwargs["rules"]
        require(
            rules.get("rule_set_version", 1) == 1,
            "rules.rule_set_version",
            "a cohort opens with version 1 of its rule set",
        )
        _check_rules_fit(rules, cohort_id, "rules.")
        return cls(**kwargs)

    def revise_rules(
        self,
        rules: dict[str, Any],
        revised_by: str,
        correlation_id: uuid.UUID,
        actor: Actor,
    ) -> None:
        """A new version of the cohort's rule set: the same rule set, the next version."""
        current = self.rules.get("rule_set_version", 1)
        if rules.get("rule_set_version") != current + 1:
            raise RuleViolation(
                "rule_set_version",
                f"the rule set is at version {current}: a revision is version {current + 1}",
                conflict=True,
            )
        require(
            rules.get("rule_set_id") == self.rules.get("rule_set_id"),
            "rule_set_id",
            f"this cohort's rule set is {self.rules.get('rule_set_id')}",
        )
        _check_rules_fit(rules, self.cohort_id, "")
        self._rules_revised(
            cohort_id=self.cohort_id,
            rules=rules,
            revised_by=revised_by,
            correlation_id=correlation_id,
            causation_id=None,
            actor=actor,
        )

    @event("RulesRevised")
    def _rules_revised(
        self,
        cohort_id: str,
        rules: dict[str, Any],
        revised_by: str,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.rules = rules

    def course_codes(self) -> list[str]:
        return [c["code"] for c in self.courses]

    def check_accepts_applications(self, at: datetime) -> None:
        """Applications are accepted only inside the cohort's window."""
        require(
            at >= self.applications_open_at,
            "cohort_id",
            f"applications for {self.cohort_id} open at {self.applications_open_at.isoformat()}",
            conflict=True,
        )
        require(
            at < self.applications_close_at,
            "cohort_id",
            f"applications for {self.cohort_id} closed at {self.applications_close_at.isoformat()}",
            conflict=True,
        )


def check_fiscal_year(cohort_id: str) -> int:
    """The fiscal year a cohort id names, one the program can have (2000 to 2100)."""
    fiscal_year = fiscal_year_of_cohort(cohort_id)
    require(
        2000 <= fiscal_year <= 2100,
        "cohort_id",
        "a cohort's fiscal year is between FY2000 and FY2100",
    )
    return fiscal_year


def _check_rules_fit(rules: dict[str, Any], cohort_id: str, prefix: str) -> None:
    """A rule set cannot exclude participation in years after the cohort."""
    excluded = rules.get("earlier_participation_excluded")
    fiscal_year = fiscal_year_of_cohort(cohort_id)
    require(
        excluded is None or excluded["to_fy"] < fiscal_year,
        f"{prefix}earlier_participation_excluded.to_fy",
        f"excluded participation years must be before the cohort's, FY{fiscal_year}",
    )
