"""The courses of a cohort, as matching learns them from registration's `CohortOpened`:
what a host company may offer (a code the cohort does not have is refused), and the
agreements a match on each signs (as the cohort configured it, else by its mode)."""

from __future__ import annotations

import uuid
from typing import Any

from eventsourcing.domain import Aggregate, event

from kernel.actor import Actor
from services.matching.domain.agreement import STRUCTURE_BY_MODE, AgreementStructure

COURSES_NAMESPACE = uuid.UUID("5d0c6a3e-2f4b-4c8e-9a1d-7b3e5f9c2a64")


def cohort_courses_id_for(cohort_id: str) -> uuid.UUID:
    return uuid.uuid5(COURSES_NAMESPACE, f"cohort-courses:{cohort_id}")


class CohortCourses(Aggregate):
    """One per cohort (its id follows from the cohort's): the course codes and their
    modes (online, in_person, visiting), fixed when the cohort opened."""

    @staticmethod
    def create_id(cohort_id: str, **_: Any) -> uuid.UUID:
        return cohort_courses_id_for(cohort_id)

    @event("Learned")
    def __init__(
        self,
        cohort_id: str,
        courses: dict[str, str],
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
        structures: dict[str, AgreementStructure] | None = None,
    ) -> None:
        self.cohort_id = cohort_id
        #: Course code -> mode.
        self.courses = dict(courses)
        #: Course code -> the agreements the cohort configured for it, where it did.
        self.structures = dict(structures or {})

    def agreement_structure(self, course: str) -> AgreementStructure | None:
        """What a match on this course signs: as the cohort configured it, else by the
        course's mode; None for a course the cohort does not offer."""
        mode = self.courses.get(course)
        if mode is None:
            return None
        return self.structures.get(course) or STRUCTURE_BY_MODE.get(mode)
