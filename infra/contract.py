"""The published contract documents, generated from the code that implements them:

- `events/schemas/<EventType>.v<N>.json`: a JSON Schema per integration event;
- `events/schemas/<Report>.report.v<N>.json`: a JSON Schema per report (the audit's);
- `events/asyncapi.json`: the AsyncAPI document of every service's topics, built from
  the faststream brokers the services really run (their `MESSAGING.declare`).

`python -m infra contract` rewrites them; a unit test fails when they are stale, so a
change to the contract is always visible in review as a change to these files.
"""

from __future__ import annotations

import importlib
import json
import re
import uuid
from pathlib import Path
from typing import Any

from infra.services import SERVICES
from infra.settings import REPO_ROOT

SCHEMAS_DIR = REPO_ROOT / "events" / "schemas"
GOLDEN_DIR = REPO_ROOT / "events" / "golden"
ASYNCAPI_FILE = REPO_ROOT / "events" / "asyncapi.json"


def json_schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema of each event in the catalog."""
    from events.catalog import CATALOG

    schemas = {}
    for (event_type, version), model in sorted(CATALOG.items()):
        schema = model.model_json_schema(mode="serialization")
        schema["$id"] = f"urn:jip:event:{event_type}:v{version}"
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schemas[f"{event_type}.v{version}.json"] = schema
    return schemas


def report_schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema of each report of the contract (`events/audit.py`): what
    a consumer of the audit's JSON output validates against."""
    from events.audit import REPORTS

    schemas = {}
    for name, model in REPORTS.items():
        schema = model.model_json_schema(mode="serialization")
        schema["$id"] = f"urn:jip:report:{name.removesuffix('.json')}"
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schemas[name] = schema
    return schemas


def asyncapi_document() -> dict[str, Any]:
    """One AsyncAPI 3.0 document for the whole backbone, merged from each service's
    broker declaration (built without connecting to anything), then completed from the
    contract (see `_complete_from_the_contract`)."""
    from faststream.specification import AsyncAPI

    merged: dict[str, Any] = {}
    for service in SERVICES:
        bootstrap = importlib.import_module(f"services.{service}.bootstrap")
        # The address is not part of the document (its `servers` are set below).
        broker, _ = bootstrap.MESSAGING.declare("127.0.0.1:9092")
        spec = AsyncAPI(
            broker,
            title="JIP event backbone",
            version="1.0.0",
            description="Integration events of the Japan Internship Program. Every message "
            "is a JSON envelope (event_id, event_type, schema_version, occurred_at, producer, "
            "aggregate_id, aggregate_version, correlation_id, causation_id, actor, "
            "previous_hash, payload), keyed by aggregate id. See the contract section of "
            "the README and events/CHANGELOG.md.",
        ).to_specification()
        document = json.loads(spec.to_json())
        if not merged:
            merged = document
            merged["servers"] = {"development": {"host": "127.0.0.1:9092", "protocol": "kafka"}}
            continue
        for section in ("channels", "operations"):
            merged.setdefault(section, {}).update(document.get(section, {}))
        for section, items in document.get("components", {}).items():
            merged.setdefault("components", {}).setdefault(section, {}).update(items)
    return _complete_from_the_contract(merged)


#: AsyncAPI 3.0: keys of components (and so of the channels, operations and messages
#: that refer to them) must match this.
COMPONENT_KEY = re.compile(r"^[a-zA-Z0-9\.\-_]+$")


def _key(name: str) -> str:
    return name.replace(":", ".")


def message_key(model: type[Any]) -> str:
    from events.envelope import identity_of

    event_type, version, _ = identity_of(model)
    return f"{event_type}.v{version}"


def _message(model: type[Any]) -> dict[str, Any]:
    """The AsyncAPI message of one event: its envelope, its Kafka headers and key."""
    from events.envelope import identity_of

    event_type, version, _ = identity_of(model)
    uuid_text = {"type": "string", "format": "uuid"}
    return {
        "name": event_type,
        "title": f"{event_type} v{version}",
        "summary": (model.__doc__ or "").strip().split("\n\n")[0].replace("\n", " "),
        "contentType": "application/json",
        "payload": {"$ref": f"#/components/schemas/{model.__name__}"},
        "headers": {
            "type": "object",
            "description": "Kafka record headers (UTF-8 strings), repeating envelope fields "
            "so that a consumer can route, skip or deduplicate without parsing the value.",
            "required": [
                "content-type",
                "event_type",
                "schema_version",
                "event_id",
                "correlation_id",
            ],
            "properties": {
                "content-type": {"type": "string", "const": "application/json"},
                "event_type": {"type": "string", "const": event_type},
                "schema_version": {"type": "string", "const": str(version)},
                "event_id": uuid_text,
                "correlation_id": uuid_text,
            },
        },
        "correlationId": {
            "description": "The business flow this event belongs to (also in the envelope).",
            "location": "$message.header#/correlation_id",
        },
        "bindings": {
            "kafka": {
                "key": {
                    **uuid_text,
                    "description": "The envelope's aggregate_id: one aggregate's events "
                    "share a partition and keep their order.",
                },
                "bindingVersion": "0.5.0",
            }
        },
    }


#: The message of every dead-letter topic: a record a consumer set aside, as it arrived.
DEAD_LETTER_MESSAGE = "SetAsideRecord"


def _dead_letter_message() -> dict[str, Any]:
    text = {"type": "string"}
    return {
        "name": DEAD_LETTER_MESSAGE,
        "title": "A record set aside by a consumer",
        "summary": "The original record, key and value exactly as they arrived (any bytes: "
        "it may not be JSON at all), with why and where it was set aside in headers.",
        "payload": {"description": "The original record's value, unchanged."},
        "headers": {
            "type": "object",
            "description": "The dlq-* headers, then the original record's headers that are text.",
            "required": [
                "dlq-reason",
                "dlq-original-topic",
                "dlq-original-partition",
                "dlq-original-offset",
                "dlq-consumer",
            ],
            "properties": {
                "dlq-reason": {**text, "description": "The fields at fault, or the failure."},
                "dlq-original-topic": text,
                "dlq-original-partition": {**text, "pattern": "^[0-9]+$"},
                "dlq-original-offset": {**text, "pattern": "^[0-9]+$"},
                "dlq-consumer": {**text, "description": "The consuming service."},
            },
        },
        "bindings": {
            "kafka": {
                "key": {"description": "The original record's key, unchanged."},
                "bindingVersion": "0.5.0",
            }
        },
    }


def _complete_from_the_contract(document: dict[str, Any]) -> dict[str, Any]:
    """Say in the document what faststream (0.7) cannot express:

    - it keys channels, operations and messages `<title>:<address>:SubscribeMessage`,
      and AsyncAPI 3.0 forbids `:` in component keys: every `:` becomes `.`;
    - its messages know nothing of Kafka headers or keys: each event gets one message
      with its headers (so `correlationId`'s `$message.header#/correlation_id`
      resolves) and a Kafka binding declaring the key;
    - a subscriber whose handler takes the raw value (the inbox validates envelopes
      itself, to quarantine bad ones) is documented as binary: each consumer's
      operation instead references the events it accepts, read from the subscriber's
      description ("Consumes: A, B; ..."), which `runtime/kafka.py` writes from the
      same list the inbox uses;
    - the payload schemas are the contract's own (pydantic, serialization mode), so
      the document and `events/schemas/` say the same;
    - a dead-letter topic carries records as they arrived, not events: one message,
      `SetAsideRecord`, says so, with the headers that explain each record.
    """
    from pydantic.json_schema import models_json_schema

    from events.catalog import EVENT_MODELS, topic_of
    from events.topics import DEAD_LETTER_TOPICS

    by_name = {m.__name__: m for m in EVENT_MODELS}
    _, definitions = models_json_schema(
        [(m, "serialization") for m in EVENT_MODELS],
        ref_template="#/components/schemas/{model}",
    )
    document["components"] = {
        "schemas": dict(sorted(definitions["$defs"].items())),
        "messages": {
            **{message_key(m): _message(m) for m in EVENT_MODELS},
            DEAD_LETTER_MESSAGE: _dead_letter_message(),
        },
    }
    channels: dict[str, Any] = {}
    for old_key, channel in document["channels"].items():
        address = channel["address"]
        operation = next(
            op
            for op in document["operations"].values()
            if op["channel"]["$ref"].endswith(f"/{old_key}")
        )
        if operation["action"] == "send":
            models = [m for m in EVENT_MODELS if topic_of(m) == address]
        else:
            consumes = re.search(r"Consumes: ([^;]+);", channel.get("description", ""))
            names = consumes.group(1).split(", ") if consumes else []
            models = [by_name[n] for n in names if topic_of(by_name[n]) == address]
        channel["messages"] = {
            message_key(m): {"$ref": f"#/components/messages/{message_key(m)}"} for m in models
        }
        if address in DEAD_LETTER_TOPICS:
            ref = {"$ref": f"#/components/messages/{DEAD_LETTER_MESSAGE}"}
            channel["messages"] = {DEAD_LETTER_MESSAGE: ref}
        channels[_key(old_key)] = channel
    operations: dict[str, Any] = {}
    for old_key, operation in document["operations"].items():
        channel_key = _key(operation["channel"]["$ref"].removeprefix("#/channels/"))
        operation["channel"] = {"$ref": f"#/channels/{channel_key}"}
        operation["messages"] = [
            {"$ref": f"#/channels/{channel_key}/messages/{name}"}
            for name in channels[channel_key]["messages"]
        ]
        operations[_key(old_key).removesuffix("Subscribe")] = operation
    document["channels"] = channels
    document["operations"] = operations
    return document


#: Who caused each golden sample (the rest were caused by their producer, the system).
_GOLDEN_ACTORS: dict[str, dict[str, Any]] = {
    "CohortOpened": {"kind": "staff", "id": "staff-001", "role": "admin"},
    "CohortRulesRevised": {"kind": "staff", "id": "staff-001", "role": "admin"},
    "ApplicantPreregistered": {"kind": "applicant"},
    "ApplicantRegistered": {"kind": "applicant"},
    "DocumentsSubmitted": {"kind": "applicant"},
    "ApplicantDetailsAmended": {"kind": "staff", "id": "staff-017", "role": "admin"},
    "InquiryAnswered": {"kind": "staff", "id": "staff-017", "role": "admin"},
    "InterviewPassed": {"kind": "staff", "id": "staff-017", "role": "interviewer"},
    "InterviewFailed": {"kind": "staff", "id": "staff-017", "role": "interviewer"},
    "DocumentReviewed": {"kind": "staff", "id": "staff-011", "role": "screener"},
    "DocumentRequested": {"kind": "staff", "id": "staff-011", "role": "screener"},
    "InterviewScheduled": {"kind": "staff", "id": "staff-011", "role": "screener"},
    "InterviewRescheduled": {"kind": "staff", "id": "staff-011", "role": "screener"},
    "InterviewCancelled": {"kind": "staff", "id": "staff-011", "role": "screener"},
    "InterviewMissed": {"kind": "staff", "id": "staff-017", "role": "interviewer"},
    "InterviewRecordCorrected": {"kind": "staff", "id": "staff-001", "role": "admin"},
    "CandidateSelected": {"kind": "staff", "id": "staff-001", "role": "admin"},
    "ApplicantRejected": {"kind": "system", "id": "screening"},
    "MatchConfirmed": {"kind": "company", "id": "company-user-42"},
    "CandidateWithdrawn": {"kind": "applicant"},
    "AgreementSignatureRecorded": {"kind": "applicant"},
    "AgreementSigned": {"kind": "company", "id": "company-user-42"},
    "CompanyRegistered": {"kind": "company", "id": "company-user-42"},
    "CompanyRefused": {"kind": "staff", "id": "staff-017", "role": "matcher"},
    "CandidatePreferencesStated": {"kind": "staff", "id": "staff-017", "role": "matcher"},
    "CompanyPreferencesStated": {"kind": "company", "id": "company-user-42"},
    "MatchingRoundCompleted": {"kind": "staff", "id": "staff-017", "role": "matcher"},
    "MatchProposed": {"kind": "staff", "id": "staff-017", "role": "matcher"},
    "MatchDeclined": {"kind": "company", "id": "company-user-7"},
    "ProposalWithdrawn": {"kind": "system", "id": "matching"},
    "ProcessingRestricted": {"kind": "staff", "id": "staff-023", "role": "privacy_officer"},
    "SubjectErased": {"kind": "staff", "id": "staff-023", "role": "privacy_officer"},
    "PrivacyRequestAnswered": {"kind": "staff", "id": "staff-023", "role": "privacy_officer"},
}


def golden_samples() -> dict[str, str]:
    """File name -> text of each golden sample, rendered by the relay's own code.

    The samples' stories (ids, times, payloads) are curated in `events/golden/`; what
    the code derives is derived here, as the relay does it: `envelope_for` gives the
    event id and the actor from a stored event standing in for the service's, and
    `link` chains the samples of one aggregate from one producer in version order.
    So a change to the derivation shows up as a stale sample."""
    from types import SimpleNamespace

    from events.catalog import CATALOG
    from runtime.relay import envelope_for, link

    samples = [json.loads(p.read_text()) for p in sorted(GOLDEN_DIR.glob("*.json"))]
    samples.sort(key=lambda s: (s["producer"], s["aggregate_id"], s["aggregate_version"]))
    texts: dict[str, str] = {}
    last: dict[tuple[str, str], str] = {}
    for sample in samples:
        model = CATALOG[(sample["event_type"], sample["schema_version"])]
        actor = dict(_GOLDEN_ACTORS.get(sample["event_type"], {})) or None
        if actor is not None:
            actor.setdefault("id", sample["payload"].get("applicant_id"))
            if actor["kind"] == "company":
                actor["company_id"] = sample["payload"]["company_id"]
        stored = SimpleNamespace(
            originator_id=uuid.UUID(sample["aggregate_id"]),
            originator_version=sample["aggregate_version"],
            timestamp=sample["occurred_at"],
            correlation_id=sample["correlation_id"],
            causation_id=sample["causation_id"],
            actor=actor,
        )
        stream = (sample["producer"], sample["aggregate_id"])
        envelope, last[stream] = link(
            envelope_for(model, stored, sample["payload"]), last.get(stream)
        )
        name = f"{sample['event_type']}.v{sample['schema_version']}.json"
        texts[name] = json.dumps(envelope.model_dump(mode="json"), indent=2, ensure_ascii=False)
        texts[name] += "\n"
    return texts


def _dump(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def expected_files() -> dict[Path, str]:
    files = {SCHEMAS_DIR / name: _dump(schema) for name, schema in json_schemas().items()}
    files.update({SCHEMAS_DIR / name: _dump(schema) for name, schema in report_schemas().items()})
    files[ASYNCAPI_FILE] = _dump(asyncapi_document())
    files.update({GOLDEN_DIR / name: text for name, text in golden_samples().items()})
    return files


def write() -> list[Path]:
    """Rewrite the documents; returns the files whose content changed."""
    SCHEMAS_DIR.mkdir(parents=True, exist_ok=True)
    changed = []
    for path, text in expected_files().items():
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            changed.append(path)
    return changed
