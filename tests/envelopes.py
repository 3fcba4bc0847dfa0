"""Integration events as an upstream service would publish them: the contract's golden
samples (`events/golden/`) with the ids and fields a story needs, validated by the
contract's own models (so a test cannot feed a service something the contract forbids,
unless it means to)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any, TypeVar

from events import registration, screening
from events.envelope import Envelope, derive_event_id, identity_of

GOLDEN = Path(__file__).resolve().parents[1] / "events" / "golden"
COHORT = "FY2025"

E = TypeVar("E", bound=Envelope[Any])


def golden(model: type[Envelope[Any]]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GOLDEN / f"{model.__name__}.v1.json").read_text())
    return data


def upstream(
    model: type[E],
    *,
    aggregate_id: uuid.UUID,
    event_id: uuid.UUID | None = None,
    version: int | None = None,
    correlation_id: uuid.UUID | None = None,
    **payload: Any,
) -> E:
    """A valid `model` event about `aggregate_id`, with `payload` fields changed. With a
    `version`, its `event_id` is the one its producer would derive (so publishing the
    same event twice really is the same event); otherwise a fresh one."""
    data = golden(model)
    if version is not None:
        data["aggregate_version"] = version
        event_type, _, producer = identity_of(model)
        event_id = event_id or derive_event_id(producer, event_type, aggregate_id, version)
    data.update(
        event_id=str(event_id or uuid.uuid4()),
        aggregate_id=str(aggregate_id),
        correlation_id=str(correlation_id or uuid.uuid4()),
    )
    for field in ("applicant_id", "case_id"):
        if field in data["payload"]:
            data["payload"][field] = str(aggregate_id)
    data["payload"].update(json.loads(json.dumps(payload, default=str)))
    return model.model_validate(data)


def cohort_opened(cohort_id: str = COHORT, **rules: Any) -> registration.CohortOpened:
    return upstream(
        registration.CohortOpened,
        aggregate_id=uuid.uuid5(uuid.NAMESPACE_URL, f"cohort:{cohort_id}"),
        version=1,
        cohort_id=cohort_id,
        rules={**golden(registration.CohortOpened)["payload"]["rules"], **rules},
    )


def applicant_registered(
    applicant_id: uuid.UUID,
    *,
    cohort_id: str = COHORT,
    correlation_id: uuid.UUID | None = None,
    **details: Any,
) -> registration.ApplicantRegistered:
    return upstream(
        registration.ApplicantRegistered,
        aggregate_id=applicant_id,
        version=3,
        correlation_id=correlation_id,
        cohort_id=cohort_id,
        email=f"{applicant_id.hex[:12]}@example.org",
        **details,
    )


def documents_submitted(
    applicant_id: uuid.UUID, kinds: list[str], outstanding: list[str], *, version: int = 4
) -> registration.DocumentsSubmitted:
    documents = [
        {
            "document_id": uuid.uuid5(applicant_id, kind),
            "kind": kind,
            "filename": f"{kind}.pdf",
            "content_type": "application/pdf",
            "size_bytes": 1024,
            "sha256": uuid.uuid5(applicant_id, kind).hex * 2,
        }
        for kind in kinds
    ]
    return upstream(
        registration.DocumentsSubmitted,
        aggregate_id=applicant_id,
        version=version,
        cohort_id=COHORT,
        documents=documents,
        outstanding=outstanding,
    )


def details_amended(
    applicant_id: uuid.UUID, changes: dict[str, Any], *, version: int = 5
) -> registration.ApplicantDetailsAmended:
    return upstream(
        registration.ApplicantDetailsAmended,
        aggregate_id=applicant_id,
        version=version,
        changed_fields=sorted(changes),
        changes=changes,
        reason="Corrected on the applicant's request; passport provided.",
        amended_by="staff-017",
    )


def interview_passed(
    applicant_id: uuid.UUID,
    stage: str = "second",
    *,
    version: int = 3,
    correlation_id: uuid.UUID | None = None,
) -> screening.InterviewPassed:
    return upstream(
        screening.InterviewPassed,
        aggregate_id=applicant_id,
        version=version,
        correlation_id=correlation_id,
        stage=stage,
        interviewer="staff-017",
    )


def with_broken_payload(event: Envelope[Any]) -> bytes:
    """A well-formed envelope of a known event type whose payload misses its fields."""
    data = event.model_dump(mode="json")
    data["payload"] = {"applicant_id": "not-a-uuid"}
    return json.dumps(data).encode()
