"""Events published by the matching service on `jip.matching.v1`."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field

from events.envelope import Contract, Envelope, UtcDatetime
from events.registration import CohortId, CourseCode


class CandidateEnteredPoolPayload(Contract):
    applicant_id: uuid.UUID
    cohort_id: CohortId


class MatchConfirmedPayload(Contract):
    match_id: uuid.UUID
    applicant_id: uuid.UUID
    company_id: uuid.UUID
    cohort_id: CohortId
    course: CourseCode
    confirmed_at: UtcDatetime = Field(description="When the company made its final decision.")


Party = Literal["office", "intern", "company"]
AgreementStructure = Literal["three_way", "per_pair"]


class CandidateWithdrawnPayload(Contract):
    applicant_id: uuid.UUID
    cohort_id: CohortId
    withdrawn_at: UtcDatetime


class AgreementSignatureRecordedPayload(Contract):
    agreement_id: uuid.UUID
    match_id: uuid.UUID
    applicant_id: uuid.UUID
    company_id: uuid.UUID
    structure: AgreementStructure = Field(
        description="`three_way`: one agreement of office, intern and company; "
        "`per_pair`: one agreement per pair of them (the online course)."
    )
    party: Party = Field(
        description="Which party signed; the envelope's `actor` is who signed for it (the "
        "intern themself, a user of the company, a member of the office)."
    )
    signed_at: UtcDatetime


class AgreementSignedPayload(Contract):
    agreement_id: uuid.UUID
    match_id: uuid.UUID
    applicant_id: uuid.UUID
    company_id: uuid.UUID
    structure: AgreementStructure = Field(
        description="`per_pair`: this is one of the match's three agreements."
    )
    parties: list[Party] = Field(min_length=2, max_length=3)
    signed_at: UtcDatetime = Field(description="When its last party signed.")


class CandidateEnteredPool(Envelope[CandidateEnteredPoolPayload]):
    """A candidate who passed the second interview can now be recommended to companies."""

    event_type: Literal["CandidateEnteredPool"]
    schema_version: Literal[1]
    producer: Literal["matching"]


class MatchConfirmed(Envelope[MatchConfirmedPayload]):
    """A host company chose the candidate; from now on the applicant cannot withdraw."""

    event_type: Literal["MatchConfirmed"]
    schema_version: Literal[1]
    producer: Literal["matching"]


class CandidateWithdrawn(Envelope[CandidateWithdrawnPayload]):
    """The applicant withdrew from the program before any company's final decision:
    out of the pool. Keyed by the applicant."""

    event_type: Literal["CandidateWithdrawn"]
    schema_version: Literal[1]
    producer: Literal["matching"]


class AgreementSignatureRecorded(Envelope[AgreementSignatureRecordedPayload]):
    """One party signed one agreement of a match, under its own identity. Keyed by the
    match."""

    event_type: Literal["AgreementSignatureRecorded"]
    schema_version: Literal[1]
    producer: Literal["matching"]


class AgreementSigned(Envelope[AgreementSignedPayload]):
    """Every party of one agreement of a match has signed it."""

    event_type: Literal["AgreementSigned"]
    schema_version: Literal[1]
    producer: Literal["matching"]
