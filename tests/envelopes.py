"""Integration events as an upstream service would publish them, built with the
contract's own models (so a test cannot feed a service something the contract forbids,
unless it means to)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

from events import registration, screening
from events.envelope import Envelope, derive_event_id

COHORT = "FY2025"


def _header(
    aggregate_id: uuid.UUID, version: int, correlation_id: uuid.UUID | None
) -> dict[str, Any]:
    return {
        "event_id": derive_event_id(aggregate_id, version),
        "occurred_at": datetime.now(UTC),
        "aggregate_id": aggregate_id,
        "aggregate_version": version,
        "correlation_id": correlation_id or uuid.uuid4(),
        "causation_id": None,
    }


def cohort_opened(cohort_id: str = COHORT, **rules: Any) -> registration.CohortOpened:
    aggregate_id = uuid.uuid5(uuid.NAMESPACE_URL, f"cohort:{cohort_id}")
    return registration.CohortOpened.model_validate(
        {
            **_header(aggregate_id, 1, None),
            "payload": {
                "cohort_id": cohort_id,
                "applications_open_at": "2025-05-01T00:00:00Z",
                "applications_close_at": "2025-06-30T15:00:00Z",
                "age_reference_date": "2025-08-25",
                "min_age": 18,
                "max_age": 40,
                "results_by": "2025-08-31",
                "courses": [
                    {
                        "code": "A",
                        "name": "In-person",
                        "mode": "in_person",
                        "daily_allowance_yen": 1000,
                    },
                    {"code": "B", "name": "Online", "mode": "online", "daily_allowance_yen": 1000},
                ],
                "rules": {
                    "excluded_nationalities": ["CN"],
                    "residents_of_japan_may_apply": False,
                    "earlier_participation_excluded_from_fy": 2016,
                    **rules,
                },
            },
        }
    )


def applicant_registered(
    applicant_id: uuid.UUID,
    *,
    cohort_id: str = COHORT,
    date_of_birth: date = date(2000, 4, 12),
    nationality: str = "VN",
    country_of_residence: str = "VN",
    correlation_id: uuid.UUID | None = None,
) -> registration.ApplicantRegistered:
    return registration.ApplicantRegistered.model_validate(
        {
            **_header(applicant_id, 3, correlation_id),
            "payload": {
                "applicant_id": applicant_id,
                "cohort_id": cohort_id,
                "email": f"{applicant_id.hex[:12]}@example.org",
                "given_name": "Linh",
                "family_name": "Nguyen",
                "date_of_birth": date_of_birth,
                "nationality": nationality,
                "country_of_residence": country_of_residence,
                "education": {
                    "institution": "Hanoi University of Science and Technology",
                    "level": "bachelor",
                    "status": "graduated",
                    "field_of_study": "Computer Science",
                    "graduation_date": "2024-06-30",
                },
                "languages": {"jlpt": "N3", "ielts": 6.5},
                "course_preferences": ["B", "A"],
                "declares_no_final_job_commitment": True,
                "privacy_policy_consented_at": "2025-06-02T10:00:00Z",
            },
        }
    )


def documents_submitted(
    applicant_id: uuid.UUID, kinds: list[str], outstanding: list[str], *, version: int = 4
) -> registration.DocumentsSubmitted:
    return registration.DocumentsSubmitted.model_validate(
        {
            **_header(applicant_id, version, None),
            "payload": {
                "applicant_id": applicant_id,
                "cohort_id": COHORT,
                "documents": [
                    {
                        "document_id": uuid.uuid5(applicant_id, kind),
                        "kind": kind,
                        "filename": f"{kind}.pdf",
                        "content_type": "application/pdf",
                        "size_bytes": 1024,
                        "sha256": uuid.uuid5(applicant_id, kind).hex * 2,
                    }
                    for kind in kinds
                ],
                "outstanding": outstanding,
            },
        }
    )


def details_amended(
    applicant_id: uuid.UUID, changes: dict[str, Any], *, version: int = 5
) -> registration.ApplicantDetailsAmended:
    return registration.ApplicantDetailsAmended.model_validate(
        {
            **_header(applicant_id, version, None),
            "payload": {
                "applicant_id": applicant_id,
                "cohort_id": COHORT,
                "changed_fields": sorted(changes),
                "changes": changes,
                "reason": "Corrected on the applicant's request; passport provided.",
                "amended_by": "staff-017",
            },
        }
    )


def interview_passed(
    applicant_id: uuid.UUID,
    stage: str = "second",
    *,
    version: int = 3,
    correlation_id: uuid.UUID | None = None,
) -> screening.InterviewPassed:
    return screening.InterviewPassed.model_validate(
        {
            **_header(applicant_id, version, correlation_id),
            "payload": {
                "case_id": applicant_id,
                "applicant_id": applicant_id,
                "cohort_id": COHORT,
                "stage": stage,
                "language": "japanese",
                "interviewed_at": "2025-07-10T02:00:00Z",
                "interviewer": "staff-017",
            },
        }
    )


def with_broken_payload(event: Envelope) -> bytes:
    """A well-formed envelope of a known event type whose payload misses its fields."""
    data = event.model_dump(mode="json")
    data["payload"] = {"applicant_id": "not-a-uuid"}
    return json.dumps(data).encode()
