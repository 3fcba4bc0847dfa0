"""A screening case: the office's review of one registered applicant.

Stages: open (documents arrive and are reviewed, eligibility is assessed) -> first
interview passed -> passed (after the second interview). Interviews are scheduled only
once every required document is accepted, and only while the case may proceed
(`may_proceed`). A failed interview ends the screening, unless a correction of its
record turns it into a pass.

The case's id is the applicant's id: one case per applicant, however often the
registration that opens it is delivered.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from eventsourcing.domain import Aggregate, event

from kernel.actor import Actor
from kernel.rules import NotFound, RuleViolation, require
from services.screening.domain.documents import (
    DocumentsState,
    documents_state,
    required_documents,
)
from services.screening.domain.eligibility import (
    ApplicantFacts,
)
from services.screening.domain.interviews import LANGUAGES_BY_STAGE, OPEN, STAGES, rescore

#: How far ahead of the service's clock a result's time may be (clocks of the office's
#: machines differ a little); beyond it, the interview has not taken place yet.
CLOCK_TOLERANCE = timedelta(minutes=5)


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
        #: Every document received, in order of arrival (`document_id`, `kind`, `sha256`).
        self.documents: list[dict[str, Any]] = []
        #: What registration counted as outstanding (screening computes its own).
        self.outstanding_documents: list[str] | None = None
        #: The review of each document, by document id (text).
        self.document_reviews: dict[str, dict[str, Any]] = {}
        #: The office's requests for a document, in order.
        self.document_requests: list[dict[str, Any]] = []
        #: Every interview of the case, by interview id (text), in order of scheduling.
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
        return (
            self.rejection is not None
            or self.round_passed("first") is False
            or self.round_passed("second") is False
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
        yet), `office_review` (implausible facts to correct), `open` (documents and the
        first round under way), `first_interview_passed`, `passed` (both rounds passed:
        awaiting the office's selection), `selected`, `referred` (selected, then found
        ineligible: the office decides), `rejected`, `failed` (an interview)."""
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
        if self.round_passed("second"):
            return "passed"
        if self.round_passed("first"):
            return "first_interview_passed"
        return "open"

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
    @property
    def required_documents(self) -> list[str]:
        """The kinds this applicant must provide, from their facts and the office's
        requests (see `domain/documents.py`)."""
        return required_documents(
            self.facts.get("education_status"),
            self.facts.get("languages"),
            [r["kind"] for r in self.document_requests],
        )

    @property
    def documents_state(self) -> DocumentsState:
        decisions = {d: r["decision"] for d, r in self.document_reviews.items()}
        return documents_state(self.required_documents, self.documents, decisions)

    @property
    def documents_complete(self) -> bool:
        """Every required document is in and accepted."""
        return self.documents_state.complete

    def receive_documents(
        self,
        documents: list[dict[str, Any]],
        outstanding: list[str],
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> bool:
        """Records which documents arrived (`document_id`, `kind`, `sha256` each); a new
        document of a kind supersedes the earlier ones. Documents already recorded are
        not recorded again; returns whether anything was new."""
        known = {str(d["document_id"]) for d in self.documents}
        new = [d for d in documents if str(d["document_id"]) not in known]
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

    def review_document(
        self,
        document_id: uuid.UUID,
        decision: str,
        reason_code: str | None,
        note: str | None,
        correlation_id: uuid.UUID,
        actor: Actor,
    ) -> bool:
        """Accepts or rejects (with a reason code) the latest document of a kind. The
        same decision again records nothing (returns False). A decision may change
        while no interview is scheduled or held: the reviewer corrects a slip before it
        has consequences; once an interview rests on the documents, it stands. `note`
        comes sealed."""
        document = self._document(document_id)
        self._require_screening_goes_on()
        require(
            (decision == "rejected") == (reason_code is not None),
            "reason_code",
            "a rejection needs a reason code; an acceptance takes none",
        )
        previous = self.document_reviews.get(str(document_id))
        if previous and (previous["decision"], previous["reason_code"]) == (decision, reason_code):
            return False
        kind = document["kind"]
        require(
            self.documents_state.current.get(kind) == str(document_id),
            "document_id",
            f"a newer {kind} was received since: review that one",
            conflict=True,
        )
        if previous is not None:
            require(
                not any(i["state"] in (OPEN, "held") for i in self.interviews.values()),
                "decision",
                "an interview was scheduled on the documents as reviewed: the review stands",
                conflict=True,
            )
        decisions = {d: r["decision"] for d, r in self.document_reviews.items()}
        decisions[str(document_id)] = decision
        after = documents_state(self.required_documents, self.documents, decisions)
        self._document_reviewed(
            cohort_id=self.cohort_id,
            document_id=document_id,
            kind=kind,
            decision=decision,
            reason_code=reason_code,
            note=note,
            required=after.required,
            outstanding=after.outstanding,
            documents_complete=after.complete,
            correlation_id=correlation_id,
            causation_id=None,
            actor=actor,
        )
        return True

    @event("DocumentReviewed")
    def _document_reviewed(
        self,
        cohort_id: str,
        document_id: uuid.UUID,
        kind: str,
        decision: str,
        reason_code: str | None,
        note: str | None,
        required: list[str],
        outstanding: list[str],
        documents_complete: bool,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.document_reviews[str(document_id)] = {
            "decision": decision,
            "reason_code": reason_code,
            "note": note,
            "reviewed_by": actor.get("id"),
        }

    def request_document(
        self,
        kind: str,
        due_by: date | None,
        note: str | None,
        correlation_id: uuid.UUID,
        actor: Actor,
    ) -> bool:
        """The office asks for a document; it is required from now on. Why is decided
        here: `missing` (required, none received), `rejected` (its latest was rejected)
        or `requested_by_office` (a kind not otherwise required, e.g. the résumé). The
        same request again, with nothing received meanwhile, records nothing."""
        self._require_screening_goes_on()
        state = self.documents_state
        current = state.current.get(kind)
        if current is not None:
            decision = self.document_reviews.get(current, {}).get("decision")
            require(decision != "accepted", "kind", f"an accepted {kind} is on file", conflict=True)
            require(decision is not None, "kind", f"a {kind} awaits review", conflict=True)
        last = next((r for r in reversed(self.document_requests) if r["kind"] == kind), None)
        if last and last["due_by"] == due_by and last["documents_seen"] == len(self.documents):
            return False
        if kind not in state.required:
            reason_code = "requested_by_office"
        elif current is not None:
            reason_code = "rejected"
        else:
            reason_code = "missing"
        self._document_requested(
            cohort_id=self.cohort_id,
            kind=kind,
            reason_code=reason_code,
            due_by=due_by,
            note=note,
            correlation_id=correlation_id,
            causation_id=None,
            actor=actor,
        )
        return True

    @event("DocumentRequested")
    def _document_requested(
        self,
        cohort_id: str,
        kind: str,
        reason_code: str,
        due_by: date | None,
        note: str | None,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.document_requests.append(
            {
                "kind": kind,
                "reason_code": reason_code,
                "due_by": due_by,
                "note": note,
                "requested_by": actor.get("id"),
                "documents_seen": len(self.documents),
            }
        )

    def _document(self, document_id: uuid.UUID) -> dict[str, Any]:
        for document in self.documents:
            if str(document["document_id"]) == str(document_id):
                return document
        raise NotFound("document_id", "no document of this id was received for this applicant")

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
    def round_result(self, stage: str) -> dict[str, Any] | None:
        """The recorded (and corrected) result of a round: the interview held in it."""
        for interview in self.interviews.values():
            if interview["stage"] == stage and interview["result"] is not None:
                result: dict[str, Any] = interview["result"]
                return result
        return None

    def round_passed(self, stage: str) -> bool | None:
        """True or False once the round's result is recorded; None before."""
        result = self.round_result(stage)
        return None if result is None else bool(result["passed"])

    def _interview(self, interview_id: uuid.UUID) -> dict[str, Any]:
        interview = self.interviews.get(str(interview_id))
        if interview is None:
            raise NotFound("interview_id", "this case has no interview of this id")
        return interview

    def _require_screening_goes_on(self) -> None:
        """Documents are reviewed and requested only while screening goes on: not once
        the applicant was rejected, failed an interview or was selected."""
        require(
            not self.closed and not self.selected,
            "case",
            f"the screening of this applicant is over ({self.status.replace('_', ' ')})",
            conflict=True,
        )

    def _require_may_proceed(self) -> None:
        require(
            self.may_proceed(),
            "eligibility",
            "the applicant's screening does not go on: not found eligible, or ended",
            conflict=True,
        )

    @staticmethod
    def _require_language(stage: str, language: str, field: str) -> None:
        require(
            language in LANGUAGES_BY_STAGE[stage],
            field,
            f"the {stage} interview is held in " + " or ".join(LANGUAGES_BY_STAGE[stage]),
        )

    def schedule_interview(
        self,
        interview_id: uuid.UUID,
        stage: str,
        slot: dict[str, Any],
        correlation_id: uuid.UUID,
        actor: Actor,
    ) -> uuid.UUID:
        """Schedules a round (`slot` as the contract's `InterviewSlot`, in JSON form):
        only while the case may proceed, once every required document is accepted, the
        second round after a passed first, and one open interview per round. Scheduling
        the very slot already open for the round again records nothing and returns
        that interview's id."""
        require(stage in STAGES, "stage", "the stage is first or second")
        self._require_language(stage, slot["language"], "slot.language")
        for interview in self.interviews.values():
            if interview["stage"] == stage and interview["state"] == OPEN:
                if interview["slot"] == slot:
                    return uuid.UUID(interview["interview_id"])
                raise RuleViolation(
                    "stage",
                    f"the {stage} interview is already scheduled "
                    f"({interview['interview_id']}): reschedule or cancel it",
                    conflict=True,
                )
        self._require_may_proceed()
        outstanding = self.documents_state.outstanding
        require(
            not outstanding,
            "documents",
            "every required document must be in and accepted first; outstanding: "
            + ", ".join(outstanding),
            conflict=True,
        )
        require(
            self.round_result(stage) is None,
            "stage",
            f"the result of the {stage} interview is already recorded",
            conflict=True,
        )
        if stage == "second":
            require(
                self.round_passed("first") is True,
                "stage",
                "the second interview comes after a passed first interview",
                conflict=True,
            )
        self._interview_scheduled(
            cohort_id=self.cohort_id,
            interview_id=interview_id,
            stage=stage,
            slot=slot,
            correlation_id=correlation_id,
            causation_id=None,
            actor=actor,
        )
        return interview_id

    @event("InterviewScheduled")
    def _interview_scheduled(
        self,
        cohort_id: str,
        interview_id: uuid.UUID,
        stage: str,
        slot: dict[str, Any],
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.interviews[str(interview_id)] = {
            "interview_id": str(interview_id),
            "stage": stage,
            "state": OPEN,
            "slot": slot,
            "history": [],
            "reason": None,
            "result": None,
            "corrections": [],
        }

    def reschedule_interview(
        self,
        interview_id: uuid.UUID,
        slot: dict[str, Any],
        reason: dict[str, str],
        correlation_id: uuid.UUID,
        actor: Actor,
    ) -> bool:
        """Moves an open interview to a new slot, saying why (`{code, text}`). The slot
        it already has records nothing (returns False)."""
        interview = self._interview(interview_id)
        if interview["state"] == OPEN and interview["slot"] == slot:
            return False
        self._require_open(interview)
        self._require_may_proceed()
        self._require_language(interview["stage"], slot["language"], "slot.language")
        self._interview_rescheduled(
            cohort_id=self.cohort_id,
            interview_id=interview_id,
            stage=interview["stage"],
            slot=slot,
            previous_slot=interview["slot"],
            reason=reason,
            correlation_id=correlation_id,
            causation_id=None,
            actor=actor,
        )
        return True

    @event("InterviewRescheduled")
    def _interview_rescheduled(
        self,
        cohort_id: str,
        interview_id: uuid.UUID,
        stage: str,
        slot: dict[str, Any],
        previous_slot: dict[str, Any],
        reason: dict[str, str],
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        interview = self.interviews[str(interview_id)]
        interview["history"].append(
            {"slot": previous_slot, "replaced_by": slot, "reason": reason, "by": actor["id"]}
        )
        interview["slot"] = slot

    def cancel_interview(
        self,
        interview_id: uuid.UUID,
        reason: dict[str, str],
        correlation_id: uuid.UUID,
        actor: Actor,
    ) -> bool:
        """An open interview will not take place; the round may be scheduled again.
        Cancelling a cancelled interview records nothing."""
        interview = self._interview(interview_id)
        if interview["state"] == "cancelled":
            return False
        self._require_open(interview)
        self._interview_cancelled(
            cohort_id=self.cohort_id,
            interview_id=interview_id,
            stage=interview["stage"],
            reason=reason,
            correlation_id=correlation_id,
            causation_id=None,
            actor=actor,
        )
        return True

    @event("InterviewCancelled")
    def _interview_cancelled(
        self,
        cohort_id: str,
        interview_id: uuid.UUID,
        stage: str,
        reason: dict[str, str],
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        interview = self.interviews[str(interview_id)]
        interview["state"] = "cancelled"
        interview["reason"] = reason

    def note_no_show(
        self, interview_id: uuid.UUID, now: datetime, correlation_id: uuid.UUID, actor: Actor
    ) -> bool:
        """The applicant did not attend an open interview whose time has come; the
        round may be scheduled again (or the office rejects). Noting it twice records
        nothing."""
        interview = self._interview(interview_id)
        if interview["state"] == "missed":
            return False
        self._require_open(interview)
        scheduled_at = datetime.fromisoformat(interview["slot"]["scheduled_at"])
        require(
            now >= scheduled_at,
            "interview_id",
            "the interview's time has not come: it cannot have been missed yet",
            conflict=True,
        )
        self._interview_missed(
            cohort_id=self.cohort_id,
            interview_id=interview_id,
            stage=interview["stage"],
            scheduled_at=scheduled_at,
            correlation_id=correlation_id,
            causation_id=None,
            actor=actor,
        )
        return True

    @event("InterviewMissed")
    def _interview_missed(
        self,
        cohort_id: str,
        interview_id: uuid.UUID,
        stage: str,
        scheduled_at: datetime,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.interviews[str(interview_id)]["state"] = "missed"

    @staticmethod
    def _require_open(interview: dict[str, Any]) -> None:
        require(
            interview["state"] == OPEN,
            "interview_id",
            f"the interview is {interview['state']}, no longer scheduled",
            conflict=True,
        )

    def _require_in_order(self, stage: str, interviewed_at: datetime, now: datetime) -> None:
        require(
            interviewed_at <= now + CLOCK_TOLERANCE,
            "interviewed_at",
            "an interview's result cannot be recorded before it took place",
        )
        other = self.round_result("first" if stage == "second" else "second")
        if other is not None:
            first_at, second_at = (
                (other["interviewed_at"], interviewed_at)
                if stage == "second"
                else (interviewed_at, other["interviewed_at"])
            )
            require(
                first_at <= second_at,
                "interviewed_at",
                "the second interview cannot precede the first",
            )

    def record_interview_result(
        self,
        interview_id: uuid.UUID,
        interviewed_at: datetime,
        scorecard: dict[str, Any],
        note: str | None,
        now: datetime,
        correlation_id: uuid.UUID,
        actor: Actor,
    ) -> bool:
        """Records the result of a scheduled interview, decided by its `scorecard` (as
        `RoundScorecard.score` makes it, with `passed`). The interviewer and the language
        are the slot's. The same result again records nothing (returns False); a
        different one is a correction (`correct_interview_record`)."""
        interview = self._interview(interview_id)
        result = interview["result"]
        if result is not None:
            same = (result["interviewed_at"], result["scorecard"]["scores"]) == (
                interviewed_at,
                scorecard["scores"],
            )
            if same:
                return False
            raise RuleViolation(
                "interview_id",
                "the result of this interview is recorded: an administrator corrects it",
                conflict=True,
            )
        self._require_open(interview)
        self._require_may_proceed()
        stage = interview["stage"]
        self._require_in_order(stage, interviewed_at, now)
        passed = scorecard["passed"]
        record = self._interview_passed if passed else self._interview_failed
        slot = interview["slot"]
        record(
            cohort_id=self.cohort_id,
            stage=stage,
            language=slot["language"],
            interviewer=slot["interviewer"],
            interviewed_at=interviewed_at,
            interview_id=interview_id,
            scorecard={k: v for k, v in scorecard.items() if k != "passed"},
            note=note,
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
        interview_id: uuid.UUID | None = None,
        scorecard: dict[str, Any] | None = None,
        note: str | None = None,
    ) -> None:
        # The defaults read results recorded before interviews were scheduled and scored.
        self._note_interview(
            stage, language, True, interviewer, interviewed_at, interview_id, scorecard, note
        )

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
        interview_id: uuid.UUID | None = None,
        scorecard: dict[str, Any] | None = None,
        note: str | None = None,
    ) -> None:
        self._note_interview(
            stage, language, False, interviewer, interviewed_at, interview_id, scorecard, note
        )

    def _note_interview(
        self,
        stage: str,
        language: str,
        passed: bool,
        interviewer: str,
        interviewed_at: datetime,
        interview_id: uuid.UUID | None,
        scorecard: dict[str, Any] | None,
        note: str | None,
    ) -> None:
        key = str(interview_id) if interview_id else f"unscheduled-{stage}"
        interview = self.interviews.setdefault(
            key,
            {
                "interview_id": key,
                "stage": stage,
                "slot": None,
                "history": [],
                "reason": None,
                "corrections": [],
            },
        )
        interview["state"] = "held"
        interview["result"] = {
            "language": language,
            "passed": passed,
            "interviewer": interviewer,
            "interviewed_at": interviewed_at,
            "scorecard": scorecard,
            "note": note,
        }
        # Deciding on the case is the office's review of it, amended details included.
        self.needs_review = False

    def correct_interview_record(
        self,
        interview_id: uuid.UUID,
        changes: dict[str, Any],
        reason: str,
        now: datetime,
        correlation_id: uuid.UUID,
        actor: Actor,
    ) -> bool:
        """Corrects a recorded result (`changes`: any of `interviewed_at`, `language`,
        `interviewer`, `scores` by criterion) by an event that says what changed from
        what to what, and why (`reason`, sealed). Corrected scores are scored on the
        scorecard recorded with the result. A correction that would turn the first
        round's result once a second round exists is refused: the second round was
        held on it. Changing nothing records nothing (returns False)."""
        interview = self._interview(interview_id)
        result = interview["result"]
        require(
            result is not None,
            "interview_id",
            "only a recorded result can be corrected; this interview has none",
            conflict=True,
        )
        assert result is not None
        stage = interview["stage"]
        corrected: dict[str, Any] = {}
        for field in ("language", "interviewer"):
            if field in changes and changes[field] != result[field]:
                corrected[field] = {"from": result[field], "to": changes[field]}
        if "language" in corrected:
            self._require_language(stage, changes["language"], "language")
        if "interviewed_at" in changes and changes["interviewed_at"] != result["interviewed_at"]:
            self._require_in_order(stage, changes["interviewed_at"], now)
            corrected["interviewed_at"] = {
                "from": result["interviewed_at"].isoformat(),
                "to": changes["interviewed_at"].isoformat(),
            }
        passed_after = result["passed"]
        if "scores" in changes:
            require(
                result["scorecard"] is not None,
                "scores",
                "this result was recorded without a scorecard; its scores cannot be corrected",
                conflict=True,
            )
            rescored = rescore(result["scorecard"], changes["scores"])
            passed_after = rescored.pop("passed")
            if rescored != result["scorecard"]:
                corrected["scorecard"] = {"from": result["scorecard"], "to": rescored}
        if not corrected:
            return False
        if stage == "first" and passed_after != result["passed"]:
            later = [
                i["interview_id"]
                for i in self.interviews.values()
                if i["stage"] == "second" and i["state"] != "cancelled"
            ]
            require(
                not later,
                "scores",
                "the first round's result cannot change: a second round exists ("
                + ", ".join(later)
                + ")",
                conflict=True,
            )
        self._interview_record_corrected(
            cohort_id=self.cohort_id,
            interview_id=uuid.UUID(interview["interview_id"]) if interview["slot"] else None,
            stage=stage,
            corrected=corrected,
            reason=reason,
            passed_before=result["passed"],
            passed_after=passed_after,
            correlation_id=correlation_id,
            causation_id=None,
            actor=actor,
        )
        return True

    @event("InterviewRecordCorrected")
    def _interview_record_corrected(
        self,
        cohort_id: str,
        interview_id: uuid.UUID | None,
        stage: str,
        corrected: dict[str, Any],
        reason: str,
        passed_before: bool | None,
        passed_after: bool | None,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        key = str(interview_id) if interview_id else f"unscheduled-{stage}"
        interview = self.interviews[key]
        result = interview["result"]
        for field, change in corrected.items():
            value = change["to"]
            if field == "interviewed_at":
                value = datetime.fromisoformat(value)
            result[field] = value
        result["passed"] = passed_after
        interview["corrections"].append(
            {"corrected": corrected, "reason": reason, "by": actor["id"]}
        )

    def _round_total(self, stage: str) -> int:
        result = self.round_result(stage) or {}
        return int((result.get("scorecard") or {}).get("total", 0))

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
        if not self.round_passed("first"):
            return "first_interview"
        if not self.round_passed("second"):
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
            bool(self.round_passed("second")),
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
            interview_totals={stage: self._round_total(stage) for stage in STAGES},
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
