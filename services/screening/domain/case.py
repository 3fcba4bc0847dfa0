"""A screening case: the office's review of one registered applicant.

Stages: open (documents arrive, eligibility is assessed) -> first interview passed ->
passed (after the second interview: a candidate for matching). A failed interview, at
either stage, ends the screening: nothing is recorded after it.

The case's id is the applicant's id: one case per applicant, however often the
registration that opens it is delivered.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from eventsourcing.domain import Aggregate, event

from kernel.actor import Actor
from kernel.rules import require
from services.screening.domain.eligibility import (
    ApplicantFacts,
)

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
        profile: dict[str, Any] | None = None,
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
        #: What matching needs if they are selected (course and period preferences,
        #: internship interests): not personal data, not eligibility facts. Cases opened
        #: before it was kept have none.
        self.profile: dict[str, Any] = profile or {}
        #: The final decisions: a rejection (stage, reasons), a selection, and a referral
        #: to the office of a selected candidate found ineligible since.
        self.rejection: dict[str, Any] | None = None
        self.selected = False
        self.referral: dict[str, Any] | None = None

    @classmethod
    def open(
        cls,
        applicant_id: uuid.UUID,
        cohort_id: str,
        facts: ApplicantFacts,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
        profile: Mapping[str, Any] | None = None,
    ) -> ScreeningCase:
        """Screening takes up a registered applicant."""
        return cls(
            applicant_id=applicant_id,
            cohort_id=cohort_id,
            facts=facts.as_record(),
            correlation_id=correlation_id,
            causation_id=causation_id,
            actor=actor,
            profile=dict(profile or {}),
        )

    @property
    def applicant_facts(self) -> ApplicantFacts:
        return ApplicantFacts.from_record(self.facts)

    @property
    def closed(self) -> bool:
        """The screening ended: rejected at some stage, or failed an interview."""
        return self.rejection is not None or any(
            not result["passed"] for result in self.interviews.values()
        )

    def may_proceed(self) -> bool:
        """The case may go on to its next step (documents, interviews, selection): the
        applicant is eligible by the last assessment, and no final decision was made."""
        return (
            self.eligibility is not None
            and self.eligibility["result"] == "eligible"
            and not self.closed
            and not self.selected
        )

    @property
    def status(self) -> str:
        """Where the case stands: `awaiting_rules` (the cohort's rules are not known
        yet), `office_review` (implausible facts to correct), `screening` (documents and
        interviews under way), `awaiting_selection` (both rounds passed), `selected`,
        `referred` (selected, then found ineligible: the office decides), `rejected`,
        `failed` (an interview)."""
        if self.rejection is not None:
            return "rejected"
        if self.closed:
            return "failed"
        if self.selected:
            return "referred" if self.referral is not None else "selected"
        if self.eligibility is None:
            return "awaiting_rules"
        if self.eligibility["result"] != "eligible":
            return "office_review"
        if "second" in self.interviews:
            return "awaiting_selection"
        return "screening"

    @property
    def documents_complete(self) -> bool:
        return self.outstanding_documents == []

    # -- eligibility -------------------------------------------------------------------
    def assess_eligibility(
        self,
        assessment: Mapping[str, Any],
        trigger: str,
        cause_event_id: uuid.UUID | None,
        correlation_id: uuid.UUID,
        actor: Actor,
        changed_fields: Sequence[str] = (),
    ) -> bool:
        """Records an assessment of the applicant against the cohort's rule set (its
        `result`, `rule_set` and every rule's `checks`, as `Assessment.as_record()` makes
        it) and what follows from it; returns whether anything was recorded.

        The assessment decides: an ineligible applicant is rejected at stage
        `eligibility`, with the unmet rules as reasons; one found eligible again (an
        amendment, a revision of the rules) after such a rejection has their case
        reopened; a selected candidate who no longer meets the rules is referred to the
        office, which decides (matching holds them meanwhile). Implausible facts are
        put in front of the office to correct, never rejected.

        An assessment identical to the last one (same rule set, same checks) is recorded
        again only when an amendment asked for it: the event then says the amendment
        changed nothing that matters."""
        record = {
            "result": assessment["result"],
            "rule_set": dict(assessment["rule_set"]),
            "checks": [dict(c) for c in assessment["checks"]],
        }
        last = self.eligibility
        unchanged = last is not None and all(last[k] == record[k] for k in record)
        if unchanged and trigger != "amended":
            return False
        self._eligibility_assessed(
            cohort_id=self.cohort_id,
            **record,
            trigger=trigger,
            changed_fields=list(changed_fields),
            cause_event_id=cause_event_id,
            previous_result=last["result"] if last is not None else None,
            correlation_id=correlation_id,
            causation_id=cause_event_id,
            actor=actor,
        )
        self._decide_on_eligibility(correlation_id, actor)
        return True

    def _decide_on_eligibility(self, correlation_id: uuid.UUID, actor: Actor) -> None:
        assert self.eligibility is not None
        result = self.eligibility["result"]
        assessed = self.eligibility["version"]
        if result == "eligible":
            if self.rejection is not None and self.rejection["stage"] == "eligibility":
                self._reopened(
                    cohort_id=self.cohort_id,
                    reason={
                        "code": "eligible_after_reassessment",
                        "text": "eligible when assessed again "
                        f"({self.eligibility['trigger'].replace('_', ' ')})",
                    },
                    assessment_version=assessed,
                    correlation_id=correlation_id,
                    causation_id=None,
                    actor=actor,
                )
            return
        reasons = unmet_reasons(self.eligibility["checks"])
        if self.selected and self.rejection is None:
            if self.referral is None or self.referral["reasons"] != reasons:
                self._referred(
                    cohort_id=self.cohort_id,
                    reasons=reasons,
                    assessment_version=assessed,
                    correlation_id=correlation_id,
                    causation_id=None,
                    actor=actor,
                )
        elif result == "ineligible" and not self.closed:
            self._rejected(
                cohort_id=self.cohort_id,
                stage="eligibility",
                reasons=reasons,
                rule_set=self.eligibility["rule_set"],
                note=None,
                correlation_id=correlation_id,
                causation_id=None,
                actor=actor,
            )

    @event("EligibilityAssessed")
    def _eligibility_assessed(
        self,
        cohort_id: str,
        result: str,
        rule_set: dict[str, Any],
        checks: list[dict[str, Any]],
        trigger: str,
        changed_fields: list[str],
        cause_event_id: uuid.UUID | None,
        previous_result: str | None,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.eligibility = {
            "result": result,
            "rule_set": rule_set,
            "checks": checks,
            "trigger": trigger,
            # This event's own version: a later decision names the assessment it
            # relied on by it (the published event id derives from it).
            "version": self.version + 1,
        }
        if result == "eligible":
            self.referral = None

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

    # -- interview results, as the final decisions read them ---------------------------
    def interview_passed(self, stage: str) -> bool:
        result = self.interviews.get(stage)
        return result is not None and bool(result["passed"])

    def interview_total(self, stage: str) -> int:
        """The round's scorecard total (0 for a result recorded before scorecards)."""
        scorecard = self.interviews[stage].get("scorecard") or {}
        return int(scorecard.get("total", 0))

    # -- final decisions: rejection, reopening, referral, selection --------------------
    @property
    def current_stage(self) -> str:
        """The stage a rejection by the office applies to: the step the case is at."""
        if self.eligibility is None or self.eligibility["result"] != "eligible":
            return "eligibility"
        if self.referral is not None:
            return "eligibility"
        if not self.documents_complete:
            return "documents"
        if "first" not in self.interviews:
            return "first_interview"
        if "second" not in self.interviews:
            return "second_interview"
        return "selection"

    def reject(
        self,
        reasons: list[dict[str, str]],
        note: str | None,
        correlation_id: uuid.UUID,
        actor: Actor,
    ) -> bool:
        """The office turns the applicant down at the step the case is at, with its
        reasons. The same rejection again records nothing (False). A selected candidate
        can be rejected only once referred to the office (found ineligible since)."""
        if self.rejection is not None and self.rejection["reasons"] == reasons:
            return False
        require(self.rejection is None, "case", "the applicant was already rejected", conflict=True)
        require(
            not self.closed, "case", "the screening ended with a failed interview", conflict=True
        )
        require(
            not self.selected or self.referral is not None,
            "case",
            "the candidate was selected and is in matching; only a referral to the office "
            "(found ineligible since) can be decided against them",
            conflict=True,
        )
        rule_set = None
        stage = self.current_stage
        if stage == "eligibility" and self.eligibility is not None:
            rule_set = self.eligibility["rule_set"]
        self._rejected(
            cohort_id=self.cohort_id,
            stage=stage,
            reasons=reasons,
            rule_set=rule_set,
            note=note,
            correlation_id=correlation_id,
            causation_id=None,
            actor=actor,
        )
        return True

    @event("ApplicantRejected")
    def _rejected(
        self,
        cohort_id: str,
        stage: str,
        reasons: list[dict[str, str]],
        rule_set: dict[str, Any] | None,
        note: str | None,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.rejection = {"stage": stage, "reasons": reasons, "rule_set": rule_set}
        self.referral = None

    @event("Reopened")
    def _reopened(
        self,
        cohort_id: str,
        reason: dict[str, str],
        assessment_version: int,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.rejection = None

    @event("ReferredToOffice")
    def _referred(
        self,
        cohort_id: str,
        reasons: list[dict[str, str]],
        assessment_version: int,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.referral = {"reasons": reasons, "assessment_version": assessment_version}

    def select(self, note: str | None, correlation_id: uuid.UUID, actor: Actor) -> bool:
        """The office selects the candidate for matching; returns False if they already
        were. Only an eligible applicant whose documents were accepted and who passed
        both interview rounds can be selected."""
        if self.selected:
            return False
        require(
            self.may_proceed(),
            "case",
            f"the case cannot go on: it is {self.status.replace('_', ' ')}",
            conflict=True,
        )
        require(
            self.interview_passed("second"),
            "stage",
            "a candidate is selected after passing the second interview",
            conflict=True,
        )
        assert self.eligibility is not None
        self._selected(
            cohort_id=self.cohort_id,
            course_preferences=list(self.profile.get("course_preferences", [])),
            period_preferences=list(self.profile.get("period_preferences", [])),
            internship_interests=list(self.profile.get("internship_interests", [])),
            languages=dict(self.facts.get("languages") or {}),
            rule_set=self.eligibility["rule_set"],
            assessment_version=self.eligibility["version"],
            interview_totals={
                stage: self.interview_total(stage) for stage in STAGES if stage in self.interviews
            },
            note=note,
            correlation_id=correlation_id,
            causation_id=None,
            actor=actor,
        )
        return True

    @event("CandidateSelected")
    def _selected(
        self,
        cohort_id: str,
        course_preferences: list[str],
        period_preferences: list[str],
        internship_interests: list[str],
        languages: dict[str, Any],
        rule_set: dict[str, Any],
        assessment_version: int,
        interview_totals: dict[str, int],
        note: str | None,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.selected = True


def unmet_reasons(checks: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """The reasons of a decision against the applicant: each unmet rule, by id, with
    its reason."""
    return [
        {"code": c["rule"], "text": c.get("reason") or f"{c['rule']} not met"}
        for c in checks
        if not c["passed"]
    ]
