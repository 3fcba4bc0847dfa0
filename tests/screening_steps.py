"""The office's steps through a screening case, on a `ScreeningApplication` in process:
documents accepted, rounds scheduled and scored. For stories that need an applicant
past screening's interviews (the integration and end-to-end stories use the HTTP API)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from kernel.actor import Actor
from services.screening.application.service import ScreeningApplication

#: Scores on the default scorecard: 15 of 20 passes (pass mark 12), 8 fails.
PASSING = {"motivation": 4, "communication": 4, "language": 3, "fit_with_program": 4}
FAILING = {"motivation": 2, "communication": 2, "language": 2, "fit_with_program": 2}
HELD_AT = datetime(2025, 7, 1, 1, 0, tzinfo=UTC)


def slot(stage: str, at: datetime = HELD_AT, interviewer: str = "staff-017") -> dict[str, Any]:
    """An online slot, in English for the first round and Japanese for the second."""
    return {
        "scheduled_at": at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "duration_minutes": 30,
        "interviewer": interviewer,
        "language": "english" if stage == "first" else "japanese",
        "mode": "online",
        "joining_instructions": None,
    }


def accept_documents(app: ScreeningApplication, applicant_id: uuid.UUID, actor: Actor) -> None:
    """Every required document received (those not yet, as if just uploaded) and
    accepted."""
    case = app.get_case(applicant_id)
    state = case.documents_state
    missing = [kind for kind in state.outstanding if kind not in state.current]
    if missing:
        case.receive_documents(
            [
                {"document_id": uuid.uuid5(applicant_id, k), "kind": k, "sha256": "0" * 64}
                for k in missing
            ],
            [],
            case.correlation_id,
            None,
            actor,
        )
        app.save(case)
    state = app.get_case(applicant_id).documents_state
    for kind in state.outstanding:
        app.review_document(
            applicant_id, uuid.UUID(state.current[kind]), "accepted", None, None, actor
        )


def hold_interviews(
    app: ScreeningApplication,
    applicant_id: uuid.UUID,
    actor: Actor,
    stages: tuple[str, ...] = ("first", "second"),
    *,
    failing: str | None = None,
    at: datetime = HELD_AT,
) -> None:
    """The documents accepted, then each round scheduled and scored: passed, except
    the round named `failing`."""
    accept_documents(app, applicant_id, actor)
    for stage in stages:
        _, interview_id, _ = app.schedule_interview(applicant_id, stage, slot(stage, at), actor)
        scores = FAILING if stage == failing else PASSING
        app.record_interview_result(applicant_id, interview_id, at, scores, None, actor)
