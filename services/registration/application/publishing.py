"""Which of registration's domain events are public, and how they read on Kafka.

Personal values are copied as they are stored, sealed (see `service.py`): translating
opens nothing, so a re-published event is byte-identical and its chain holds, and an
erased subject's events still translate (their sealed values, unreadable, stay)."""

from __future__ import annotations

from typing import Any

from events import registration as contract
from events.envelope import Envelope
from runtime.relay import envelope_for
from services.registration.domain.applicant import Applicant
from services.registration.domain.cohort import Cohort
from services.registration.domain.inquiry import Inquiry
from services.registration.domain.privacy import PrivacyRequest


def to_integration_event(e: Any) -> Envelope | None:
    """Translate a stored domain event; None for events private to registration (the
    email claim, the registration link's serial and expiry, a privacy request until it
    is answered)."""
    if isinstance(e, Cohort.Opened):
        return envelope_for(
            contract.CohortOpened,
            e,
            {
                "cohort_id": e.cohort_id,
                "applications_open_at": e.applications_open_at,
                "applications_close_at": e.applications_close_at,
                "age_reference_date": e.age_reference_date,
                "min_age": e.min_age,
                "max_age": e.max_age,
                "results_by": e.results_by,
                "courses": e.courses,
                "rules": e.rules,
            },
        )
    if isinstance(e, Cohort.RulesRevised):
        return envelope_for(
            contract.CohortRulesRevised,
            e,
            {"cohort_id": e.cohort_id, "rules": e.rules},
        )
    if isinstance(e, Applicant.Preregistered):
        return envelope_for(
            contract.ApplicantPreregistered,
            e,
            {
                "applicant_id": e.originator_id,
                "cohort_id": e.cohort_id,
                "email": e.email,
            },
        )
    if isinstance(e, Applicant.Registered):
        details = {k: v for k, v in e.details.items() if k != "privacy_policy_consent"}
        return envelope_for(
            contract.ApplicantRegistered,
            e,
            {
                **details,
                "applicant_id": e.originator_id,
                "cohort_id": e.cohort_id,
                "email": e.email,
                "age_on_reference_date": e.age_on_reference_date,
                "privacy_policy_consented_at": e.registered_at,
            },
        )
    if isinstance(e, Applicant.DocumentsSubmitted):
        return envelope_for(
            contract.DocumentsSubmitted,
            e,
            {
                "applicant_id": e.originator_id,
                "cohort_id": e.cohort_id,
                "documents": e.documents,
                "outstanding": e.outstanding,
            },
        )
    if isinstance(e, Applicant.DetailsAmended):
        return envelope_for(
            contract.ApplicantDetailsAmended,
            e,
            {
                "applicant_id": e.originator_id,
                "cohort_id": e.cohort_id,
                "changed_fields": sorted(e.changes),
                "changes": e.changes,
                "age_on_reference_date": e.age_on_reference_date,
                "reason": e.reason,
                "amended_by": e.amended_by,
            },
        )
    if isinstance(e, Inquiry.Received):
        return envelope_for(
            contract.InquiryReceived,
            e,
            {
                "inquiry_id": e.originator_id,
                "name": e.name,
                "email": e.email,
                "country": e.country,
                "sender_kind": e.sender_kind,
                "inquiry_type": e.inquiry_type,
                "text": e.text,
            },
        )
    if isinstance(e, Inquiry.Answered):
        return envelope_for(
            contract.InquiryAnswered,
            e,
            {
                "inquiry_id": e.originator_id,
                "email": e.email,
                "answer": e.answer,
                "answered_by": e.answered_by,
            },
        )
    if isinstance(e, Applicant.ProcessingRestricted):
        return envelope_for(
            contract.ProcessingRestricted,
            e,
            {
                "subject_id": e.originator_id,
                "subject_kind": "applicant",
                "use_suspended": e.use_suspended,
                "third_party_provision_stopped": e.third_party_provision_stopped,
                "request_id": e.request_id,
            },
        )
    if isinstance(e, (Applicant.Erased, Inquiry.Erased)):
        return envelope_for(
            contract.SubjectErased,
            e,
            {
                "subject_id": e.originator_id,
                "subject_kind": "applicant" if isinstance(e, Applicant.Erased) else "inquirer",
                "request_id": e.request_id,
                "erased_at": e.erased_at,
            },
        )
    if isinstance(e, PrivacyRequest.Answered):
        return envelope_for(
            contract.PrivacyRequestAnswered,
            e,
            {
                "request_id": e.originator_id,
                "subject_id": e.subject_id,
                "subject_kind": e.subject_kind,
                "right": e.right,
                "requested_by": e.requested_by,
                "identity_check": e.identity_check,
                "outcome": e.outcome,
                "outcome_reason": e.outcome_reason,
            },
        )
    return None
