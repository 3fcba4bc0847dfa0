"""The event contract is the public API: these tests fail on any change that would
break a subscriber or an auditor replaying the log."""

import json
import re
import subprocess
import tempfile
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import jsonschema
import pytest
from pydantic import ValidationError

from events import topics
from events.catalog import CATALOG, EVENT_MODELS, UnknownEventType, parse_event, topic_of
from events.envelope import MAX_SAFE_INTEGER, derive_event_id
from events.registration import ApplicantPreregistered
from infra import contract
from infra.contract import DEAD_LETTER_MESSAGE

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


def test_event_ids_are_derived_from_the_producer_the_type_and_the_stored_event():
    aggregate = uuid.uuid4()
    first = derive_event_id("registration", "ApplicantPreregistered", aggregate, 1)
    assert first == derive_event_id("registration", "ApplicantPreregistered", aggregate, 1)
    assert first != derive_event_id("registration", "ApplicantPreregistered", aggregate, 2)
    assert first != derive_event_id("screening", "ScreeningCaseOpened", aggregate, 1)
    assert first == uuid.uuid5(
        uuid.UUID("7f8c3b4e-4a55-5c1f-9f0e-6a1d2b3c4d5e"),
        f"registration/ApplicantPreregistered/{aggregate}/1",
    ), "documented, so that anyone can recompute it"


# -- the AsyncAPI document, checked by the official parser and by its rules -------------

TOOLS = Path(__file__).resolve().parents[2] / "infra" / "tools"
COMPONENT_KEY = re.compile(r"^[a-zA-Z0-9\.\-_]+$")


def official_parser_verdicts(*documents: dict) -> list[dict]:
    """The verdict of @asyncapi/parser (installed by infra/bootstrap.sh into
    infra/tools/node_modules) on each document: {"valid": bool, "diagnostics": [...]}."""
    assert (TOOLS / "node_modules" / "@asyncapi" / "parser").is_dir(), (
        "the AsyncAPI parser is missing: run `bash infra/bootstrap.sh`"
    )
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for i, document in enumerate(documents):
            paths.append(Path(folder) / f"asyncapi-{i}.json")
            paths[-1].write_text(json.dumps(document))
        result = subprocess.run(
            ["node", str(TOOLS / "validate-asyncapi.mjs"), *map(str, paths)],
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
    verdicts = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(verdicts) == len(documents), result.stderr
    assert result.returncode == (0 if all(v["valid"] for v in verdicts) else 1)
    return verdicts


def asyncapi() -> dict:
    return json.loads(contract.ASYNCAPI_FILE.read_text())


def rule_violations(document: dict) -> list[str]:
    """What AsyncAPI 3.0 requires beyond its JSON Schema (which the parser does not
    check either), and what this backbone promises its subscribers."""
    problems = []
    for section, items in document.get("components", {}).items():
        problems += [f"components.{section}.{k}" for k in items if not COMPONENT_KEY.match(k)]
    for section in ("channels", "operations"):
        problems += [f"{section}.{k}" for k in document[section] if not COMPONENT_KEY.match(k)]
    messages = document["components"].get("messages", {})
    dead_letter = messages.get(DEAD_LETTER_MESSAGE, {})
    for header_name in ("dlq-reason", "dlq-original-topic", "dlq-original-offset"):
        if header_name not in dead_letter.get("headers", {}).get("required", []):
            problems.append(f"dead letters: header {header_name} not declared")
    for key, message in messages.items():
        if key == DEAD_LETTER_MESSAGE:
            continue
        location = message.get("correlationId", {}).get("location", "")
        header = location.removeprefix("$message.header#/")
        if header not in message.get("headers", {}).get("properties", {}):
            problems.append(f"message {key}: correlationId {location!r} names no header")
        if "key" not in message.get("bindings", {}).get("kafka", {}):
            problems.append(f"message {key}: no Kafka key declared")
        for header_name in ("event_type", "schema_version", "event_id", "content-type"):
            if header_name not in message.get("headers", {}).get("required", []):
                problems.append(f"message {key}: header {header_name} not declared")
    for key, operation in document["operations"].items():
        if not operation.get("messages"):
            problems.append(f"operation {key}: references no message")
    payloads = json.dumps([m.get("payload") for m in document["components"]["messages"].values()])
    if "binary" in payloads:
        problems.append("a message is described as binary")
    return problems


def broken(breakage: str) -> dict:
    document = asyncapi()
    operation = next(iter(document["operations"].values()))
    if breakage == "dangling reference":
        operation["channel"] = {"$ref": "#/channels/nowhere"}
    elif breakage == "unknown action":
        operation["action"] = "consume"
    elif breakage == "address of the wrong type":
        next(iter(document["channels"].values()))["address"] = 42
    return document


def test_the_official_parser_passes_the_document_and_refuses_broken_copies():
    breakages = ["dangling reference", "unknown action", "address of the wrong type"]
    verdicts = official_parser_verdicts(asyncapi(), *map(broken, breakages))
    assert verdicts[0]["valid"], verdicts[0]["diagnostics"]
    for breakage, verdict in zip(breakages, verdicts[1:], strict=True):
        assert not verdict["valid"], breakage


def test_the_asyncapi_document_declares_headers_keys_and_consumed_messages():
    document = asyncapi()
    assert rule_violations(document) == []
    receive = [op for op in document["operations"].values() if op["action"] == "receive"]
    screening = next(op for op in receive if "jip-screening." in op["channel"]["$ref"])
    assert any("ApplicantRegistered.v1" in m["$ref"] for m in screening["messages"])


def test_the_rules_refuse_what_faststream_alone_would_generate():
    document = asyncapi()
    document["components"]["messages"]["jip.registration.v1:publish:Message"] = {
        "payload": {"type": "string", "format": "binary"},
        "correlationId": {"location": "$message.header#/correlation_id"},
    }
    problems = rule_violations(document)
    assert "components.messages.jip.registration.v1:publish:Message" in problems
    assert any("names no header" in p for p in problems)
    assert any("no Kafka key" in p for p in problems)
    assert "a message is described as binary" in problems


def _numbers(schema: object, where: str = "") -> list[tuple[str, dict]]:
    """Every integer or number node of a JSON Schema that may take a range of values,
    with where it is."""
    found = []
    if isinstance(schema, dict):
        bounded_by_value = "const" in schema or "enum" in schema
        if schema.get("type") in ("integer", "number") and not bounded_by_value:
            found.append((where, schema))
        for key, value in schema.items():
            found += _numbers(value, f"{where}/{key}")
    elif isinstance(schema, list):
        for i, value in enumerate(schema):
            found += _numbers(value, f"{where}/{i}")
    return found


@pytest.mark.parametrize("name", sorted(contract.json_schemas()))
def test_every_number_of_an_event_is_bounded_within_what_the_chain_can_hash(name):
    # A producer stores what its API accepts; the relay must be able to publish it, and
    # the chain's canonical form (RFC 8785) has no exact form for an integer of 2**53
    # or more: an unbounded field let one fuzzed cohort stop registration's relay.
    schema = contract.json_schemas()[name]
    for where, number in _numbers(schema):
        assert number.get("maximum", number.get("exclusiveMaximum")) is not None, where
        assert number.get("minimum", number.get("exclusiveMinimum")) is not None, where
        assert number.get("maximum", 0) <= MAX_SAFE_INTEGER, where
        assert number.get("minimum", 0) >= -MAX_SAFE_INTEGER, where
