"""A match: a host company's final decision to take a candidate, and the agreement
that follows it.

The match's id is derived from the applicant's: a candidate has at most one match, and
the same decision sent twice names the same match.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Final

from eventsourcing.domain import Aggregate, event

from kernel.actor import Actor
from kernel.rules import require

MATCH_NAMESPACE = uuid.UUID("c4a1f0d2-8b6e-4f3a-9d57-0e2b7c1a5f94")

#: The parties of an agreement, in the order they are listed. The office, the intern
#: and the company sign one three-way agreement; for the online course there is a
#: separate agreement per pair of parties (the 2025 call).
PARTIES: Final = ("office", "intern", "company")


def match_id_for(applicant_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(MATCH_NAMESPACE, f"match:{applicant_id}")


class Match(Aggregate):
    @staticmethod
    def create_id(applicant_id: uuid.UUID, **_: Any) -> uuid.UUID:
        return match_id_for(applicant_id)

    @event("Confirmed")
    def __init__(
        self,
        applicant_id: uuid.UUID,
        company_id: uuid.UUID,
        cohort_id: str,
        course: str,
        confirmed_at: datetime,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.applicant_id = applicant_id
        self.company_id = company_id
        self.cohort_id = cohort_id
        self.course = course
        self.confirmed_at = confirmed_at
        self.correlation_id = correlation_id
        self.agreement: dict[str, Any] | None = None

    @property
    def agreement_id(self) -> uuid.UUID:
        """One agreement per match, so its id follows from the match's."""
        return uuid.uuid5(MATCH_NAMESPACE, f"agreement:{self.id}")

    def sign_agreement(
        self, parties: list[str], signed_at: datetime, correlation_id: uuid.UUID, actor: Actor
    ) -> bool:
        """Records the signed agreement, once. The same signature recorded again
        records nothing (returns False); a different one is a conflict."""
        for i, party in enumerate(parties):
            require(party in PARTIES, f"parties.{i}", "a party is office, intern or company")
        require(len(set(parties)) == len(parties), "parties", "each party signs once")
        require(2 <= len(parties) <= 3, "parties", "an agreement has two or three parties")
        ordered: list[str] = [p for p in PARTIES if p in parties]
        if self.agreement == {"parties": ordered, "signed_at": signed_at}:
            return False
        require(
            self.agreement is None,
            "match_id",
            "the agreement of this match is already signed",
            conflict=True,
        )
        require(
            signed_at >= self.confirmed_at,
            "signed_at",
            "the agreement is signed after the company confirmed the match",
        )
        self._agreement_signed(
            agreement_id=self.agreement_id,
            applicant_id=self.applicant_id,
            company_id=self.company_id,
            parties=ordered,
            signed_at=signed_at,
            correlation_id=correlation_id,
            causation_id=None,
            actor=actor,
        )
        return True

    @event("AgreementSigned")
    def _agreement_signed(
        self,
        agreement_id: uuid.UUID,
        applicant_id: uuid.UUID,
        company_id: uuid.UUID,
        parties: list[str],
        signed_at: datetime,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.agreement = {"parties": parties, "signed_at": signed_at}
