"""Which of matching's domain events are public, and how they read on Kafka."""

from __future__ import annotations

from typing import Any

from events import matching as contract
from events.envelope import Envelope
from runtime.relay import envelope_for
from services.matching.domain.candidate import Candidate
from services.matching.domain.company import Company
from services.matching.domain.match import Match
from services.matching.domain.round import MatchingRound


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
                "proposal_id": e.proposal_id,
                "round_id": e.round_id,
            },
        )
    if isinstance(e, Match.Proposed | Match.ProposedAgain):
        return envelope_for(
            contract.MatchProposed,
            e,
            {
                "proposal_id": e.proposal_id,
                "match_id": e.originator_id,
                "round_id": e.round_id,
                "applicant_id": e.applicant_id,
                "company_id": e.company_id,
                "cohort_id": e.cohort_id,
                "course": e.course,
                "candidate_rank": e.candidate_rank,
                "company_rank": e.company_rank,
                "decide_by": e.decide_by,
            },
        )
    if isinstance(e, Match.Declined):
        return envelope_for(
            contract.MatchDeclined,
            e,
            {
                "proposal_id": e.proposal_id,
                "match_id": e.originator_id,
                "round_id": e.round_id,
                "applicant_id": e.applicant_id,
                "company_id": e.company_id,
                "cohort_id": e.cohort_id,
                "reason_code": e.reason_code,
                "note": e.note,
                "declined_at": e.declined_at,
            },
        )
    if isinstance(e, Match.ProposalWithdrawn):
        return envelope_for(
            contract.ProposalWithdrawn,
            e,
            {
                "proposal_id": e.proposal_id,
                "match_id": e.originator_id,
                "round_id": e.round_id,
                "applicant_id": e.applicant_id,
                "company_id": e.company_id,
                "cohort_id": e.cohort_id,
                "reason_code": e.reason_code,
            },
        )
    if isinstance(e, MatchingRound.Completed):
        return envelope_for(
            contract.MatchingRoundCompleted,
            e,
            {
                "round_id": e.originator_id,
                "cohort_id": e.cohort_id,
                "round_number": e.round_number,
                "algorithm": e.algorithm,
                "constraints": e.constraints,
                "inputs_digest": e.inputs_digest,
                "inputs": e.inputs,
                "excluded_pairs": e.excluded_pairs,
                "matches": e.matches,
                "unmatched_candidates": e.unmatched_candidates,
                "blocking_pairs": e.blocking_pairs,
                "capacity_violations": e.capacity_violations,
            },
        )
    if isinstance(e, Candidate.PreferencesStated):
        return envelope_for(
            contract.CandidatePreferencesStated,
            e,
            {
                "applicant_id": e.originator_id,
                "cohort_id": e.cohort_id,
                "companies": e.companies,
                "basis": e.basis,
                "ranking": e.ranking,
                "scores": e.scores,
            },
        )
    if isinstance(e, Company.PreferencesStated):
        return envelope_for(
            contract.CompanyPreferencesStated,
            e,
            {"company_id": e.company_id, "cohort_id": e.cohort_id, "candidates": e.candidates},
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
