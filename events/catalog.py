"""Every integration event of the contract, with its topic: the one place to look up
how to read an `event_type` at a `schema_version`."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from events import matching, notifications, registration, screening, topics
from events.envelope import Envelope, EnvelopeHeader, identity_of

EVENT_MODELS: tuple[type[Envelope[Any]], ...] = (
    registration.ApplicantPreregistered,
    registration.ApplicantRegistered,
    registration.DocumentsSubmitted,
    registration.CohortOpened,
    registration.CohortRulesRevised,
    registration.ApplicantDetailsAmended,
    registration.InquiryReceived,
    registration.InquiryAnswered,
    registration.ProcessingRestricted,
    registration.SubjectErased,
    registration.PrivacyRequestAnswered,
    screening.ScreeningCaseOpened,
    screening.EligibilityAssessed,
    screening.ApplicantRejected,
    screening.ScreeningCaseReopened,
    screening.CaseReferredToOffice,
    screening.DocumentReviewed,
    screening.DocumentRequested,
    screening.InterviewScheduled,
    screening.InterviewRescheduled,
    screening.InterviewCancelled,
    screening.InterviewMissed,
    screening.InterviewPassed,
    screening.InterviewFailed,
    screening.InterviewRecordCorrected,
    screening.CandidateSelected,
    matching.CandidateEnteredPool,
    matching.CandidateWithdrawn,
    matching.MatchConfirmed,
    matching.AgreementSignatureRecorded,
    matching.AgreementSigned,
    matching.CompanyRegistered,
    matching.CompanyRefused,
    matching.CandidatePreferencesStated,
    matching.CompanyPreferencesStated,
    matching.MatchingRoundCompleted,
    matching.MatchProposed,
    matching.MatchDeclined,
    matching.ProposalWithdrawn,
    notifications.NotificationSent,
    notifications.NotificationFailed,
)


CATALOG: dict[tuple[str, int], type[Envelope[Any]]] = {identity_of(m)[:2]: m for m in EVENT_MODELS}


def topic_of(model: type[Envelope[Any]]) -> str:
    """The topic an event is published on: its producer's."""
    return topics.TOPIC_OF_PRODUCER[identity_of(model)[2]]


class UnknownEventType(ValueError):
    """The envelope is well-formed but names an event this contract does not define."""


def parse_event(raw: bytes | str) -> Envelope[Any]:
    """Read one message value into its typed event.

    Raises `pydantic.ValidationError` when the message is not a valid envelope or its
    payload does not match the event's schema, and `UnknownEventType` for an event type
    or version this version of the contract does not know (a newer producer).
    """
    # Strict JSON reading: a number is not read from a string ("3"), nor a boolean from
    # "true", which the published JSON Schemas refuse too (tests/unit/test_contract.py
    # feeds the same records to both and expects the same verdict).
    header = EnvelopeHeader.model_validate_json(raw, strict=True)
    model = CATALOG.get((header.event_type, header.schema_version))
    if model is None:
        raise UnknownEventType(f"{header.event_type} v{header.schema_version}")
    return model.model_validate_json(raw, strict=True)


__all__ = ["CATALOG", "EVENT_MODELS", "UnknownEventType", "ValidationError", "parse_event"]
