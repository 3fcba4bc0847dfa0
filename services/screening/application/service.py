"""Screening's application service: the policies that react to registration's events,
and the commands office staff give on a case.

Policies run in the inbox, with the Kafka position recorded in the same transaction as
the events they collect. A record they cannot act on (a case that does not exist) is
logged and passed over; an unexpected exception would quarantine the record.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from functools import singledispatchmethod
from typing import Any

from eventsourcing.application import ProcessingEvent

from events import registration
from events.envelope import Envelope
from kernel.actor import Actor
from kernel.rules import NotFound
from runtime.application import ServiceApplication
from services.screening.domain.case import ScreeningCase
from services.screening.domain.cohort import Cohort, CohortWaitList, cohort_aggregate_id
from services.screening.domain.eligibility import ApplicantFacts, EligibilityTerms

log = logging.getLogger(__name__)


#: Details whose amendment changes the facts eligibility is assessed on.
FACT_FIELDS = ("date_of_birth", "nationality", "country_of_residence")


class ScreeningApplication(ServiceApplication):
    name = "screening"

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
            facts=ApplicantFacts(
                date_of_birth=p.date_of_birth,
                nationality=p.nationality,
                country_of_residence=p.country_of_residence,
                previous_participation_years=tuple(p.previous_participation_years),
                declares_no_final_job_commitment=p.declares_no_final_job_commitment,
            ),
            correlation_id=e.correlation_id,
            causation_id=e.event_id,
            actor=self.system_actor,
        )
        terms = self._terms_of(p.cohort_id)
        if terms is not None:
            case.assess_eligibility(terms, e.correlation_id, e.event_id, self.system_actor)
            processing_event.collect_events(case)
            return
        wait_list = self.find(CohortWaitList.create_id(p.cohort_id), CohortWaitList)
        if wait_list is None:
            wait_list = CohortWaitList(p.cohort_id, e.correlation_id, e.event_id, self.system_actor)
        wait_list.add(case.id, e.correlation_id, e.event_id, self.system_actor)
        processing_event.collect_events(case, wait_list)

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
            fact_changes=_fact_changes(e.payload.changes),
            reason=e.payload.reason,
            amended_by=e.payload.amended_by,
            correlation_id=e.correlation_id,
            actor=self.system_actor,
        ):
            return
        terms = self._terms_of(case.cohort_id)
        if terms is not None:
            case.assess_eligibility(terms, e.correlation_id, e.event_id, self.system_actor)
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
        wait_list = self.find(CohortWaitList.create_id(p.cohort_id), CohortWaitList)
        if wait_list is None:
            return
        for applicant_id in wait_list.applicant_ids:
            case = self._case(applicant_id)
            if case is not None and case.eligibility is None:
                case.assess_eligibility(
                    cohort.terms, case.correlation_id, e.event_id, self.system_actor
                )
                processing_event.collect_events(case)
        wait_list.close(e.correlation_id, e.event_id, self.system_actor)
        processing_event.collect_events(wait_list)

    def _case_or_none(self, applicant_id: uuid.UUID, e: Envelope) -> ScreeningCase | None:
        case = self._case(applicant_id)
        if case is None:
            # Same key, same partition: a registration is always read before the events
            # that follow it, unless it was quarantined. Nothing to attach this to.
            log.warning("%s %s for an applicant without a case", e.event_type, e.event_id)
        return case

    def _case(self, applicant_id: uuid.UUID) -> ScreeningCase | None:
        return self.find(applicant_id, ScreeningCase)

    def _terms_of(self, cohort_id: str) -> EligibilityTerms | None:
        cohort = self.find(cohort_aggregate_id(cohort_id), Cohort)
        return cohort.terms if cohort is not None else None

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


def _fact_changes(changes: registration.AmendedDetails) -> dict[str, Any]:
    """The amended values that eligibility depends on (the contract has already checked
    them: a date is a date, a country a country code)."""
    return changes.model_dump(include=set(FACT_FIELDS))
