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
    RULES,
    ApplicantFacts,
    EligibilityTerms,
    assess,
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
        first, second = self.round_passed("first"), self.round_passed("second")
        if first is False or second is False:
            return "failed"
        if second:
            return "passed"
        if first:
            return "first_interview_passed"
        return "open"

    def may_proceed(self) -> bool:
        """Whether the applicant's screening may go on (documents reviewed into interviews,
        interviews held): they were found eligible and no decision ended the case."""
        eligible = self.eligibility is not None and bool(self.eligibility.get("eligible"))
        return eligible and self.status != "failed"

    # -- eligibility -------------------------------------------------------------------
    def assess_eligibility(
        self,
        terms: EligibilityTerms,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        """Checks the applicant's facts against the cohort's rules; records the outcome
        only when it differs from the last one. The decision explains itself: the age it
        saw (on the cohort's reference date), each rule checked with its version, and
        why each unmet rule is unmet."""
        facts = self.applicant_facts
        findings = [
            {"rule": f.rule, "version": f.version, "reason": f.reason} for f in assess(facts, terms)
        ]
        rules: list[dict[str, Any]] = [{"rule": r.name, "version": r.version} for r in RULES]
        decision = {
            "eligible": not findings,
            "findings": findings,
            "age_on_reference_date": facts.age_on_reference_date,
            "rules": rules,
        }
        if self.eligibility == decision:
            return
        self._eligibility_assessed(
            eligible=not findings,
            findings=findings,
            age_on_reference_date=facts.age_on_reference_date,
            age_reference_date=terms.age_reference_date,
            rules=rules,
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
    ) -> None:
        # The defaults read decisions recorded before they said the age and the rules.
        self.eligibility = {
            "eligible": eligible,
            "findings": findings,
            "age_on_reference_date": age_on_reference_date,
            "rules": rules or [],
        }

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
