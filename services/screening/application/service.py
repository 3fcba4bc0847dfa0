"""Screening's application service: the policies that react to registration's events,
and the commands office staff give on a case.

Policies run in the inbox, with the Kafka position recorded in the same transaction as
the events they collect. A record they cannot act on (a case that does not exist) is
logged and passed over; an unexpected exception would quarantine the record.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime
from functools import singledispatchmethod
from typing import Any

from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import IntegrityError

from events import registration
from events.envelope import Envelope
from kernel.actor import Actor
from kernel.rules import NotFound
from runtime.application import ServiceApplication
from services.screening.domain.case import ScreeningCase
from services.screening.domain.cohort import (
    Cohort,
    CohortWaitList,
    WaitListPage,
    cohort_aggregate_id,
    wait_list_page_id,
)
from services.screening.domain.eligibility import ApplicantFacts, RuleSet

log = logging.getLogger(__name__)


#: Details whose amendment changes the facts eligibility is assessed on (with the age,
#: which the amendment carries when the date of birth changed).
FACT_FIELDS = ("nationality", "country_of_residence", "education", "languages")


class CohortOpenedMeanwhile(IntegrityError):
    """A case was about to wait for a cohort that opened after its terms were read: a
    conflict like any other, decided again (and then assessed at once)."""


class ScreeningApplication(ServiceApplication):
    name = "screening"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: By cohort, the wait-list page that cases were last added to: where the next
        #: waiting case is likely to go, so that finding it costs one page, not all of
        #: them. Only a hint (it may come from a chunk that was not recorded): a page
        #: is started only right after its predecessor was read, full.
        self._wait_list_pages: dict[str, int] = {}

    def likely_read(self, envelope: Envelope) -> Iterable[uuid.UUID]:
        yield from super().likely_read(envelope)
        if isinstance(envelope, registration.ApplicantRegistered):
            cohort_id = envelope.payload.cohort_id
            if cohort_id in self._wait_list_pages:
                yield wait_list_page_id(cohort_id, self._wait_list_pages[cohort_id])

    # -- policies ----------------------------------------------------------------------
    @singledispatchmethod
    def policy(self, envelope: Envelope, processing_event: ProcessingEvent[uuid.UUID]) -> None:
        """Registration's events that screening does not react to are not consumed."""

    @policy.register
    def when_applicant_registered_then_open_case(
        self, e: registration.ApplicantRegistered, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        p = e.payload
        if self.find(p.applicant_id, ScreeningCase) is not None:
            return
        case = ScreeningCase.open(
            applicant_id=p.applicant_id,
            cohort_id=p.cohort_id,
            facts=ApplicantFacts.from_registration(p.model_dump(mode="json")),
            correlation_id=e.correlation_id,
            causation_id=e.event_id,
            actor=self.system_actor,
        )
        rule_set = self._rule_set_of(p.cohort_id)
        if rule_set is not None:
            case.assess_eligibility(rule_set, e.correlation_id, e.event_id, self.system_actor)
            processing_event.collect_events(case)
            return
        page = self._open_wait_list_page(p.cohort_id)
        if page is None:
            page = WaitListPage(
                p.cohort_id,
                self._wait_list_pages[p.cohort_id],
                e.correlation_id,
                e.event_id,
                self.system_actor,
            )
        page.add(case.id, e.correlation_id, e.event_id, self.system_actor)
        processing_event.collect_events(case, page)

    def _open_wait_list_page(self, cohort_id: str) -> WaitListPage | None:
        """The page the next case waiting for `cohort_id` goes on; None: a page to start,
        numbered `self._wait_list_pages[cohort_id]`. Reads the hinted page, and one more
        when it is full."""
        number = self._wait_list_pages.get(cohort_id, 0)
        page = self.find(wait_list_page_id(cohort_id, number), WaitListPage)
        if page is None and number > 0:
            # The hint names a page that was never recorded (its chunk was done again):
            # start from the first page, so that no page is started after a gap.
            number = 0
            page = self.find(wait_list_page_id(cohort_id, number), WaitListPage)
        while page is not None and (page.closed or page.full):
            if page.closed:
                raise CohortOpenedMeanwhile(cohort_id)
            number += 1
            page = self.find(wait_list_page_id(cohort_id, number), WaitListPage)
        self._wait_list_pages[cohort_id] = number
        return page

    @policy.register
    def when_documents_submitted_then_record_them(
        self, e: registration.DocumentsSubmitted, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        case = self._case_or_none(e.payload.applicant_id, e)
        if case is None:
            return
        documents = [
            {"document_id": d.document_id, "kind": d.kind, "sha256": d.sha256}
            for d in e.payload.documents
        ]
        if case.receive_documents(
            documents, list(e.payload.outstanding), e.correlation_id, e.event_id, self.system_actor
        ):
            processing_event.collect_events(case)

    @policy.register
    def when_details_amended_then_flag_case_for_review(
        self,
        e: registration.ApplicantDetailsAmended,
        processing_event: ProcessingEvent[uuid.UUID],
    ) -> None:
        case = self._case_or_none(e.payload.applicant_id, e)
        if case is None:
            return
        if not case.note_amendment(
            amendment_id=e.event_id,
            changed_fields=list(e.payload.changed_fields),
            fact_changes=_fact_changes(e.payload),
            reason=e.payload.reason,
            amended_by=e.payload.amended_by,
            correlation_id=e.correlation_id,
            actor=self.system_actor,
        ):
            return
        rule_set = self._rule_set_of(case.cohort_id)
        if rule_set is not None:
            case.assess_eligibility(rule_set, e.correlation_id, e.event_id, self.system_actor)
        processing_event.collect_events(case)

    @policy.register
    def when_cohort_opened_then_adopt_its_terms(
        self, e: registration.CohortOpened, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        p = e.payload
        if self.find(cohort_aggregate_id(p.cohort_id), Cohort) is not None:
            return
        cohort = Cohort(
            cohort_id=p.cohort_id,
            age_reference_date=p.age_reference_date,
            min_age=p.min_age,
            max_age=p.max_age,
            course_codes=[c.code for c in p.courses],
            rules=p.rules.model_dump(mode="json"),
            correlation_id=e.correlation_id,
            causation_id=e.event_id,
            actor=self.system_actor,
        )
        processing_event.collect_events(cohort)
        for waiting in self._waiting_lists(p.cohort_id, e):
            # The waiting cases of a page in one query, not one each (PostgreSQL).
            self.repository.prefetch(waiting.applicant_ids)
            for applicant_id in waiting.applicant_ids:
                case = self._case(applicant_id)
                if case is not None and case.eligibility is None:
                    case.assess_eligibility(
                        cohort.rule_set, case.correlation_id, e.event_id, self.system_actor
                    )
                    processing_event.collect_events(case)
            waiting.close(e.correlation_id, e.event_id, self.system_actor)
            processing_event.collect_events(waiting)
        self._wait_list_pages.pop(p.cohort_id, None)

    def _waiting_lists(
        self, cohort_id: str, e: registration.CohortOpened
    ) -> Iterator[WaitListPage | CohortWaitList]:
        """Every page of cases waiting for the cohort (and the single list a store written
        before pages may hold), then a new page after the last one: closed with the
        others, it makes a case that would start it concurrently a conflict."""
        legacy = self.find(CohortWaitList.create_id(cohort_id), CohortWaitList)
        if legacy is not None:
            yield legacy
        number = 0
        while (page := self.find(wait_list_page_id(cohort_id, number), WaitListPage)) is not None:
            yield page
            number += 1
        yield WaitListPage(cohort_id, number, e.correlation_id, e.event_id, self.system_actor)

    def _case_or_none(self, applicant_id: uuid.UUID, e: Envelope) -> ScreeningCase | None:
        case = self._case(applicant_id)
        if case is None:
            # Same key, same partition: a registration is always read before the events
            # that follow it, unless it was quarantined. Nothing to attach this to.
            log.warning("%s %s for an applicant without a case", e.event_type, e.event_id)
        return case

    def _case(self, applicant_id: uuid.UUID) -> ScreeningCase | None:
        return self.find(applicant_id, ScreeningCase)

    def _rule_set_of(self, cohort_id: str) -> RuleSet | None:
        cohort = self.find(cohort_aggregate_id(cohort_id), Cohort)
        return cohort.rule_set if cohort is not None else None

    # -- commands and queries of office staff ------------------------------------------
    def get_case(self, applicant_id: uuid.UUID) -> ScreeningCase:
        case = self._case(applicant_id)
        if case is None:
            raise NotFound(
                "applicant_id", "there is no screening case for this applicant (not registered)"
            )
        return case

    def record_interview(
        self,
        applicant_id: uuid.UUID,
        stage: str,
        language: str,
        passed: bool,
        interviewer: str,
        interviewed_at: datetime,
        actor: Actor,
        correlation_id: uuid.UUID | None = None,
    ) -> tuple[ScreeningCase, bool]:
        """Records an interview's result; returns the case and whether anything new was
        recorded (False: this very result was already recorded)."""

        def attempt() -> tuple[ScreeningCase, bool]:
            case = self.get_case(applicant_id)
            recorded = case.record_interview(
                stage,
                language,
                passed,
                interviewer,
                interviewed_at,
                correlation_id or case.correlation_id,
                actor,
            )
            if recorded:
                self.save(case)
            return case, recorded

        return self.retry_on_conflict(attempt)


def _fact_changes(amended: registration.ApplicantDetailsAmendedPayload) -> dict[str, Any]:
    """The amended values that eligibility depends on (the contract has already checked
    them: a country is a country code), and the new age when the date of birth changed
    (the date itself, sealed, is not kept)."""
    changes = amended.changes.model_dump(mode="json", include=set(FACT_FIELDS))
    education = changes.pop("education", None)
    if education is not None:
        changes |= {
            "education_level": education["level"],
            "education_status": education["status"],
            "graduation_date": education["graduation_date"],
        }
    if "languages" in changes:
        changes["languages"] = {k: v for k, v in changes["languages"].items() if v is not None}
    if amended.age_on_reference_date is not None:
        changes["age_on_reference_date"] = amended.age_on_reference_date
    return changes
