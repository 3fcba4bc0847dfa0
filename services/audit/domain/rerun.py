"""Re-running a matching round from the inputs its event recorded.

Written apart from matching's own solver, on purpose: an audit that re-ran the same code
would only prove the code deterministic. This is a plain, unoptimised statement of
candidate-proposing deferred acceptance with capacities (Gale and Shapley; Roth's
hospitals/residents): each free candidate proposes to the best host that has not yet
refused them; each host keeps its best `capacity` proposers and refuses the rest. With
strict preferences the result is the candidate-optimal stable matching, which is unique,
so any correct implementation finds the same one from the same inputs; a difference
means the round did not apply the algorithm it names to the inputs it recorded.

The digest is recomputed by the round's published rule (`inputs_digest`: SHA-256 of the
inputs as canonical JSON: candidates and hosts sorted by id, keys sorted, no spaces,
ASCII), so it also shows that the inputs shown are the inputs that were solved.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

#: The algorithms this re-run knows, by the name and version a round records.
KNOWN_ALGORITHMS: Final = {("deferred-acceptance/candidate-proposing", 1)}


def inputs_digest(inputs: Mapping[str, Any]) -> str:
    candidates = sorted(inputs.get("candidates") or [], key=lambda c: str(c["id"]))
    hosts = sorted(inputs.get("hosts") or [], key=lambda h: str(h["id"]))
    canonical = {
        "candidates": [{"id": c["id"], "preferences": c["preferences"]} for c in candidates],
        "hosts": [
            {"id": h["id"], "capacity": h["capacity"], "preferences": h["preferences"]}
            for h in hosts
        ],
    }
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("ascii")).hexdigest()


def deferred_acceptance(inputs: Mapping[str, Any]) -> dict[str, str]:
    """candidate id -> host id of the candidate-optimal stable matching. A pair counts
    only if each side lists the other."""
    preferences = {str(c["id"]): [str(h) for h in c["preferences"]] for c in inputs["candidates"]}
    capacity = {str(h["id"]): int(h["capacity"]) for h in inputs["hosts"]}
    rank = {
        str(h["id"]): {str(c): i for i, c in enumerate(h["preferences"])} for h in inputs["hosts"]
    }
    next_choice = dict.fromkeys(preferences, 0)
    held: dict[str, list[str]] = {h: [] for h in capacity}
    free = deque(sorted(preferences))
    while free:
        candidate = free.popleft()
        choices = preferences[candidate]
        while next_choice[candidate] < len(choices):
            host = choices[next_choice[candidate]]
            next_choice[candidate] += 1
            if host not in rank or candidate not in rank[host] or capacity[host] == 0:
                continue  # not acceptable to the host: on to the next choice
            held[host].append(candidate)
            if len(held[host]) <= capacity[host]:
                break
            worst = max(held[host], key=rank[host].__getitem__)
            held[host].remove(worst)
            if worst != candidate:
                free.append(worst)
                break
    return {c: h for h, cs in held.items() for c in cs}


def blocking_pairs(inputs: Mapping[str, Any], matching: Mapping[str, str]) -> int:
    """Acceptable pairs that would both rather have each other than what they got."""
    capacity = {str(h["id"]): int(h["capacity"]) for h in inputs["hosts"]}
    rank = {
        str(h["id"]): {str(c): i for i, c in enumerate(h["preferences"])} for h in inputs["hosts"]
    }
    taken: dict[str, list[str]] = {h: [] for h in capacity}
    for c, h in matching.items():
        taken.setdefault(h, []).append(c)
    count = 0
    for candidate in inputs["candidates"]:
        c = str(candidate["id"])
        choices = [str(h) for h in candidate["preferences"]]
        mine = matching.get(c)
        better = choices[: choices.index(mine)] if mine in choices else choices
        for h in better:
            if h not in rank or c not in rank[h]:
                continue
            if len(taken[h]) < capacity[h] or any(rank[h][c] < rank[h][o] for o in taken[h]):
                count += 1
    return count


@dataclass(frozen=True)
class Rerun:
    """A round solved again from its recorded inputs, beside what it recorded."""

    algorithm: str
    version: int
    known_algorithm: bool
    recorded_digest: str
    digest: str
    recorded: dict[str, str]
    rerun: dict[str, str]
    blocking_pairs: int

    @property
    def digest_matches(self) -> bool:
        return self.digest == self.recorded_digest

    @property
    def same_result(self) -> bool:
        return self.known_algorithm and self.rerun == self.recorded

    @property
    def differences(self) -> list[dict[str, str | None]]:
        """Each candidate placed differently: what the round recorded, what the re-run
        found."""
        candidates = sorted(set(self.recorded) | set(self.rerun))
        return [
            {"applicant_id": c, "recorded": self.recorded.get(c), "rerun": self.rerun.get(c)}
            for c in candidates
            if self.recorded.get(c) != self.rerun.get(c)
        ]

    @property
    def confirmed(self) -> bool:
        """The inputs are those solved, and solving them again gives the same matching,
        which is stable."""
        return self.digest_matches and self.same_result and self.blocking_pairs == 0


#: The recomputed digest of a round whose recorded inputs or matches cannot be read (a
#: record that breaks the contract, which the audit keeps all the same): it matches no
#: recorded digest, so the round is not confirmed.
UNREADABLE: Final = "the recorded inputs cannot be read"


def rerun_round(payload: Mapping[str, Any]) -> Rerun:
    """Re-run a `MatchingRoundCompleted` payload's inputs with the algorithm it names."""
    algorithm = payload.get("algorithm")
    algorithm = algorithm if isinstance(algorithm, Mapping) else {}
    name = str(algorithm.get("id"))
    try:
        version = int(algorithm.get("version", 0))
    except (TypeError, ValueError):
        version = 0
    known = (name, version) in KNOWN_ALGORITHMS
    recorded_digest = str(payload.get("inputs_digest"))
    try:
        inputs = payload["inputs"]
        recorded = {
            str(m["applicant_id"]): str(m["company_id"]) for m in payload.get("matches") or ()
        }
        return Rerun(
            algorithm=name,
            version=version,
            known_algorithm=known,
            recorded_digest=recorded_digest,
            digest=inputs_digest(inputs),
            recorded=recorded,
            rerun=deferred_acceptance(inputs) if known else {},
            blocking_pairs=blocking_pairs(inputs, recorded),
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        return Rerun(name, version, known, recorded_digest, UNREADABLE, {}, {}, 0)
