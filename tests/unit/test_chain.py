"""The canonical form and the chain verifier, as a subscriber in any language would
reproduce them from the documentation in `events/chain.py`."""

import hashlib
import json
from pathlib import Path

import pytest

from events.chain import canonical_bytes, event_hash, verify_chain

GOLDEN = Path(__file__).resolve().parents[2] / "events" / "golden"


def test_the_canonical_form_is_sorted_compact_utf8_json_with_integral_numbers_as_integers():
    value = {"b": [1, 7.0, 6.5, None, True], "a": {"z": '日本\n"x"\u0001', "y": False}}
    assert canonical_bytes(value) == (
        '{"a":{"y":false,"z":"日本\\n\\"x\\"\\u0001"},"b":[1,7,6.5,null,true]}'.encode()
    )


def test_the_hash_is_the_sha256_of_the_canonical_form_whatever_the_json_layout():
    sample = json.loads((GOLDEN / "ApplicantRegistered.v1.json").read_text())
    relaid = json.loads(json.dumps(sample, indent=4, ensure_ascii=True))
    assert event_hash(relaid) == hashlib.sha256(canonical_bytes(sample)).hexdigest()


@pytest.mark.parametrize("number", [float("nan"), float("inf"), 1e21, 1e-7, 2**53])
def test_numbers_outside_the_contract_have_no_canonical_form(number):
    with pytest.raises(ValueError):
        canonical_bytes({"n": number})


def chain() -> list[dict]:
    names = ["ApplicantPreregistered", "ApplicantRegistered", "DocumentsSubmitted"]
    names.append("ApplicantDetailsAmended")
    return [json.loads((GOLDEN / f"{n}.v1.json").read_text()) for n in names]


def test_a_consumer_that_starts_mid_stream_continues_from_the_hash_it_verified_last():
    events = chain()
    assert verify_chain(events[2:], previous_hash=event_hash(events[1])) is None
    broken = verify_chain(events[2:])
    assert broken is not None and (broken.position, broken.kind) == (0, "unexpected_start")


def test_the_same_id_with_other_content_is_an_alteration_not_a_duplicate():
    events = chain()
    forged = {**events[1], "payload": {**events[1]["payload"], "given_name": "X"}}
    broken = verify_chain([*events, forged])
    assert broken is not None and (broken.position, broken.kind) == (4, "altered")


def chained(count: int) -> list[dict]:
    """`count` events of one aggregate, each chained to the one before (as a relay
    publishes them)."""
    import uuid

    from events.envelope import derive_event_id

    aggregate = str(uuid.uuid4())
    events: list[dict] = []
    for version in range(1, count + 1):
        event = {
            "event_id": str(derive_event_id("screening", "Step", uuid.UUID(aggregate), version)),
            "event_type": "Step",
            "producer": "screening",
            "aggregate_id": aggregate,
            "aggregate_version": version,
            "previous_hash": event_hash(events[-1]) if events else None,
            "payload": {"n": version},
        }
        events.append(event)
    return events


def kinds(breaks) -> list[tuple[int, str]]:
    return [(b.position, b.kind) for b in breaks]


def test_every_break_is_reported_not_only_the_first():
    from events.chain import chain_breaks

    e = chained(6)
    assert chain_breaks(e) == []
    assert chain_breaks([*e[:3], e[2], *e[3:]]) == [], "a re-published copy is no break"
    # Two missing events, far apart: two breaks.
    assert kinds(chain_breaks([e[0], e[2], e[3], e[5]])) == [
        (1, "missing_or_altered"),
        (3, "missing_or_altered"),
    ]
    # A swapped pair: both named; what follows chains on.
    assert kinds(chain_breaks([e[0], e[2], e[1], e[3], e[4], e[5]])) == [
        (1, "reordered"),
        (2, "reordered"),
    ]
    # A forged copy (an event's id with other content): named, and passed over.
    forged = {**e[1], "payload": {"n": 99}}
    assert kinds(chain_breaks([e[0], e[1], forged, *e[2:]])) == [(2, "altered")]
    # An event altered in place: its id no longer matches, and the next does not follow.
    moved = {**e[2], "aggregate_version": 9}
    assert kinds(chain_breaks([e[0], e[1], moved, e[3]])) == [
        (2, "altered"),
        (3, "missing_or_altered"),
    ]
    # Its content altered in place: the event after it no longer follows it.
    changed = {**e[2], "payload": {"n": -3}}
    assert kinds(chain_breaks([e[0], e[1], changed, e[3]])) == [(3, "missing_or_altered")]
    # Read from the middle without the hash before it: the start is named.
    assert kinds(chain_breaks(e[2:])) == [(0, "unexpected_start")]
