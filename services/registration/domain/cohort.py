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
from kernel.rules import require

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
        self.rules = rules
        self.opened_by = opened_by

    @classmethod
    def open(cls, **kwargs: Any) -> Cohort:
        require(
            kwargs["applications_open_at"] < kwargs["applications_close_at"],
            "applications_close_at",
            "the application window must close after it opens",
        )
        require(
            0 < kwargs["min_age"] <= kwargs["max_age"],
            "max_age",
            "the age range must be positive and not inverted",
        )
        codes = [c["code"] for c in kwargs["courses"]]
        require(len(codes) > 0, "courses", "a cohort offers at least one course")
        require(len(set(codes)) == len(codes), "courses", "course codes must be unique")
        return cls(**kwargs)

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
