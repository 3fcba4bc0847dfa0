"""The applicant's path through the program, and the order in which the messages that
tell it go out.

The events that cause an applicant's messages come from three services on three topics
(registration, screening, matching), and a consumer reads them in no global order: a
match can be read before the interview result that made it possible. So the order of
one person's messages cannot be the order in which their causes were read. It is the
order of the steps on the path::

    1 application received   2 documents complete   3 first interview
    4 second interview       5 match confirmed

Two rules follow (`why_not_yet`):

- a message waits while an earlier-step message of the same person is still owed
  (waiting for the address, pending, or retrying after a deferral); messages of other
  people never wait for it;
- a message waits for the steps that certainly came before it (a second interview
  follows a passed first one; a match follows a passed second interview) until their
  messages are owed too, but not forever: after `patience` it goes anyway, so that an
  event lost upstream cannot silence an applicant.
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


def step_of(template: str, context: Mapping[str, Any]) -> Step | None:
    """The step a message tells, or None for a message not about the path (an inquiry
    answer), which is ordered by nothing."""
    stage = context.get("stage")
    if template == "application_received":
        return Step(1, "application_received")
    if template == "documents_complete":
        return Step(2, "documents_complete", frozenset({"application_received"}))
    if template in ("interview_passed", "interview_failed") and stage == "first":
        return Step(3, f"{template}:first", frozenset({"application_received"}))
    if template in ("interview_passed", "interview_failed") and stage == "second":
        return Step(
            4,
            f"{template}:second",
            frozenset({"application_received", "interview_passed:first"}),
        )
    if template == "match_confirmed":
        return Step(
            5,
            "match_confirmed",
            frozenset(
                {"application_received", "interview_passed:first", "interview_passed:second"}
            ),
        )
    return None


@dataclass(frozen=True)
class MailOnPath:
    """One message to one person, as the ordering sees it (no address, no text)."""

    id: uuid.UUID
    step: Step | None
    state: str
    requested_at: datetime

    def comes_before(self, other: MailOnPath) -> bool:
        """Earlier on the path; the same step (a second match after a cancelled one)
        in the order the messages were owed."""
        assert self.step is not None and other.step is not None
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
