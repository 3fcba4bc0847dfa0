"""Integration events as an upstream service would publish them: the contract's golden
samples (`events/golden/`) with the ids and fields a story needs, validated by the
contract's own models (so a test cannot feed a service something the contract forbids,
unless it means to).

Personal fields travel sealed with their subject's key, as registration seals them: a
story gives them in clear (or takes the defaults below) and they are sealed here with
`vault`, a `PersonalData`. Integration tests pass the test stack's key store
(`tests.support.personal_data`), so that the services under test can open them; handler
unit tests get `UNIT_VAULT`, over keys kept in memory.
"""

from __future__ import annotations

import json
import uuid
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from events import registration, screening
from events.envelope import Envelope, derive_event_id, identity_of
from events.privacy import is_sealed
from runtime.privacy import PersonalData
from tests.in_memory import personal_data_in_memory

GOLDEN = Path(__file__).resolve().parents[1] / "events" / "golden"
COHORT = "FY2025"

E = TypeVar("E", bound=Envelope[Any])

#: The vault of handler unit tests (keys in memory); the applications under test there
#: are given the same one, so that they open what the stories sealed.
UNIT_VAULT = personal_data_in_memory()

#: The personal fields of each event, by path in its payload ("*": every list item).
PERSONAL: dict[str, tuple[str, ...]] = {
    "ApplicantPreregistered": ("email",),
    "ApplicantRegistered": ("email", "given_name", "family_name", "date_of_birth"),
    "ApplicantDetailsAmended": (
        "changes.given_name",
        "changes.family_name",
        "changes.date_of_birth",
        "reason",
    ),
    "DocumentsSubmitted": ("documents.*.filename",),
    "InquiryReceived": ("name", "email", "text"),
    "InquiryAnswered": ("email", "answer"),
    # screening: what staff write about a person
    "ApplicantRejected": ("note",),
    "DocumentReviewed": ("note",),
    "DocumentRequested": ("note",),
    "InterviewPassed": ("note",),
    "InterviewFailed": ("note",),
    "InterviewRecordCorrected": ("reason",),
    "CandidateSelected": ("note",),
}

#: The clear values behind the golden samples' sealed ones (the samples are sealed with
#: a key no test has): what a story gets when it does not say.
CLEAR: dict[str, dict[str, Any]] = {
    "ApplicantPreregistered": {"email": "applicant@example.org"},
    "ApplicantRegistered": {
        "email": "applicant@example.org",
        "given_name": "Linh",
        "family_name": "Nguyen",
        "date_of_birth": "2000-04-12",
    },
    "ApplicantDetailsAmended": {
        "changes.family_name": "Tran",
        "reason": "Name changed by marriage; certificate provided.",
    },
    "DocumentsSubmitted": {"documents.*.filename": "diploma.pdf"},
    "InquiryReceived": {
        "name": "Budi Santoso",
        "email": "budi@example.org",
        "text": "May I apply while finishing my master's degree?",
    },
    "InquiryAnswered": {
        "email": "budi@example.org",
        "answer": "Yes: enrolled students may apply with a certificate of enrollment.",
    },
    "DocumentRequested": {"note": "Your professor may send the letter to us directly."},
    "InterviewFailed": {"note": "Motivation unclear; Japanese below the level needed."},
    "InterviewRecordCorrected": {"reason": "The date was typed wrong; the minutes say 11:30."},
}


def _subject_of(payload: dict[str, Any], aggregate_id: uuid.UUID) -> uuid.UUID:
    for field in ("applicant_id", "inquiry_id", "subject_id"):
        if field in payload:
            return uuid.UUID(payload[field])
    return aggregate_id


def _seal_personal(
    event_type: str, payload: dict[str, Any], subject: uuid.UUID, vault: PersonalData
) -> None:
    """Seal, in place, every personal field of `payload` given in clear; a golden
    sealed value left as it was becomes the sample's clear value, sealed anew."""
    golden_payload = json.loads((GOLDEN / f"{event_type}.v1.json").read_text())["payload"]

    def seal(path: str, container: dict[str, Any], name: str, golden_value: Any) -> None:
        value = container[name]
        if value is None:
            return  # an optional personal field left out (a note not written)
        if is_sealed(value) and value == golden_value:
            value = CLEAR[event_type][path]
        elif is_sealed(value):
            return  # sealed by the story itself
        container[name] = vault.seal(subject, value)

    for path in PERSONAL.get(event_type, ()):
        parent_path, _, name = path.rpartition(".")
        if parent_path.endswith(".*"):
            items = payload.get(parent_path[:-2]) or []
            golden_items = golden_payload.get(parent_path[:-2]) or [{}]
            for item in items:
                if name in item:
                    seal(path, item, name, golden_items[0].get(name))
            continue
        container = payload.get(parent_path) if parent_path else payload
        golden_container = golden_payload.get(parent_path, {}) if parent_path else golden_payload
        if isinstance(container, dict) and name in container:
            seal(path, container, name, golden_container.get(name))


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
    vault: PersonalData | None = None,
    **payload: Any,
) -> E:
    """A valid `model` event about `aggregate_id`, with `payload` fields changed and
    its personal fields sealed with `vault` (default: `UNIT_VAULT`). With a `version`,
    its `event_id` is the one its producer would derive (so publishing the same event
    twice really is the same event); otherwise a fresh one."""
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
    _seal_personal(
        model.__name__,
        data["payload"],
        _subject_of(data["payload"], aggregate_id),
        vault or UNIT_VAULT,
    )
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
    """With a `date_of_birth` and no `age_on_reference_date`, the age is the one
    registration would publish: on the golden cohort's reference date."""
    born = details.get("date_of_birth")
    if born is not None and "age_on_reference_date" not in details:
        born = born if isinstance(born, date) else date.fromisoformat(born)
        on = date.fromisoformat(golden(registration.CohortOpened)["payload"]["age_reference_date"])
        details["age_on_reference_date"] = (
            on.year - born.year - ((on.month, on.day) < (born.month, born.day))
        )
    return upstream(
        registration.ApplicantRegistered,
        aggregate_id=applicant_id,
        version=3,
        correlation_id=correlation_id,
        cohort_id=cohort_id,
        **{"email": f"{applicant_id.hex[:12]}@example.org", **details},
    )


def documents_submitted(
    applicant_id: uuid.UUID,
    kinds: list[str],
    outstanding: list[str],
    *,
    version: int = 4,
    vault: PersonalData | None = None,
    upload: int = 1,
) -> registration.DocumentsSubmitted:
    """`upload`: the applicant's n-th upload of these kinds (new documents each time)."""
    documents = [
        {
            "document_id": uuid.uuid5(applicant_id, kind if upload == 1 else f"{kind}:{upload}"),
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
        vault=vault,
    )


def details_amended(
    applicant_id: uuid.UUID,
    changes: dict[str, Any],
    *,
    version: int = 5,
    vault: PersonalData | None = None,
    **extra: Any,
) -> registration.ApplicantDetailsAmended:
    return upstream(
        registration.ApplicantDetailsAmended,
        aggregate_id=applicant_id,
        version=version,
        changed_fields=sorted(changes),
        changes=changes,
        vault=vault,
        **{
            "reason": "Corrected on the applicant's request; passport provided.",
            "amended_by": "staff-017",
            **extra,
        },
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


def candidate_selected(
    applicant_id: uuid.UUID,
    *,
    version: int = 12,
    correlation_id: uuid.UUID | None = None,
    **payload: Any,
) -> screening.CandidateSelected:
    """The office's selection at the end of screening: what puts a candidate in
    matching's pool."""
    return upstream(
        screening.CandidateSelected,
        aggregate_id=applicant_id,
        version=version,
        correlation_id=correlation_id,
        **payload,
    )


def case_referred_to_office(
    applicant_id: uuid.UUID, *, version: int = 14, **payload: Any
) -> screening.CaseReferredToOffice:
    """A selected candidate found ineligible after an amendment: the office decides."""
    return upstream(
        screening.CaseReferredToOffice, aggregate_id=applicant_id, version=version, **payload
    )


def eligibility_assessed(
    applicant_id: uuid.UUID, result: str = "eligible", *, version: int = 15, **payload: Any
) -> screening.EligibilityAssessed:
    return upstream(
        screening.EligibilityAssessed,
        aggregate_id=applicant_id,
        version=version,
        result=result,
        **payload,
    )


def applicant_rejected(
    applicant_id: uuid.UUID, stage: str = "selection", *, version: int = 16, **payload: Any
) -> screening.ApplicantRejected:
    return upstream(
        screening.ApplicantRejected,
        aggregate_id=applicant_id,
        version=version,
        stage=stage,
        **payload,
    )


def with_broken_payload(event: Envelope[Any]) -> bytes:
    """A well-formed envelope of a known event type whose payload misses its fields."""
    data = event.model_dump(mode="json")
    data["payload"] = {"applicant_id": "not-a-uuid"}
    return json.dumps(data).encode()


def processing_restricted(
    subject_id: uuid.UUID,
    *,
    use_suspended: bool = False,
    third_party_provision_stopped: bool = False,
    version: int | None = None,
    subject_kind: str = "applicant",
) -> registration.ProcessingRestricted:
    """The subject's restrictions as they now stand (both flags)."""
    return upstream(
        registration.ProcessingRestricted,
        aggregate_id=subject_id,
        version=version,
        subject_id=subject_id,
        subject_kind=subject_kind,
        use_suspended=use_suspended,
        third_party_provision_stopped=third_party_provision_stopped,
        request_id=uuid.uuid4(),
    )


def subject_erased(
    subject_id: uuid.UUID, *, version: int | None = None, subject_kind: str = "applicant"
) -> registration.SubjectErased:
    return upstream(
        registration.SubjectErased,
        aggregate_id=subject_id,
        version=version,
        subject_id=subject_id,
        subject_kind=subject_kind,
        request_id=uuid.uuid4(),
    )
