"""The applicant's path through the program, and the order in which the messages that
tell it go out.

The events that cause an applicant's messages come from three services on three topics
(registration, screening, matching), and a consumer reads them in no global order: a
match can be read before the interview result that made it possible. So the order of
one person's messages cannot be the order in which their causes were read. It is the
order of the steps on the path::

    1 application received   2 eligible, or rejected for eligibility   3 documents
    requested, accepted or rejected   4 rejected at documents   5 documents complete
    6 first interview scheduled (moved, cancelled)   7 its result   8 second interview
    scheduled   9 its result   10 rejected after it   11 selected (or rejected at
    selection)   12 proposed to a company   13 match confirmed   14 agreement ready to
    sign   15 agreement signed

A host company's messages follow its own path, in the same way::

    1 registration accepted or refused   2 a candidate proposed   3 a match confirmed
    4 its agreement ready to sign   5 signed

(The reminder to decide is on no path: it is due at its own time, and waiting for it
must not hold back the company's other messages, e.g. about another candidate.)

Two rules follow (`why_not_yet`):

- a message waits while a message of the same person about an earlier step (one that
  happened earlier, by its cause's time; the path's order for messages of one cause) is
  still owed
  (waiting for the address, pending, or retrying after a deferral); messages of other
  people never wait for it;
- a message waits for the steps that certainly came before it (a second interview
  follows a passed first one; a selection follows both; a match follows the selection)
  until their messages are owed too, but not forever: after `patience` it goes anyway, so that an
  event lost upstream cannot silence an applicant. (An interview's result does not wait
  for its invitation: a result may be recorded for an interview never scheduled here.)
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

#: Messages in these states are still owed: a later-step message waits behind them.
UNSETTLED: Final = frozenset({"awaiting_recipient", "pending", "retrying"})


@dataclass(frozen=True)
class Step:
    """Where a message sits on the applicant's path. `follows` names the steps that
    always happened before this one (their events exist whenever this one's does)."""

    rank: int
    name: str
    follows: frozenset[str] = frozenset()


#: The interview messages of one round: its scheduling (invitation, new time,
#: cancellation) comes before its result.
SCHEDULING: Final = ("interview_scheduled", "interview_rescheduled", "interview_cancelled")
RESULTS: Final = ("interview_passed", "interview_failed")
#: Where a rejection sits: right after the step that turned the applicant down.
REJECTION_RANKS: Final = {
    "eligibility": 2,
    "documents": 4,
    "first_interview": 7,
    "second_interview": 10,
    "selection": 11,
}
_PASSED_BOTH: Final = frozenset(
    {"application_received", "interview_passed:first", "interview_passed:second"}
)


def step_of(template: str, context: Mapping[str, Any]) -> Step | None:
    """The step a message tells, or None for a message not about the path (an inquiry
    answer), which is ordered by nothing."""
    stage = context.get("stage")
    received = frozenset({"application_received"})
    if template == "application_received":
        return Step(1, "application_received")
    if template == "eligibility_passed":
        return Step(2, "eligibility_passed", received)
    if template in ("document_requested", "document_rejected", "document_accepted"):
        return Step(3, "documents", received)
    if template == "documents_complete":
        return Step(5, "documents_complete", received)
    if template in SCHEDULING and stage == "first":
        return Step(6, "interview_scheduling:first", received)
    if template in RESULTS and stage == "first":
        return Step(7, f"{template}:first", received)
    if template in SCHEDULING and stage == "second":
        return Step(8, "interview_scheduling:second", received | {"interview_passed:first"})
    if template in RESULTS and stage == "second":
        return Step(9, f"{template}:second", received | {"interview_passed:first"})
    if template == "applicant_rejected" and stage in REJECTION_RANKS:
        return Step(REJECTION_RANKS[stage], f"applicant_rejected:{stage}", received)
    if template == "candidate_selected":
        return Step(11, "candidate_selected", _PASSED_BOTH)
    if template == "match_proposed":
        return Step(12, "match_proposed", _PASSED_BOTH | {"candidate_selected"})
    if template == "match_confirmed":
        return Step(13, "match_confirmed", _PASSED_BOTH | {"candidate_selected"})
    if template == "agreement_ready":
        return Step(14, "agreement_ready", _PASSED_BOTH | {"candidate_selected", "match_confirmed"})
    if template == "agreement_signed":
        return Step(15, "agreement_signed", frozenset({"match_confirmed", "agreement_ready"}))
    return _company_step(template)


_COMPANY_PATH: Final = {
    "company_registered": 1,
    "company_refused": 1,
    "candidates_proposed": 2,
    "match_confirmed_company": 3,
    "agreement_ready_company": 4,
    "agreement_signed_company": 5,
}


def _company_step(template: str) -> Step | None:
    rank = _COMPANY_PATH.get(template)
    if rank is None:
        return None
    known = frozenset({"company_registered"}) if rank > 1 else frozenset()
    follows = {
        4: known | {"match_confirmed_company"},
        5: known | {"match_confirmed_company", "agreement_ready_company"},
    }.get(rank, known)
    return Step(rank, template, follows)


@dataclass(frozen=True)
class MailOnPath:
    """One message to one person, as the ordering sees it (no address, no text)."""

    id: uuid.UUID
    step: Step | None
    state: str
    requested_at: datetime
    #: When the step it tells happened (its cause's `occurred_at`), when known.
    happened_at: datetime | None = None

    def comes_before(self, other: MailOnPath) -> bool:
        """Happened earlier: the steps of one person happen in an order the path
        cannot always tell (all documents submitted, then each accepted; a company's
        confirmation of one candidate, then the proposal of another). Messages of one
        step (a match and its agreement ready to sign) or whose time is unknown go in
        the order of the path, then in the order they were owed."""
        assert self.step is not None and other.step is not None
        if (
            self.happened_at is not None
            and other.happened_at is not None
            and self.happened_at != other.happened_at
        ):
            return self.happened_at < other.happened_at
        return (self.step.rank, self.requested_at) < (other.step.rank, other.requested_at)


@dataclass(frozen=True)
class NotYet:
    """Why a message waits, and until when at the latest (None: until the earlier
    message it waits behind is settled)."""

    reason: str
    until: datetime | None


def why_not_yet(
    mail: MailOnPath, others: Iterable[MailOnPath], now: datetime, patience: timedelta
) -> NotYet | None:
    """None when `mail` may go now, given the person's other messages; otherwise why
    it waits. `others` are the same person's other messages, in any state."""
    if mail.step is None:
        return None
    others = [o for o in others if o.id != mail.id and o.step is not None]
    if any(o.state in UNSETTLED and o.comes_before(mail) for o in others):
        return NotYet("an earlier message of this person is still owed", None)
    told = {o.step.name for o in others if o.step is not None}
    missing = mail.step.follows - told
    deadline = mail.requested_at + patience
    if missing and now < deadline:
        return NotYet(
            "waits for the news of an earlier step: " + ", ".join(sorted(missing)), deadline
        )
    return None
