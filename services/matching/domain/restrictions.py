"""What a data subject has asked of the program, as matching must respect it.

The privacy policy lets a person suspend the use of their data (no matching until
resumed) and stop its provision to third parties (host companies never see them in a
pool offered to them). Registration announces both flags each time either changes, and
that a person was erased. Those announcements travel on registration's topic, in no
order with screening's results, so they are kept per person whether or not the person
is a candidate yet.
"""

from __future__ import annotations

import uuid
from typing import Any

from eventsourcing.domain import Aggregate, event

from kernel.actor import Actor

RESTRICTIONS_NAMESPACE = uuid.UUID("0b7e2c51-6d4a-4f08-9e3b-5a1c8d2f7e60")


def restrictions_id_for(subject_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(RESTRICTIONS_NAMESPACE, f"restrictions:{subject_id}")


class SubjectRestrictions(Aggregate):
    """One per person who asked for something (its id follows from theirs)."""

    @staticmethod
    def create_id(subject_id: uuid.UUID, **_: Any) -> uuid.UUID:
        return restrictions_id_for(subject_id)

    @event("Noted")
    def __init__(
        self,
        subject_id: uuid.UUID,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.subject_id = subject_id
        self.use_suspended = False
        self.third_party_provision_stopped = False
        self.erased = False

    @property
    def why_not_matchable(self) -> str | None:
        """Why the office may not match this person now (None: it may)."""
        if self.erased:
            return "this applicant's data was erased at their request"
        if self.use_suspended:
            return (
                "the applicant asked that their data not be used (use suspended): they "
                "cannot be matched until the use is resumed"
            )
        return None

    @property
    def may_be_provided_to_third_parties(self) -> bool:
        return not (self.erased or self.use_suspended or self.third_party_provision_stopped)

    def restrict(
        self,
        use_suspended: bool,
        third_party_provision_stopped: bool,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> bool:
        """The person's flags as they now stand; returns whether they changed."""
        if (self.use_suspended, self.third_party_provision_stopped) == (
            use_suspended,
            third_party_provision_stopped,
        ):
            return False
        self._restricted(
            use_suspended=use_suspended,
            third_party_provision_stopped=third_party_provision_stopped,
            correlation_id=correlation_id,
            causation_id=causation_id,
            actor=actor,
        )
        return True

    @event("Restricted")
    def _restricted(
        self,
        use_suspended: bool,
        third_party_provision_stopped: bool,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.use_suspended = use_suspended
        self.third_party_provision_stopped = third_party_provision_stopped

    def erase(
        self, correlation_id: uuid.UUID, causation_id: uuid.UUID | None, actor: Actor
    ) -> bool:
        """The person was erased: never matched or offered again. Returns whether news."""
        if self.erased:
            return False
        self._erased(correlation_id=correlation_id, causation_id=causation_id, actor=actor)
        return True

    @event("Erased")
    def _erased(
        self, correlation_id: uuid.UUID, causation_id: uuid.UUID | None, actor: Actor
    ) -> None:
        self.erased = True
