"""The calls for applicants the program has made, as presets of registration's
`POST /cohorts` body: `fy2025` and `fy2021`. The demo and the tests open cohorts from
them (with their dates moved where a test needs applications open now)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PRESETS = ("fy2025", "fy2021")


def _without_comments(value: Any) -> Any:
    # "$comment" (JSON Schema's convention) says why in the files; the API refuses
    # fields it does not know, so the comments stay here.
    if isinstance(value, dict):
        return {k: _without_comments(v) for k, v in value.items() if k != "$comment"}
    if isinstance(value, list):
        return [_without_comments(v) for v in value]
    return value


def preset(name: str) -> dict[str, Any]:
    """The body of `POST /cohorts` that opens the call `name` (e.g. "fy2025")."""
    if name not in PRESETS:
        raise KeyError(f"no cohort preset {name!r}; known: {', '.join(PRESETS)}")
    text = (Path(__file__).parent / f"{name}.json").read_text(encoding="utf-8")
    spec: dict[str, Any] = _without_comments(json.loads(text))
    return spec
