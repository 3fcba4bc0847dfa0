"""A screening case: the office's review of one registered applicant.

Stages: open (documents arrive, eligibility is assessed) -> first interview passed ->
passed (after the second interview: a candidate for matching). A failed interview, at
either stage, ends the screening: nothing is recorded after it.

The case's id is the applicant's id: one case per applicant, however often the
registration that opens it is delivered.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Final

from eventsourcing.domain import Aggregate, event

from kernel.actor import Actor
from kernel.rules import require
from services.screening.domain.eligibility import ApplicantFacts, RuleSet, assess

STAGES: Final = ("first", "second")
#: The first interview is held in the local language, English or Japanese; the second
#: in Japanese or English (the 2025 call).
LANGUAGES_BY_STAGE: Final = {
    "first": ("local", "english", "japanese"),
    "second": ("english", "japanese"),
}


class ScreeningCase(Aggregate):
    @staticmethod
    def create_id(applicant_id: uuid.UUID, **_: Any) -> uuid.UUID:
        return applicant_id

    @event("Opened")
    def __init__(
        self,
        applicant_id: uuid.UUID,
        cohort_id: str,
        facts: dict[str, Any],
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.applicant_id = applicant_id
        self.cohort_id = cohort_id
        self.facts = facts
        #: The applicant's business flow; staff decisions on the case continue it.
        self.correlation_id = correlation_id
        self.eligibility: dict[str, Any] | None = None
        self.documents: list[dict[str, Any]] = []
        self.outstanding_documents: list[str] | None = None
        self.interviews: dict[str, dict[str, Any]] = {}
        self.amendments: list[dict[str, Any]] = []
        #: The applicant's details changed since the office last decided on the case.
        self.needs_review = False

    @classmethod
    def open(
        cls,
        applicant_id: uuid.UUID,
        cohort_id: str,
        facts: ApplicantFacts,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> ScreeningCase:
        """Screening takes up a registered applicant."""
        return cls(
            applicant_id=applicant_id,
            cohort_id=cohort_id,
            facts=facts.as_record(),
            correlation_id=correlation_id,
            causation_id=causation_id,
            actor=actor,
        )

    @property
    def applicant_facts(self) -> ApplicantFacts:
        return ApplicantFacts.from_record(self.facts)

    @property
    def status(self) -> str:
        """open | first_interview_passed | passed | failed"""
        if any(not result["passed"] for result in self.interviews.values()):
            return "failed"
        if "second" in self.interviews:
            return "passed"
        if "first" in self.interviews:
            return "first_interview_passed"
        return "open"

    @property
    def documents_complete(self) -> bool:
        return self.outstanding_documents == []

    # -- eligibility -------------------------------------------------------------------
    def assess_eligibility(
        self,
        rule_set: RuleSet,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        """Applies the cohort's rule set to the applicant's facts; records the outcome
        only when it differs from the last one. The decision explains itself: the rule
        set and version, and for each rule its version, what it saw and whether it
        passed (and why not)."""
        facts = self.applicant_facts
        assessment = assess(facts, rule_set)
        findings = [
            {"rule": c.rule, "version": c.version, "reason": c.reason} for c in assessment.failed
        ]
        rules: list[dict[str, Any]] = [
            {"rule": c.rule, "version": c.version} for c in assessment.checks
        ]
        record = assessment.as_record()
        decision = {
            "eligible": assessment.eligible,
            "findings": findings,
            "age_on_reference_date": facts.age_on_reference_date,
            "rules": rules,
            **record,
        }
        if self.eligibility == decision:
            return
        self._eligibility_assessed(
            eligible=assessment.eligible,
            findings=findings,
            age_on_reference_date=facts.age_on_reference_date,
            age_reference_date=rule_set.age_reference_date,
            rules=rules,
            assessment=record,
            correlation_id=correlation_id,
            causation_id=causation_id,
            actor=actor,
        )

    @event("EligibilityAssessed")
    def _eligibility_assessed(
        self,
        eligible: bool,
        findings: list[dict[str, Any]],
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
        age_on_reference_date: int | None = None,
        age_reference_date: date | None = None,
        rules: list[dict[str, Any]] | None = None,
        assessment: dict[str, Any] | None = None,
    ) -> None:
        # The defaults read decisions recorded before they said the age, the rules and
        # the whole assessment (rule set, version, result, checks).
        self.eligibility = {
            "eligible": eligible,
            "findings": findings,
            "age_on_reference_date": age_on_reference_date,
            "rules": rules or [],
            **(assessment or {}),
        }

    # -- documents ---------------------------------------------------------------------
    def receive_documents(
        self,
        documents: list[dict[str, Any]],
        outstanding: list[str],
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> bool:
        """Records which documents arrived (`document_id`, `kind`, `sha256` each) and
        which kinds are still outstanding. Documents already recorded are not recorded
        again; returns whether anything was new."""
        known = {d["document_id"] for d in self.documents}
        new = [d for d in documents if d["document_id"] not in known]
        if not new:
            return False
        self._documents_received(
            documents=new,
            outstanding=outstanding,
            correlation_id=correlation_id,
            causation_id=causation_id,
            actor=actor,
        )
        return True

    @event("DocumentsReceived")
    def _documents_received(
        self,
        documents: list[dict[str, Any]],
        outstanding: list[str],
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.documents.extend(documents)
        self.outstanding_documents = outstanding

    # -- amendments --------------------------------------------------------------------
    def note_amendment(
        self,
        amendment_id: uuid.UUID,
        changed_fields: list[str],
        fact_changes: dict[str, Any],
        reason: str,
        amended_by: str,
        correlation_id: uuid.UUID,
        actor: Actor,
    ) -> bool:
        """The office changed the applicant's details: the facts screening relies on are
        updated and the case is flagged for review. `reason` is kept as it came, sealed
        with the applicant's key (it reads as erased once they are). `amendment_id` (the
        upstream event) makes a redelivered amendment a no-op; returns whether it was
        new."""
        if any(a["amendment_id"] == amendment_id for a in self.amendments):
            return False
        self._details_amended(
            amendment_id=amendment_id,
            changed_fields=changed_fields,
            fact_changes=fact_changes,
            reason=reason,
            amended_by=amended_by,
            correlation_id=correlation_id,
            causation_id=amendment_id,
            actor=actor,
        )
        return True

    @event("DetailsAmended")
    def _details_amended(
        self,
        amendment_id: uuid.UUID,
        changed_fields: list[str],
        fact_changes: dict[str, Any],
        reason: str,
        amended_by: str,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.facts = {**self.facts, **fact_changes}
        self.amendments.append(
            {
                "amendment_id": amendment_id,
                "changed_fields": changed_fields,
                "reason": reason,
                "amended_by": amended_by,
            }
        )
        self.needs_review = True

    # -- interviews --------------------------------------------------------------------
    def record_interview(
        self,
        stage: str,
        language: str,
        passed: bool,
        interviewer: str,
        interviewed_at: datetime,
        correlation_id: uuid.UUID,
        actor: Actor,
    ) -> bool:
        """Records an interview's result. The same result recorded again records
        nothing (returns False); a different result for a stage already decided, any
        result after a failure, or a second interview before a passed first one is a
        conflict."""
        result = {
            "stage": stage,
            "language": language,
            "passed": passed,
            "interviewer": interviewer,
            "interviewed_at": interviewed_at,
        }
        if self.interviews.get(stage) == result:
            return False
        require(stage in STAGES, "stage", "the stage is first or second")
        require(
            language in LANGUAGES_BY_STAGE[stage],
            "language",
            f"the {stage} interview is held in " + " or ".join(LANGUAGES_BY_STAGE[stage]),
        )
        require(
            self.status != "failed",
            "stage",
            "the screening ended with a failed interview",
            conflict=True,
        )
        require(
            stage not in self.interviews,
            "stage",
            f"the result of the {stage} interview is already recorded",
            conflict=True,
        )
        if stage == "second":
            first = self.interviews.get("first")
            require(
                first is not None,
                "stage",
                "the second interview comes after a passed first interview",
                conflict=True,
            )
            assert first is not None
            require(
                interviewed_at >= first["interviewed_at"],
                "interviewed_at",
                "the second interview cannot precede the first",
            )
        record = self._interview_passed if passed else self._interview_failed
        record(
            cohort_id=self.cohort_id,
            stage=stage,
            language=language,
            interviewer=interviewer,
            interviewed_at=interviewed_at,
            correlation_id=correlation_id,
            causation_id=None,
            actor=actor,
        )
        return True

    @event("InterviewPassed")
    def _interview_passed(
        self,
        cohort_id: str,
        stage: str,
        language: str,
        interviewer: str,
        interviewed_at: datetime,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self._note_interview(stage, language, True, interviewer, interviewed_at)

    @event("InterviewFailed")
    def _interview_failed(
        self,
        cohort_id: str,
        stage: str,
        language: str,
        interviewer: str,
        interviewed_at: datetime,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self._note_interview(stage, language, False, interviewer, interviewed_at)

    def _note_interview(
        self, stage: str, language: str, passed: bool, interviewer: str, interviewed_at: datetime
    ) -> None:
        self.interviews[stage] = {
            "stage": stage,
            "language": language,
            "passed": passed,
            "interviewer": interviewer,
            "interviewed_at": interviewed_at,
        }
        # Deciding on the case is the office's review of it, amended details included.
        self.needs_review = False
