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
