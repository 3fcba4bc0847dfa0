"""Events published by the screening service on `jip.screening.v1`."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field

from events.envelope import Contract, Envelope, UtcDatetime
from events.registration import CohortId

InterviewStage = Literal["first", "second"]
InterviewLanguage = Literal["local", "english", "japanese"]


class ScreeningCaseOpenedPayload(Contract):
    case_id: uuid.UUID = Field(description="Equal to the applicant id: one case per applicant.")
    applicant_id: uuid.UUID
    cohort_id: CohortId


class InterviewPassedPayload(Contract):
    case_id: uuid.UUID
    applicant_id: uuid.UUID
    cohort_id: CohortId
    stage: InterviewStage
    language: InterviewLanguage
    interviewed_at: UtcDatetime
    interviewer: str = Field(min_length=1, max_length=100, description="Staff member's id.")


class InterviewFailedPayload(Contract):
    case_id: uuid.UUID
    applicant_id: uuid.UUID
    cohort_id: CohortId
    stage: InterviewStage
    interviewed_at: UtcDatetime


class ScreeningCaseOpened(Envelope[ScreeningCaseOpenedPayload]):
    """Screening took up a registered applicant: document review can begin."""

    event_type: Literal["ScreeningCaseOpened"]
    schema_version: Literal[1]
    producer: Literal["screening"]


class InterviewPassed(Envelope[InterviewPassedPayload]):
    """The applicant passed an interview; after the second, they are a candidate."""

    event_type: Literal["InterviewPassed"]
    schema_version: Literal[1]
    producer: Literal["screening"]


class InterviewFailed(Envelope[InterviewFailedPayload]):
    """The applicant did not pass an interview; their screening ends here (they are told
    by e-mail). Who interviewed them and in which language stays in screening."""

    event_type: Literal["InterviewFailed"]
    schema_version: Literal[1]
    producer: Literal["screening"]
