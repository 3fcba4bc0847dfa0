"""Which of matching's domain events are public, and how they read on Kafka."""

from __future__ import annotations

from typing import Any

from events import matching as contract
from events.envelope import Envelope
from runtime.relay import envelope_for
from services.matching.domain.candidate import Candidate
from services.matching.domain.company import Company
from services.matching.domain.match import Match


def to_integration_event(e: Any) -> Envelope | None:
    """Translate a stored domain event; None for events private to matching (the
    candidate's side of a match, quarantined records)."""
    if isinstance(e, Candidate.EnteredPool):
        return envelope_for(
            contract.CandidateEnteredPool,
            e,
            {"applicant_id": e.originator_id, "cohort_id": e.cohort_id},
        )
    if isinstance(e, Match.Confirmed):
        return envelope_for(
            contract.MatchConfirmed,
            e,
            {
                "match_id": e.originator_id,
                "applicant_id": e.applicant_id,
                "company_id": e.company_id,
                "cohort_id": e.cohort_id,
                "course": e.course,
                "confirmed_at": e.confirmed_at,
            },
        )
    if isinstance(e, Candidate.Withdrew):
        return envelope_for(
            contract.CandidateWithdrawn,
            e,
            {
                "applicant_id": e.originator_id,
                "cohort_id": e.cohort_id,
                "withdrawn_at": e.withdrawn_at,
            },
        )
    if isinstance(e, Match.SignatureRecorded):
        return envelope_for(
            contract.AgreementSignatureRecorded,
            e,
            {
                "agreement_id": e.agreement_id,
                "match_id": e.originator_id,
                "applicant_id": e.applicant_id,
                "company_id": e.company_id,
                "structure": e.structure,
                "party": e.party,
                "signed_at": e.signed_at,
            },
        )
    if isinstance(e, Match.AgreementSigned):
        # Agreements recorded whole, before signatures came one by one, had no
        # structure: two parties were a per-pair one.
        structure = getattr(e, "structure", None)
        return envelope_for(
            contract.AgreementSigned,
            e,
            {
                "agreement_id": e.agreement_id,
                "match_id": e.originator_id,
                "applicant_id": e.applicant_id,
                "company_id": e.company_id,
                "structure": structure or ("three_way" if len(e.parties) == 3 else "per_pair"),
                "parties": e.parties,
                "signed_at": e.signed_at,
            },
        )
    if isinstance(e, Company.Registered | Company.Refused):
        return _company_event(e)
    return None


def _company_event(e: Any) -> Envelope:
    """A registration's outcome: the details as recorded (contacts sealed, as stored),
    the rule's verdict, and for a refusal its reasons."""
    payload = {
        **e.details,
        "contacts": e.contacts,
        "eligibility": e.eligibility,
    }
    if isinstance(e, Company.Refused):
        return envelope_for(contract.CompanyRefused, e, {**payload, "reasons": e.refusals})
    return envelope_for(contract.CompanyRegistered, e, payload)
