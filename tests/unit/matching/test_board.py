"""The matching board's fold: each event lands on the rows it changes, a replayed event
changes nothing, and an event that cannot be translated is skipped, not fatal."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from services.matching.adapters import board_view
from services.matching.adapters.board_view import CANDIDATE, COMPANY, Entry, entries_of, fold

AT = datetime(2025, 8, 1, 9, 0, tzinfo=UTC)
ANA, TOKYO, ROUND = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def entry(kind: str, event_type: str, position: int, **payload: object) -> Entry:
    key = ANA if kind == CANDIDATE else TOKYO
    return Entry(key, kind, event_type, {"cohort_id": "FY2025", **payload}, AT, position)


def test_a_proposal_a_decline_and_a_confirmation_move_both_rows() -> None:
    pair = {"applicant_id": str(ANA), "company_id": str(TOKYO)}
    proposal = {**pair, "course": "A", "match_id": str(uuid.uuid4()), "round_id": str(ROUND)}
    candidate = fold(None, entry(CANDIDATE, "CandidateEnteredPool", 1, applicant_id=str(ANA)))
    company = fold(
        None,
        entry(
            COMPANY, "CompanyRegistered", 2, legal_name="Kato", capacity=2, company_id=str(TOKYO)
        ),
    )
    assert candidate is not None and company is not None
    assert company.state["places_open"] == 2

    proposed = entry(CANDIDATE, "MatchProposed", 3, **proposal, decide_by="2025-08-15T00:00:00Z")
    candidate = fold(candidate, proposed)
    company = fold(company, entry(COMPANY, "MatchProposed", 3, **proposal))
    assert candidate is not None and company is not None
    assert (candidate.state["status"], candidate.state["company_id"]) == ("proposed", str(TOKYO))
    assert (company.state["proposed"], company.state["places_open"]) == ([str(ANA)], 1)
    # Replayed: nothing changes.
    assert fold(candidate, proposed) is candidate

    candidate = fold(candidate, entry(CANDIDATE, "MatchDeclined", 4, **pair))
    company = fold(company, entry(COMPANY, "MatchDeclined", 4, **pair))
    assert candidate is not None and company is not None
    assert (candidate.state["status"], candidate.state["declined_by"]) == ("in_pool", [str(TOKYO)])
    assert (company.state["proposed"], company.state["places_open"]) == ([], 2)


def test_an_event_that_cannot_be_translated_is_skipped_and_named(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def untranslatable(_: object) -> None:
        raise ValueError("a shape this version does not know")

    monkeypatch.setattr(board_view, "to_integration_event", untranslatable)
    broken = SimpleNamespace(originator_id=uuid.uuid4(), originator_version=3)

    assert entries_of(broken, 7) == []
    assert f"{broken.originator_id} v3 at position 7" in caplog.text
