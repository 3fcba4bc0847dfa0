"""What a benchmark run measured, and how it is kept: one JSON file per run under
bench/results/, named by commit and time, holding the commit, the machine, the
parameters and every figure with the limit it is compared with in the same run."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Figure:
    """One figure measured in a run (a rate, or a latency), beside the bare limit it is
    compared with -- measured in the same run, on the same kind of records -- and the
    issue's target. `ratio` is value / limit."""

    scenario: str
    subject: str
    value: float
    unit: str
    #: What bounds the subject: e.g. "bare aiokafka read + parse_event".
    limit: str | None = None
    limit_value: float | None = None
    target: str | None = None
    #: Finished within the scenario's time limit? (Otherwise a rate is over what was
    #: done in that time.)
    complete: bool = True
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def rate(
        cls, scenario: str, subject: str, count: int, seconds: float, unit: str, **kwargs: Any
    ) -> Figure:
        figure = cls(scenario, subject, count / seconds if seconds > 0 else 0.0, unit, **kwargs)
        figure.details = {"count": count, "seconds": round(seconds, 3), **figure.details}
        return figure

    @property
    def ratio(self) -> float | None:
        if not self.limit_value:
            return None
        return self.value / self.limit_value

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["value"] = round(self.value, 2)
        if self.limit_value is not None:
            data["limit_value"] = round(self.limit_value, 2)
        data["ratio"] = None if self.ratio is None else round(self.ratio, 4)
        return data


def git_commit() -> str:
    """The short commit, with "-dirty" when the work tree has uncommitted changes."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return commit + ("-dirty" if dirty else "")


def machine() -> dict[str, Any]:
    memory_gib = None
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory_gib = round(pages / 2**30, 1)
    except (ValueError, OSError):
        pass
    return {
        "cores": os.cpu_count(),
        "memory_gib": memory_gib,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


@dataclass
class Run:
    parameters: dict[str, Any]
    commit: str = field(default_factory=git_commit)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    machine: dict[str, Any] = field(default_factory=machine)
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "commit": self.commit,
            "started_at": self.started_at.isoformat(),
            "machine": self.machine,
            "parameters": self.parameters,
            "figures": [f.to_json() for f in self.figures],
            "notes": self.notes,
        }

    def write(self, directory: Path = RESULTS_DIR) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        stamp = self.started_at.strftime("%Y%m%dT%H%M%SZ")
        path = directory / f"{self.commit}-{stamp}.json"
        path.write_text(json.dumps(self.to_json(), indent=2, default=str) + "\n")
        return path
