"""Tamper evidence: each published event names the hash of the previous published event
of the same aggregate from the same producer (`previous_hash`), so a consumer can tell
a missing, reordered or altered event from the ordinary gaps in `aggregate_version`
(a producer's internal events are never published, so versions on Kafka skip numbers).

**Canonical form** of an envelope, the bytes that are hashed: the envelope as the JSON
object published on Kafka (every field, including its own `previous_hash`), written
per RFC 8785 (JSON Canonicalization Scheme) for the values the contract uses:

- object members sorted by name (the contract's names are ASCII, so code-point order
  is UTF-16 order), no whitespace between tokens, arrays in their order;
- strings as JSON strings, UTF-8, escaping only `"`, `\\` and control characters
  (`\\b \\t \\n \\f \\r`, others as `\\u00xx` in lower-case hex); nothing else escaped;
- `true`, `false`, `null`; integers in decimal; the contract's few non-integers (an
  IELTS score) are multiples of 0.5 and written in their shortest form (`6.5`), and an
  integral number as an integer (`7`, never `7.0`), as JCS does.

The hash is the SHA-256 of those bytes, written as 64 lower-case hex digits. Any
language with a JCS library (or the three rules above) reproduces it from the record's
value without knowing the event's model.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from events.envelope import derive_event_id


def _jcs_value(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        if abs(value) >= 2**53:
            # JCS writes numbers as IEEE doubles; the contract's integers stay below.
            raise ValueError(f"{value} is outside the contract's number space")
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("NaN and infinity have no JSON form")
        if value.is_integer() and abs(value) < 2**53:
            return int(value)
        if not 1e-6 <= abs(value) < 1e21:
            # JCS writes these with an exponent; the contract has no such numbers.
            raise ValueError(f"{value!r} is outside the contract's number space")
        return value  # repr() is the shortest round-trip form, as in ECMAScript
    if isinstance(value, Mapping):
        return {str(k): _jcs_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jcs_value(v) for v in value]
    raise TypeError(f"{type(value).__name__} is not a JSON value")


def canonical_bytes(envelope_json: Mapping[str, Any]) -> bytes:
    """The canonical form (see the module's docstring) of an envelope read as JSON."""
    text = json.dumps(
        _jcs_value(envelope_json),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    return text.encode("utf-8")


def event_hash(envelope_json: Mapping[str, Any]) -> str:
    """SHA-256, in hex, of an envelope's canonical form: what the next published event of
    the same aggregate carries as `previous_hash`."""
    return hashlib.sha256(canonical_bytes(envelope_json)).hexdigest()


BreakKind = Literal["altered", "reordered", "missing_or_altered", "unexpected_start"]


@dataclass(frozen=True)
class ChainBreak:
    """The first place where one aggregate's events do not chain.

    `position` is the index (in the sequence given) of the first event that does not
    follow what came before it. `kind`:
    - `altered`: the event at `position` was changed (its id no longer matches its
      producer, type, aggregate and version, or it repeats an earlier event's id with
      different content);
    - `reordered`: it names as its predecessor an event that comes later in the sequence
      (or its version does not increase);
    - `missing_or_altered`: it names a predecessor that is not the event before it:
      events between `position - 1` and `position` are missing, or the one at
      `position - 1` was altered (a hash cannot tell which);
    - `unexpected_start`: the first event does not continue from where the consumer
      said the aggregate stood (`previous_hash` argument).
    """

    position: int
    kind: BreakKind
    detail: str


def verify_chain(
    envelopes: Sequence[Mapping[str, Any]], *, previous_hash: str | None = None
) -> ChainBreak | None:
    """Check one aggregate's events from one producer, in the order they were read.

    `previous_hash` is the hash of the last event already verified before these (None
    when the sequence starts at the aggregate's first published event). A record read
    twice (the producer re-published it) is recognised by its `event_id` and skipped.
    Returns None when the chain holds, else the first break.

    The chain proves that nothing is missing *between* events; that nothing follows the
    last one read is known only when a later event arrives.
    """
    expected = previous_hash
    last_version = 0
    seen: dict[str, str] = {}  # event_id -> hash
    hashes = [event_hash(e) for e in envelopes]
    for position, (envelope, digest) in enumerate(zip(envelopes, hashes, strict=True)):
        event_id = str(envelope.get("event_id"))
        if event_id in seen:
            if seen[event_id] == digest:
                continue  # the same event re-published
            return ChainBreak(position, "altered", "repeats an earlier event_id with other content")
        derived = derive_event_id(
            str(envelope.get("producer")),
            str(envelope.get("event_type")),
            uuid.UUID(str(envelope.get("aggregate_id"))),
            int(envelope.get("aggregate_version", 0)),
        )
        if str(derived) != event_id:
            return ChainBreak(
                position, "altered", "event_id does not match its producer, type and position"
            )
        claimed = envelope.get("previous_hash")
        if claimed != expected:
            later = [i for i in range(position + 1, len(envelopes)) if hashes[i] == claimed]
            if later:
                return ChainBreak(
                    position, "reordered", f"should come after the event at position {later[0]}"
                )
            if position == 0:
                return ChainBreak(
                    position, "unexpected_start", "does not continue from the given hash"
                )
            return ChainBreak(
                position,
                "missing_or_altered",
                f"does not follow the event at position {position - 1}: events between "
                "them are missing, or that event was altered",
            )
        version = int(envelope.get("aggregate_version", 0))
        if version <= last_version:
            return ChainBreak(position, "reordered", "its aggregate_version does not increase")
        last_version = version
        seen[event_id] = digest
        expected = digest
    return None


def chain_breaks(
    envelopes: Sequence[Mapping[str, Any]], hashes: Sequence[str] | None = None
) -> list[ChainBreak]:
    """Every break in one aggregate's events from one producer, in the order read from
    the aggregate's first published event (not only the first, as `verify_chain`).

    After a break the walk goes on from the event that broke it (its hash is what the
    next one should name; an event read after a later one is passed over), so one
    missing event is one break, a swapped pair is two (each `reordered`), and a forged
    copy of an event (its id with other content) is reported and otherwise passed over:
    the events after it still chain to the original.

    `hashes`, when given, are the envelopes' `event_hash`es, computed by the caller from
    the whole envelopes: `envelopes` may then be their headers only (the fields named
    here and `previous_hash`), which is how the verifier keeps a long log in memory.
    """
    breaks: list[ChainBreak] = []
    expected: str | None = None
    last_version = 0
    seen: dict[str, str] = {}
    if hashes is None:
        hashes = [event_hash(e) for e in envelopes]
    for position, (envelope, digest) in enumerate(zip(envelopes, hashes, strict=True)):
        event_id = str(envelope.get("event_id"))
        if event_id in seen:
            if seen[event_id] != digest:
                breaks.append(
                    ChainBreak(position, "altered", "a copy of an earlier event with other content")
                )
            continue
        version = int(envelope.get("aggregate_version", 0))
        derived = derive_event_id(
            str(envelope.get("producer")),
            str(envelope.get("event_type")),
            uuid.UUID(str(envelope.get("aggregate_id"))),
            version,
        )
        claimed = envelope.get("previous_hash")
        if str(derived) != event_id:
            breaks.append(
                ChainBreak(
                    position, "altered", "event_id does not match its producer, type and position"
                )
            )
            seen[event_id] = expected = digest
            continue  # its version is not to be trusted: the next event is judged by hash
        elif version <= last_version:
            breaks.append(
                ChainBreak(position, "reordered", "comes after a later event of its aggregate")
            )
            seen[event_id] = digest
            continue  # the chain goes on from the later event, which was read first
        elif claimed != expected:
            later = [i for i in range(position + 1, len(envelopes)) if hashes[i] == claimed]
            if later:
                breaks.append(
                    ChainBreak(
                        position, "reordered", f"should come after the event at position {later[0]}"
                    )
                )
            elif expected is None and position == 0:
                breaks.append(
                    ChainBreak(
                        position,
                        "unexpected_start",
                        "names a predecessor, but it is the first event read: earlier "
                        "events are missing",
                    )
                )
            else:
                breaks.append(
                    ChainBreak(
                        position,
                        "missing_or_altered",
                        "does not follow the event before it: events between them are "
                        "missing, or that event was altered",
                    )
                )
        seen[event_id] = digest
        expected = digest
        last_version = max(last_version, version)
    return breaks
