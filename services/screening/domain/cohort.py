"""Screening's record of a cohort: the terms its later eligibility checks read.

Registration owns cohorts; screening keeps its own copy, adopted from `CohortOpened`,
so that it never has to ask another service at decision time.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from eventsourcing.domain import Aggregate, event

from kernel.actor import Actor
from services.screening.domain.eligibility import RuleSet

COHORT_NAMESPACE = uuid.UUID("9d3c6f0e-51b8-4c2a-8e47-2f6a0b1c9d83")


def cohort_aggregate_id(cohort_id: str) -> uuid.UUID:
    return uuid.uuid5(COHORT_NAMESPACE, cohort_id)


class Cohort(Aggregate):
    """Adopted once, when registration announces the cohort; its terms do not change."""

    @staticmethod
    def create_id(cohort_id: str, **_: Any) -> uuid.UUID:
        return cohort_aggregate_id(cohort_id)

    @event("TermsAdopted")
    def __init__(
        self,
        cohort_id: str,
        age_reference_date: date,
        min_age: int,
        max_age: int,
        course_codes: list[str],
        rules: dict[str, Any],
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.cohort_id = cohort_id
        self.age_reference_date = age_reference_date
        self.min_age = min_age
        self.max_age = max_age
        self.course_codes = course_codes
        #: The call's rules as announced, kept whole for checks still to come.
        self.rules = rules

    @property
    def rule_set(self) -> RuleSet:
        """The eligibility rule set in force for the cohort."""
        return RuleSet.from_cohort(
            self.cohort_id, self.age_reference_date, self.min_age, self.max_age, self.rules
        )

    def revise_rules(
        self,
        rules: dict[str, Any],
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> bool:
        """Adopts a new version of the cohort's rule set; an older or the same version
        (a redelivery) changes nothing. Returns whether it was adopted. Earlier versions
        stay in the log, so a decision made under one can still be explained."""
        if int(rules.get("rule_set_version", 0)) <= int(self.rules.get("rule_set_version", 0)):
            return False
        self._rules_revised(
            rules=rules, correlation_id=correlation_id, causation_id=causation_id, actor=actor
        )
        return True

    @event("RulesRevised")
    def _rules_revised(
        self,
        rules: dict[str, Any],
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.rules = rules


def wait_list_page_id(cohort_id: str, number: int) -> uuid.UUID:
    return uuid.uuid5(COHORT_NAMESPACE, f"wait-list:{cohort_id}:page-{number}")


class WaitListPage(Aggregate):
    """One page of the cases opened before screening knew their cohort, waiting for its
    rules.

    A cohort's announcement is keyed by cohort and an applicant's registration by
    applicant, so they travel on different partitions: reading a backlog (a new
    consumer, a replay) may meet the registrations first. Their cases wait on pages
    numbered 0, 1, 2, ... (a page is started only once the one before it is full, so the
    pages of a cohort are always a run without gaps) and are assessed as soon as the
    cohort arrives.

    Why pages: the wait list used to be one aggregate, replayed whole for every
    registration (no snapshots), so that a backlog cost time quadratic in its length
    (42 ms of CPU per record after 1,500 waiting cases). Snapshots would only shrink
    the constant (the snapshot still grows, and snapshotting turns off the inbox's
    reading of a chunk's aggregates in one query); a table of waiting cases would need
    the recorder to write it in the policy's transaction and its own locking against the
    cohort's arrival. A page is bounded, so a registration reads at most `CAPACITY`
    events, and the pages keep the one guarantee that matters: opening the cohort
    closes every page and starts the next one closed, so a case added concurrently is a
    version conflict (decided again, now with the cohort's terms), never a case that is
    left waiting for ever.
    """

    #: Cases per page: a registration that waits replays at most this many events.
    CAPACITY = 100

    @staticmethod
    def create_id(cohort_id: str, number: int, **_: Any) -> uuid.UUID:
        return wait_list_page_id(cohort_id, number)

    @event("Started")
    def __init__(
        self,
        cohort_id: str,
        number: int,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.cohort_id = cohort_id
        self.number = number
        self.applicant_ids: list[uuid.UUID] = []
        self.closed = False

    @property
    def full(self) -> bool:
        return len(self.applicant_ids) >= self.CAPACITY

    def add(
        self,
        applicant_id: uuid.UUID,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        assert not self.closed and not self.full, "a case waits only on an open page"
        if applicant_id not in self.applicant_ids:
            self._added(
                applicant_id=applicant_id,
                correlation_id=correlation_id,
                causation_id=causation_id,
                actor=actor,
            )

    @event("CaseAdded")
    def _added(
        self,
        applicant_id: uuid.UUID,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.applicant_ids.append(applicant_id)

    def close(
        self, correlation_id: uuid.UUID, causation_id: uuid.UUID | None, actor: Actor
    ) -> None:
        if not self.closed:
            self._closed(correlation_id=correlation_id, causation_id=causation_id, actor=actor)

    @event("Closed")
    def _closed(
        self, correlation_id: uuid.UUID, causation_id: uuid.UUID | None, actor: Actor
    ) -> None:
        self.closed = True


class CohortWaitList(Aggregate):
    """The single wait list of a cohort that `WaitListPage` replaced. Kept so that a
    store written before can still be read: the cases on such a list are assessed when
    their cohort arrives, like those on pages; nothing is added to it any more."""

    @staticmethod
    def create_id(cohort_id: str, **_: Any) -> uuid.UUID:
        return uuid.uuid5(COHORT_NAMESPACE, f"wait-list:{cohort_id}")

    @event("Started")
    def __init__(
        self,
        cohort_id: str,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.cohort_id = cohort_id
        self.applicant_ids: list[uuid.UUID] = []
        self.closed = False

    @event("CaseAdded")
    def _added(
        self,
        applicant_id: uuid.UUID,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.applicant_ids.append(applicant_id)

    def close(
        self, correlation_id: uuid.UUID, causation_id: uuid.UUID | None, actor: Actor
    ) -> None:
        if not self.closed:
            self._closed(correlation_id=correlation_id, causation_id=causation_id, actor=actor)

    @event("Closed")
    def _closed(
        self, correlation_id: uuid.UUID, causation_id: uuid.UUID | None, actor: Actor
    ) -> None:
        self.closed = True
