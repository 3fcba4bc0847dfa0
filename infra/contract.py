"""The published contract documents, generated from the code that implements them:

- `events/schemas/<EventType>.v<N>.json`: a JSON Schema per integration event;
- `events/asyncapi.json`: the AsyncAPI document of every service's topics, built from
  the faststream brokers the services really run (their `MESSAGING.declare`).

`python -m infra contract` rewrites them; a unit test fails when they are stale, so a
change to the contract is always visible in review as a change to these files.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from infra.services import SERVICES
from infra.settings import REPO_ROOT

SCHEMAS_DIR = REPO_ROOT / "events" / "schemas"
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


def asyncapi_document() -> dict[str, Any]:
    """One AsyncAPI 3.0 document for the whole backbone, merged from each service's
    broker declaration (built without connecting to anything)."""
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
            "aggregate_id, aggregate_version, correlation_id, causation_id, payload), keyed "
            "by aggregate id.",
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
    return merged


def _dump(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def expected_files() -> dict[Path, str]:
    files = {SCHEMAS_DIR / name: _dump(schema) for name, schema in json_schemas().items()}
    files[ASYNCAPI_FILE] = _dump(asyncapi_document())
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
