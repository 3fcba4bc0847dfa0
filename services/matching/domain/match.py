"""A match: a candidate's proposals to host companies by the office's matching rounds,
each company's decision, and once a company confirmed, the agreements that follow, each
signed by every one of its parties under their own identity.

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
    """A candidate's placement: the proposals rounds made to host companies, the
    company's decision on each, and once one company confirmed, the agreements.

    At most one proposal stands at a time. A declined or withdrawn proposal leaves the
    candidate free for a later round (never again with a company that declined them);
    a confirmed one is final."""

    @staticmethod
    def create_id(applicant_id: uuid.UUID, **_: Any) -> uuid.UUID:
        return match_id_for(applicant_id)

    @event("Proposed")
    def __init__(
        self,
        applicant_id: uuid.UUID,
        cohort_id: str,
        proposal_id: uuid.UUID,
        round_id: uuid.UUID,
        company_id: uuid.UUID,
        course: str,
        candidate_rank: int,
        company_rank: int,
        decide_by: datetime,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.applicant_id = applicant_id
        self.cohort_id = cohort_id
        self.correlation_id = correlation_id
        self.confirmed_at: datetime | None = None
        #: Companies that declined this candidate: never proposed to them again.
        self.declined_by: list[uuid.UUID] = []
        #: Every decision on a proposal, oldest first (for the board and the history).
        self.decisions: list[dict[str, Any]] = []
        #: The agreements this match signs, fixed by its first signature.
        self.structure: AgreementStructure | None = None
        #: Agreement id → party → when it signed.
        self.signatures: dict[uuid.UUID, dict[str, datetime]] = {}
        #: Agreement id → its parties and when its last signature came in, once signed.
        self.signed: dict[uuid.UUID, dict[str, Any]] = {}
        self._stand(proposal_id, round_id, company_id, course, decide_by)

    def _stand(
        self,
        proposal_id: uuid.UUID,
        round_id: uuid.UUID,
        company_id: uuid.UUID,
        course: str,
        decide_by: datetime,
    ) -> None:
        self.company_id = company_id
        self.course = course
        #: The proposal awaiting the company's decision, or None.
        self.pending: dict[str, Any] | None = {
            "proposal_id": proposal_id,
            "round_id": round_id,
            "company_id": company_id,
            "course": course,
            "decide_by": decide_by,
        }
        self.proposal_id = proposal_id
        self.round_id = round_id

    def propose_again(
        self,
        proposal_id: uuid.UUID,
        round_id: uuid.UUID,
        company_id: uuid.UUID,
        course: str,
        candidate_rank: int,
        company_rank: int,
        decide_by: datetime,
        correlation_id: uuid.UUID,
        actor: Actor,
    ) -> None:
        """A later round proposes the candidate again (after a decline or withdrawal)."""
        require(
            self.pending is None and not self.is_confirmed,
            "applicant_id",
            "this candidate already has a proposal standing or a confirmed match",
            conflict=True,
        )
        require(
            company_id not in self.declined_by,
            "company_id",
            "this company declined this candidate before",
            conflict=True,
        )
        self._proposed_again(
            applicant_id=self.applicant_id,
            cohort_id=self.cohort_id,
            proposal_id=proposal_id,
            round_id=round_id,
            company_id=company_id,
            course=course,
            candidate_rank=candidate_rank,
            company_rank=company_rank,
            decide_by=decide_by,
            correlation_id=correlation_id,
            causation_id=None,
            actor=actor,
        )

    @event("ProposedAgain")
    def _proposed_again(
        self,
        applicant_id: uuid.UUID,
        cohort_id: str,
        proposal_id: uuid.UUID,
        round_id: uuid.UUID,
        company_id: uuid.UUID,
        course: str,
        candidate_rank: int,
        company_rank: int,
        decide_by: datetime,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self._stand(proposal_id, round_id, company_id, course, decide_by)

    # -- the company's decision ---------------------------------------------------------
    def why_not_decidable(self, company_id: uuid.UUID) -> str | None:
        """Why this company cannot decide on this candidate now, or None."""
        if self.pending is not None and self.pending["company_id"] == company_id:
            return None
        if self.is_confirmed and self.company_id == company_id:
            return "the company has already confirmed this match; its decision is final"
        if company_id in self.declined_by:
            return "this company already declined this candidate"
        return (
            "this candidate was never proposed to this company by a matching round, or the "
            "proposal no longer stands: a company decides only on a proposal awaiting its "
            "decision"
        )

    def confirm(self, company_id: uuid.UUID, at: datetime, actor: Actor) -> bool:
        """The company's final decision to take the candidate. Returns whether it is new
        (False: this company had already confirmed)."""
        if self.is_confirmed and self.company_id == company_id:
            return False
        why_not = self.why_not_decidable(company_id)
        require(why_not is None, "company_id", why_not or "", conflict=True)
        assert self.pending is not None
        self._confirmed(
            applicant_id=self.applicant_id,
            company_id=company_id,
            cohort_id=self.cohort_id,
            course=self.pending["course"],
            proposal_id=self.pending["proposal_id"],
            round_id=self.pending["round_id"],
            confirmed_at=at,
            correlation_id=self.correlation_id,
            causation_id=None,
            actor=actor,
        )
        return True

    @event("Confirmed")
    def _confirmed(
        self,
        applicant_id: uuid.UUID,
        company_id: uuid.UUID,
        cohort_id: str,
        course: str,
        proposal_id: uuid.UUID,
        round_id: uuid.UUID,
        confirmed_at: datetime,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.confirmed_at = confirmed_at
        self.pending = None
        self.decisions.append(
            {"proposal_id": proposal_id, "company_id": company_id, "decision": "confirmed"}
        )

    def decline(
        self,
        company_id: uuid.UUID,
        reason_code: str,
        note: str | None,
        at: datetime,
        actor: Actor,
    ) -> bool:
        """The company declines the proposed candidate. Returns whether it is new."""
        if company_id in self.declined_by and (
            self.pending is None or self.pending["company_id"] != company_id
        ):
            return False
        why_not = self.why_not_decidable(company_id)
        require(why_not is None, "company_id", why_not or "", conflict=True)
        assert self.pending is not None
        self._declined(
            applicant_id=self.applicant_id,
            company_id=company_id,
            cohort_id=self.cohort_id,
            proposal_id=self.pending["proposal_id"],
            round_id=self.pending["round_id"],
            reason_code=reason_code,
            note=note,
            declined_at=at,
            correlation_id=self.correlation_id,
            causation_id=None,
            actor=actor,
        )
        return True

    @event("Declined")
    def _declined(
        self,
        applicant_id: uuid.UUID,
        company_id: uuid.UUID,
        cohort_id: str,
        proposal_id: uuid.UUID,
        round_id: uuid.UUID,
        reason_code: str,
        note: str | None,
        declined_at: datetime,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.pending = None
        self.declined_by.append(company_id)
        self.decisions.append(
            {"proposal_id": proposal_id, "company_id": company_id, "decision": "declined"}
        )

    def withdraw_proposal(
        self,
        reason_code: str,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> bool:
        """The candidate can no longer be placed (held, rejected, withdrew, restricted):
        a proposal still standing is withdrawn, and the company's place reopens.
        Returns whether there was one."""
        if self.pending is None:
            return False
        self._proposal_withdrawn(
            applicant_id=self.applicant_id,
            company_id=self.pending["company_id"],
            cohort_id=self.cohort_id,
            proposal_id=self.pending["proposal_id"],
            round_id=self.pending["round_id"],
            reason_code=reason_code,
            correlation_id=correlation_id,
            causation_id=causation_id,
            actor=actor,
        )
        return True

    @event("ProposalWithdrawn")
    def _proposal_withdrawn(
        self,
        applicant_id: uuid.UUID,
        company_id: uuid.UUID,
        cohort_id: str,
        proposal_id: uuid.UUID,
        round_id: uuid.UUID,
        reason_code: str,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.pending = None
        self.decisions.append(
            {"proposal_id": proposal_id, "company_id": company_id, "decision": "withdrawn"}
        )

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
