"""The event contract is the public API: these tests fail on any change that would
break a subscriber or an auditor replaying the log."""

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import jsonschema
import pytest
from pydantic import ValidationError

from events import topics
from events.catalog import CATALOG, EVENT_MODELS, UnknownEventType, parse_event, topic_of
from events.envelope import derive_event_id
from events.registration import ApplicantPreregistered
from infra import contract

GOLDEN = Path(__file__).resolve().parents[2] / "events" / "golden"


def golden_files() -> list[Path]:
    return sorted(GOLDEN.glob("*.json"))


def test_every_event_of_the_contract_has_a_golden_sample():
    names = {p.name for p in golden_files()}
    for event_type, version in CATALOG:
        assert f"{event_type}.v{version}.json" in names


@pytest.mark.parametrize("path", golden_files(), ids=lambda p: p.stem)
def test_a_golden_sample_still_reads_and_writes_exactly_as_published(path: Path):
    published = json.loads(path.read_text())
    event = parse_event(path.read_bytes())
    assert json.loads(event.model_dump_json()) == published


@pytest.mark.parametrize("path", golden_files(), ids=lambda p: p.stem)
def test_a_golden_sample_is_valid_against_its_published_json_schema(path: Path):
    schema = json.loads((contract.SCHEMAS_DIR / path.name).read_text())
    jsonschema.validate(json.loads(path.read_text()), schema)


def test_the_published_schemas_and_asyncapi_document_are_up_to_date():
    stale = [
        str(p.relative_to(contract.REPO_ROOT))
        for p, text in contract.expected_files().items()
        if not p.exists() or p.read_text() != text
    ]
    assert stale == [], "run `python -m infra contract` and review the diff"


def test_the_asyncapi_document_lists_every_topic_and_event():
    document = json.loads(contract.ASYNCAPI_FILE.read_text())
    addresses = {c["address"] for c in document["channels"].values()}
    assert set(topics.ALL_TOPICS) <= addresses
    schemas = json.dumps(document["components"])
    for model in EVENT_MODELS:
        assert model.__name__ in schemas


def test_each_producer_publishes_on_its_own_topic():
    assert topic_of(ApplicantPreregistered) == topics.REGISTRATION
    assert {topic_of(m) for m in EVENT_MODELS} == set(topics.ALL_TOPICS)


def sample(**changes: object) -> dict:
    data = json.loads((GOLDEN / "ApplicantPreregistered.v1.json").read_text())
    data.update(changes)
    return data


def test_occurred_at_is_normalised_to_utc():
    jst = timezone(timedelta(hours=9))
    event = ApplicantPreregistered.model_validate(
        sample(occurred_at=datetime(2025, 6, 1, 18, 30, tzinfo=jst).isoformat())
    )
    assert event.occurred_at == datetime(2025, 6, 1, 9, 30, tzinfo=UTC)
    assert json.loads(event.model_dump_json())["occurred_at"] == "2025-06-01T09:30:00Z"


def test_a_timestamp_without_time_zone_is_refused():
    with pytest.raises(ValidationError, match="occurred_at"):
        ApplicantPreregistered.model_validate(sample(occurred_at="2025-06-01T09:30:00"))


def test_an_undeclared_field_is_refused_rather_than_silently_dropped():
    with pytest.raises(ValidationError, match="extra"):
        ApplicantPreregistered.model_validate(sample(unexpected="x"))
    payload = {**sample()["payload"], "phone": "+84 90"}
    with pytest.raises(ValidationError, match=r"payload\.phone"):
        ApplicantPreregistered.model_validate(sample(payload=payload))


def test_an_event_of_a_newer_contract_is_recognised_as_unknown_not_as_malformed():
    raw = json.dumps(sample(event_type="ApplicantTeleported")).encode()
    with pytest.raises(UnknownEventType):
        parse_event(raw)
    raw = json.dumps(sample(schema_version=2)).encode()
    with pytest.raises(UnknownEventType):
        parse_event(raw)


def test_event_ids_are_stable_per_aggregate_version_so_republication_is_deduplicated():
    aggregate = uuid.uuid4()
    assert derive_event_id(aggregate, 3) == derive_event_id(aggregate, 3)
    assert derive_event_id(aggregate, 3) != derive_event_id(aggregate, 4)
    assert derive_event_id(aggregate, 3) != derive_event_id(uuid.uuid4(), 3)
