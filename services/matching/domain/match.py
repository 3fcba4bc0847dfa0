"""A match: a host company's final decision to take a candidate, and the agreements
that follow it, each signed by every one of its parties under their own identity.

The match's id is derived from the applicant's: a candidate has at most one match, and
the same decision sent twice names the same match.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from eventsourcing.domain import Aggregate, event

from kernel.actor import Actor
from kernel.rules import require
from services.matching.domain.agreement import (
    PARTIES,
    AgreementStructure,
    agreement_id_for,
    agreements_required,
)

MATCH_NAMESPACE = uuid.UUID("c4a1f0d2-8b6e-4f3a-9d57-0e2b7c1a5f94")

PARTY_NAMES = {"office": "the office", "intern": "the intern", "company": "the company"}


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
        self.confirmed_at: datetime | None = confirmed_at
        self.correlation_id = correlation_id
        #: The agreements this match signs, fixed by its first signature (the course's
        #: configuration may not be known to matching before then).
        self.structure: AgreementStructure | None = None
        #: Agreement id → party → when it signed.
        self.signatures: dict[uuid.UUID, dict[str, datetime]] = {}
        #: Agreement id → its parties and when its last signature came in, once signed.
        self.signed: dict[uuid.UUID, dict[str, Any]] = {}

    @property
    def is_confirmed(self) -> bool:
        """Whether the company made its final decision (a match proposed by a round
        and not decided yet is not)."""
        return self.confirmed_at is not None

    def agreements(self, structure: AgreementStructure) -> list[tuple[uuid.UUID, tuple[str, ...]]]:
        """The agreements of this match, each as its id and parties: the structure
        fixed by the first signature, else the one given (the course's)."""
        return [
            (agreement_id_for(self.id, parties), parties)
            for parties in agreements_required(self.structure or structure)
        ]

    @property
    def fully_signed(self) -> bool:
        return self.structure is not None and all(
            agreement_id in self.signed for agreement_id, _ in self.agreements(self.structure)
        )

    def sign(
        self,
        agreement_id: uuid.UUID,
        party: str,
        structure: AgreementStructure,
        at: datetime,
        correlation_id: uuid.UUID,
        actor: Actor,
    ) -> bool:
        """Records one party's signature of one agreement of this match (the caller has
        checked that the actor is that party). Returns whether that completed the
        agreement. A party signs an agreement once; nothing is signed before the
        company confirmed the match."""
        require(party in PARTIES, "party", "a party is office, intern or company")
        require(
            self.is_confirmed,
            "match_id",
            "the company has not confirmed this match yet: its agreements are signed "
            "only after its final decision",
            conflict=True,
        )
        parties = dict(self.agreements(structure)).get(agreement_id)
        require(
            parties is not None,
            "agreement_id",
            "this match has no such agreement (see the match's agreements)",
        )
        assert parties is not None
        require(
            party in parties,
            "party",
            f"{PARTY_NAMES[party]} is not a party to this agreement "
            f"({', '.join(PARTY_NAMES[p] for p in parties)})",
        )
        signed = self.signatures.get(agreement_id, {})
        require(
            party not in signed,
            "party",
            f"{PARTY_NAMES[party]} has already signed this agreement; a party signs once",
            conflict=True,
        )
        self._signature_recorded(
            agreement_id=agreement_id,
            applicant_id=self.applicant_id,
            company_id=self.company_id,
            party=party,
            structure=self.structure or structure,
            signed_at=at,
            correlation_id=correlation_id,
            causation_id=None,
            actor=actor,
        )
        if set(self.signatures[agreement_id]) != set(parties):
            return False
        self._agreement_signed(
            agreement_id=agreement_id,
            applicant_id=self.applicant_id,
            company_id=self.company_id,
            parties=list(parties),
            signed_at=at,
            correlation_id=correlation_id,
            causation_id=None,
            actor=actor,
            structure=self.structure,
        )
        return True

    @event("SignatureRecorded")
    def _signature_recorded(
        self,
        agreement_id: uuid.UUID,
        applicant_id: uuid.UUID,
        company_id: uuid.UUID,
        party: str,
        structure: AgreementStructure,
        signed_at: datetime,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.structure = structure
        self.signatures.setdefault(agreement_id, {})[party] = signed_at

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
        structure: AgreementStructure | None = None,
    ) -> None:
        # Stored before signatures were recorded one by one, this event alone says
        # that the office recorded a whole agreement (no structure then).
        self.signed[agreement_id] = {"parties": parties, "signed_at": signed_at}
