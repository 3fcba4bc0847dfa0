"""The exported JSON Schemas say everything the models enforce: subscribers in other
languages have only the schemas, so for every event the same records are fed to the
contract's reader (the pydantic models, as every consumer reads them) and to the
published schema (checked with formats), and both must give the same verdict."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from events.catalog import CATALOG, UnknownEventType, parse_event
from infra import contract

GOLDEN = Path(__file__).resolve().parents[2] / "events" / "golden"
FORMATS = jsonschema.FormatChecker()


def model_accepts(record: Any) -> bool:
    try:
        parse_event(json.dumps(record).encode())
    except (ValidationError, UnknownEventType):
        return False
    return True


def schema_accepts(schema: dict[str, Any], record: Any) -> bool:
    return jsonschema.Draft202012Validator(schema, format_checker=FORMATS).is_valid(record)


def wrong_type(value: Any) -> Any:
    if isinstance(value, bool):
        return "yes"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return 12345
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return ["an object"]
    return {"not": "null"}


def mutations(sample: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """(what was done, the mutated record) for one valid sample."""

    def changed(path: tuple[str | int, ...], value: Any = None, *, drop: bool = False) -> Any:
        record = copy.deepcopy(sample)
        target = record
        for step in path[:-1]:
            target = target[step]
        if drop:
            del target[path[-1]]
        else:
            target[path[-1]] = value
        return record

    def walk(node: Any, path: tuple[str | int, ...]) -> Iterator[tuple[str | int, ...]]:
        if isinstance(node, dict):
            for key, value in node.items():
                yield (*path, key)
                yield from walk(value, (*path, key))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                yield (*path, i)
                yield from walk(value, (*path, i))

    for path in walk(sample, ()):
        name = ".".join(map(str, path))
        parent = sample
        for step in path[:-1]:
            parent = parent[step]
        value = parent[path[-1]]
        if isinstance(parent, dict):
            yield f"without {name}", changed(path, drop=True)
        yield f"{name} of the wrong type", changed(path, wrong_type(value))
        if value is not None and not isinstance(value, dict | list):
            yield f"{name} null", changed(path, None)
        if isinstance(value, dict):
            yield f"{name} with an extra field", changed(path, {**value, "unexpected": 1})
        if isinstance(value, str) and (name.endswith("_at") or name.endswith("_date")):
            for bad in ("yesterday", "2025-06-01T09:30:00", "2025-13-01", "3", "2025-06-01"):
                yield f"{name} = {bad!r}", changed(path, bad)
    yield "an extra field", {**sample, "unexpected": 1}
    yield "another event type", {**sample, "event_type": "ApplicantTeleported"}
    yield "a newer schema version", {**sample, "schema_version": 2}
    yield "a bad previous hash", {**sample, "previous_hash": "abc"}
    for actor in (
        {"kind": "robot", "id": "r2"},
        {"kind": "applicant", "id": "a", "role": "admin"},
        {"kind": "staff", "id": "s", "role": "janitor"},
        {"kind": "staff", "id": "s", "company_id": sample["correlation_id"]},
        {"kind": "system", "id": ""},
    ):
        yield f"actor {actor}", {**sample, "actor": actor}


def samples() -> list[Path]:
    return sorted(GOLDEN.glob("*.json"))


@pytest.mark.parametrize("path", samples(), ids=lambda p: p.stem)
def test_the_schema_and_the_model_agree_on_every_mutation_of_a_sample(path: Path):
    sample = json.loads(path.read_text())
    schema = json.loads((contract.SCHEMAS_DIR / path.name).read_text())
    assert model_accepts(sample) and schema_accepts(schema, sample)
    disagreements = []
    refused = 0
    for what, record in mutations(sample):
        by_model, by_schema = model_accepts(record), schema_accepts(schema, record)
        refused += not by_model
        if by_model != by_schema:
            disagreements.append(f"{what}: model {'accepts' if by_model else 'refuses'}")
    assert disagreements == []
    assert refused > 20, "the mutations really exercise the contract"


AMENDED = GOLDEN / "ApplicantDetailsAmended.v1.json"


@pytest.mark.parametrize(
    "changes",
    [
        {"nationality": None},
        {"date_of_birth": "not a date"},
        {},
        {"email": "someone@example.org"},
        {"languages": {"jlpt": "N9"}},
        {"family_name": ""},
    ],
    ids=str,
)
def test_an_amendment_says_exactly_which_details_change_and_to_what(changes):
    sample = json.loads(AMENDED.read_text())
    sample["payload"]["changes"] = changes
    schema = json.loads((contract.SCHEMAS_DIR / AMENDED.name).read_text())
    assert not model_accepts(sample)
    assert not schema_accepts(schema, sample)


def test_the_schemas_really_check_formats():
    """jsonschema ignores `format: date-time` unless an RFC 3339 checker is installed
    (rfc3339-validator, in the dev extra): without it the test above would pass with a
    schema that lets `occurred_at: "yesterday"` through."""
    assert {"date-time", "date", "uuid", "email"} <= set(FORMATS.checkers)
    schema = json.loads((contract.SCHEMAS_DIR / "ApplicantPreregistered.v1.json").read_text())
    sample = json.loads((GOLDEN / "ApplicantPreregistered.v1.json").read_text())
    assert not schema_accepts(schema, {**sample, "occurred_at": "yesterday"})


def test_every_event_of_the_catalog_is_covered():
    assert {p.name for p in samples()} == {f"{t}.v{v}.json" for t, v in CATALOG}
