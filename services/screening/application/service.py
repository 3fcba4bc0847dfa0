"""Screening's application service: the policies that react to registration's events,
and the commands office staff give on a case.

Policies run in the inbox, with the Kafka position recorded in the same transaction as
the events they collect. A record they cannot act on (a case that does not exist) is
logged and passed over; an unexpected exception would quarantine the record.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import singledispatchmethod
from typing import Any, TypeVar

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
from services.screening.domain.eligibility import ApplicantFacts, RuleSet, assess
from services.screening.domain.interviews import RoundScorecard, scorecard_for

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Details whose amendment changes the facts eligibility is assessed on (with the age,
#: which the amendment carries when the date of birth changed).
FACT_FIELDS = ("nationality", "country_of_residence", "education", "languages")
#: Amended details after which the applicant is assessed again.
ASSESSED_FIELDS = frozenset((*FACT_FIELDS, "date_of_birth"))
#: What screening keeps of a registration for matching, should the applicant be selected.
PROFILE_FIELDS = ("course_preferences", "period_preferences", "internship_interests")


@dataclass(frozen=True)
class Discrepancy:
    """A recorded assessment that its re-run from the log does not reproduce."""

    applicant_id: uuid.UUID
    case_version: int
    recorded: str
    rerun: str


class CohortOpenedMeanwhile(IntegrityError):
    """A case was about to wait for a cohort that opened after its terms were read: a
    conflict like any other, decided again (and then assessed at once)."""


class ScreeningApplication(ServiceApplication):
    name = "screening"

    def __init__(
        self, *args: Any, clock: Callable[[], datetime] = lambda: datetime.now(UTC), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        #: Now, for the rules that depend on it (a no-show only after the interview's
        #: time, no result from the future).
        self.clock = clock
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
            profile=p.model_dump(mode="json", include=set(PROFILE_FIELDS)),
        )
        rule_set = self._rule_set_of(p.cohort_id)
        if rule_set is not None:
            self._assess(case, rule_set, "registered", e)
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
        changed = list(e.payload.changed_fields)
        if rule_set is not None and ASSESSED_FIELDS.intersection(changed):
            self._assess(case, rule_set, "amended", e, changed_fields=changed)
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
                    self._assess(case, cohort.rule_set, "cohort_adopted", e, case.correlation_id)
                    processing_event.collect_events(case)
            waiting.close(e.correlation_id, e.event_id, self.system_actor)
            processing_event.collect_events(waiting)
        self._wait_list_pages.pop(p.cohort_id, None)

    @policy.register
    def when_cohort_rules_revised_then_assess_again(
        self, e: registration.CohortRulesRevised, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        """A new version of the cohort's rule set: every case of the cohort still under
        screening, selected, or rejected for eligibility is assessed again under it,
        each decision naming the new version (one record, so all of them or none are
        recorded)."""
        p = e.payload
        cohort = self.find(cohort_aggregate_id(p.cohort_id), Cohort)
        if cohort is None:
            log.warning("CohortRulesRevised %s for a cohort screening does not know", e.event_id)
            return
        if not cohort.revise_rules(
            p.rules.model_dump(mode="json"), e.correlation_id, e.event_id, self.system_actor
        ):
            return
        processing_event.collect_events(cohort)
        ids = list(self.case_ids_of_cohort(p.cohort_id))
        for chunk in range(0, len(ids), 500):
            self.repository.prefetch(ids[chunk : chunk + 500])
            for applicant_id in ids[chunk : chunk + 500]:
                case = self._case(applicant_id)
                if case is None or case.eligibility is None:
                    continue
                # A case ended at another stage stays ended; one rejected for
                # eligibility may be eligible under the new version (reopened).
                if case.rejection is not None and case.rejection["stage"] != "eligibility":
                    continue
                if case.closed and case.rejection is None:
                    continue  # failed an interview
                if self._assess(case, cohort.rule_set, "rules_revised", e, case.correlation_id):
                    processing_event.collect_events(case)

    def case_ids_of_cohort(self, cohort_id: str) -> Iterator[uuid.UUID]:
        """Every case of the cohort, read from the log (each case's opening), in order."""
        for opened in self.stored_events_of(ScreeningCase.Opened):
            if opened.cohort_id == cohort_id:
                yield opened.originator_id

    # -- reproducing decisions from the log --------------------------------------------
    def rerun_assessments(
        self, on_progress: Callable[[int, int], None] | None = None
    ) -> tuple[int, list[Discrepancy]]:
        """Re-runs every recorded eligibility assessment from the log alone: the case's
        facts as they stood just before it, and the version of the cohort's rule set it
        names, read back from the cohort's history. Returns how many were re-run and
        those whose recorded result or checks differ from the re-run (none, unless a
        rule's code changed without a new rule version, or the log was altered).
        `on_progress(done, total)` is called as it goes."""
        assessments = list(self.stored_events_of(ScreeningCase.EligibilityAssessed))
        rule_sets: dict[str, dict[int, RuleSet]] = {}
        discrepancies = []
        for done, recorded in enumerate(assessments, start=1):
            before = self.repository.get(
                recorded.originator_id, version=recorded.originator_version - 1
            )
            versions = rule_sets.get(before.cohort_id)
            if versions is None:
                versions = rule_sets[before.cohort_id] = self._rule_set_history(before.cohort_id)
            rule_set = versions.get(recorded.rule_set["version"])
            rerun = (
                assess(before.applicant_facts, rule_set).as_record()
                if rule_set is not None
                else None
            )
            if rerun is None or (rerun["result"], rerun["checks"]) != (
                recorded.result,
                recorded.checks,
            ):
                discrepancies.append(
                    Discrepancy(
                        applicant_id=recorded.originator_id,
                        case_version=recorded.originator_version,
                        recorded=recorded.result,
                        rerun=rerun["result"] if rerun else "rule set version not in the log",
                    )
                )
            if on_progress is not None:
                on_progress(done, len(assessments))
        return len(assessments), discrepancies

    def _rule_set_history(self, cohort_id: str) -> dict[int, RuleSet]:
        """Every version of the cohort's rule set, by version, from the cohort's log."""
        cohort = self.repository.get(cohort_aggregate_id(cohort_id))
        history = {}
        for version in range(1, cohort.version + 1):
            rule_set = self.repository.get(cohort.id, version=version).rule_set
            history[rule_set.version] = rule_set
        return history

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

    def _assess(
        self,
        case: ScreeningCase,
        rule_set: RuleSet,
        trigger: str,
        cause: Envelope,
        correlation_id: uuid.UUID | None = None,
        changed_fields: list[str] | None = None,
    ) -> bool:
        """Assesses the case against the rule set and records the decision, which says
        what made screening assess (`trigger`, the `cause` event, the changed fields)."""
        return case.assess_eligibility(
            assess(case.applicant_facts, rule_set).as_record(),
            trigger,
            cause.event_id,
            correlation_id or cause.correlation_id,
            self.system_actor,
            changed_fields or (),
        )

    # -- commands and queries of office staff ------------------------------------------
    def get_case(self, applicant_id: uuid.UUID) -> ScreeningCase:
        case = self._case(applicant_id)
        if case is None:
            raise NotFound(
                "applicant_id", "there is no screening case for this applicant (not registered)"
            )
        return case

    def _decide(
        self,
        applicant_id: uuid.UUID,
        correlation_id: uuid.UUID | None,
        decide: Callable[[ScreeningCase, uuid.UUID], T],
    ) -> tuple[ScreeningCase, T]:
        """Runs a staff command on a case and saves what it recorded (nothing: the same
        command was already given), deciding again on a concurrent change. Without the
        caller's correlation id, the command continues the applicant's flow."""

        def attempt() -> tuple[ScreeningCase, T]:
            case = self.get_case(applicant_id)
            outcome = decide(case, correlation_id or case.correlation_id)
            if case.pending_events:
                self.save(case)
            return case, outcome

        return self.retry_on_conflict(attempt)

    # -- documents
    def review_document(
        self,
        applicant_id: uuid.UUID,
        document_id: uuid.UUID,
        decision: str,
        reason_code: str | None,
        note: str | None,
        actor: Actor,
        correlation_id: uuid.UUID | None = None,
    ) -> tuple[ScreeningCase, bool]:
        """Accepts or rejects a document (`note` sealed); returns the case and whether
        anything new was recorded."""
        return self._decide(
            applicant_id,
            correlation_id,
            lambda case, flow: case.review_document(
                document_id, decision, reason_code, note, flow, actor
            ),
        )

    def request_document(
        self,
        applicant_id: uuid.UUID,
        kind: str,
        due_by: date | None,
        note: str | None,
        actor: Actor,
        correlation_id: uuid.UUID | None = None,
    ) -> tuple[ScreeningCase, bool]:
        return self._decide(
            applicant_id,
            correlation_id,
            lambda case, flow: case.request_document(kind, due_by, note, flow, actor),
        )

    # -- interviews
    def scorecard(self, case: ScreeningCase, stage: str) -> RoundScorecard:
        """The scorecard of a round in the case's cohort (its rules, or the default)."""
        cohort = self.find(cohort_aggregate_id(case.cohort_id), Cohort)
        return scorecard_for(case.cohort_id, cohort.rules if cohort else {}, stage)

    def schedule_interview(
        self,
        applicant_id: uuid.UUID,
        stage: str,
        slot: dict[str, Any],
        actor: Actor,
        correlation_id: uuid.UUID | None = None,
    ) -> tuple[ScreeningCase, uuid.UUID, bool]:
        """Schedules a round (`slot` in the contract's JSON form); returns the case, the
        interview's id and whether it is new (False: this very slot was scheduled)."""
        new_id = uuid.uuid4()
        case, interview_id = self._decide(
            applicant_id,
            correlation_id,
            lambda case, flow: case.schedule_interview(new_id, stage, slot, flow, actor),
        )
        return case, interview_id, interview_id == new_id

    def reschedule_interview(
        self,
        applicant_id: uuid.UUID,
        interview_id: uuid.UUID,
        slot: dict[str, Any],
        reason: dict[str, str],
        actor: Actor,
        correlation_id: uuid.UUID | None = None,
    ) -> tuple[ScreeningCase, bool]:
        return self._decide(
            applicant_id,
            correlation_id,
            lambda case, flow: case.reschedule_interview(interview_id, slot, reason, flow, actor),
        )

    def cancel_interview(
        self,
        applicant_id: uuid.UUID,
        interview_id: uuid.UUID,
        reason: dict[str, str],
        actor: Actor,
        correlation_id: uuid.UUID | None = None,
    ) -> tuple[ScreeningCase, bool]:
        return self._decide(
            applicant_id,
            correlation_id,
            lambda case, flow: case.cancel_interview(interview_id, reason, flow, actor),
        )

    def note_no_show(
        self,
        applicant_id: uuid.UUID,
        interview_id: uuid.UUID,
        actor: Actor,
        correlation_id: uuid.UUID | None = None,
    ) -> tuple[ScreeningCase, bool]:
        return self._decide(
            applicant_id,
            correlation_id,
            lambda case, flow: case.note_no_show(interview_id, self.clock(), flow, actor),
        )

    def record_interview_result(
        self,
        applicant_id: uuid.UUID,
        interview_id: uuid.UUID,
        interviewed_at: datetime,
        scores: Mapping[str, int],
        note: str | None,
        actor: Actor,
        correlation_id: uuid.UUID | None = None,
    ) -> tuple[ScreeningCase, bool]:
        """Records a scheduled interview's result, scored on the cohort's scorecard of
        its round; returns the case and whether anything new was recorded."""

        def decide(case: ScreeningCase, flow: uuid.UUID) -> bool:
            interview = case.interviews.get(str(interview_id))
            stage = interview["stage"] if interview else "first"
            scored = self.scorecard(case, stage).score(scores)
            return case.record_interview_result(
                interview_id, interviewed_at, scored, note, self.clock(), flow, actor
            )

        return self._decide(applicant_id, correlation_id, decide)

    def correct_interview_record(
        self,
        applicant_id: uuid.UUID,
        interview_id: uuid.UUID,
        changes: dict[str, Any],
        reason: str,
        actor: Actor,
        correlation_id: uuid.UUID | None = None,
    ) -> tuple[ScreeningCase, bool]:
        """Corrects a recorded interview result (`reason` sealed)."""
        return self._decide(
            applicant_id,
            correlation_id,
            lambda case, flow: case.correct_interview_record(
                interview_id, changes, reason, self.clock(), flow, actor
            ),
        )

    def reject(
        self,
        applicant_id: uuid.UUID,
        reasons: list[dict[str, str]],
        note: str | None,
        actor: Actor,
        correlation_id: uuid.UUID | None = None,
    ) -> tuple[ScreeningCase, bool]:
        """The office turns the applicant down at the step their case is at; returns the
        case and whether anything was recorded. `note` comes sealed."""
        return self._decide(
            applicant_id,
            correlation_id,
            lambda case, flow: case.reject(reasons, note, flow, actor),
        )

    def select(
        self,
        applicant_id: uuid.UUID,
        note: str | None,
        actor: Actor,
        correlation_id: uuid.UUID | None = None,
    ) -> tuple[ScreeningCase, bool]:
        """The office selects the candidate for matching; returns the case and whether
        anything was recorded. `note` comes sealed."""
        return self._decide(
            applicant_id, correlation_id, lambda case, flow: case.select(note, flow, actor)
        )


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
