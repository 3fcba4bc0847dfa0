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


class AgreementSignedPayload(Contract):
    agreement_id: uuid.UUID
    match_id: uuid.UUID
    applicant_id: uuid.UUID
    company_id: uuid.UUID
    parties: list[Literal["office", "intern", "company"]] = Field(min_length=2, max_length=3)
    signed_at: UtcDatetime


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


class AgreementSigned(Envelope[AgreementSignedPayload]):
    """The agreement between the parties of a match was signed."""

    event_type: Literal["AgreementSigned"]
    schema_version: Literal[1]
    producer: Literal["matching"]
