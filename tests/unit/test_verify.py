"""The verifier keeps each record read as its header and its hash only, and finds on
that exactly what the chain finds on whole envelopes."""

import json

from events.chain import chain_breaks
from runtime.verify import TopicRecord, verify_records
from tests.unit.test_chain import chained


def records(envelopes: list[dict]) -> list[TopicRecord]:
    return [
        TopicRecord.read("jip.test.v1", 0, offset, json.dumps(e).encode())
        for offset, e in enumerate(envelopes)
    ]


def test_a_record_read_keeps_no_payload_but_the_hash_of_the_whole_envelope():
    e = chained(2)
    [first, second] = records(e)
    assert first.header is not None and "payload" not in first.header
    assert second.header is not None and second.header["previous_hash"] == first.digest
    # The payload still counts: another payload, another hash.
    [other] = records([{**e[0], "payload": {"n": 99}}])
    assert other.header == first.header and other.digest != first.digest


def test_the_findings_on_headers_are_those_on_whole_envelopes():
    e = chained(6)
    forged = {**e[1], "payload": {"n": 99}}
    changed = {**e[2], "payload": {"n": -3}}
    moved = {**e[2], "aggregate_version": 9}
    for sequence in (
        e,
        [e[0], e[2], e[3], e[5]],
        [e[0], e[2], e[1], e[3], e[4], e[5]],
        [e[0], e[1], forged, *e[2:]],
        [e[0], e[1], moved, e[3]],
        [e[0], e[1], changed, e[3]],
        e[2:],
    ):
        expected = [
            (f"jip.test.v1:0:{b.position}", b.kind, sequence[b.position]["event_id"])
            for b in chain_breaks(sequence)
        ]
        found = [(f.where, f.kind, f.event_id) for f in verify_records(records(sequence))]
        assert found == expected


def test_a_record_that_is_not_an_envelope_is_named_unreadable():
    e = chained(1)
    garbage = [b"not json", b"[1, 2]", json.dumps({"event_id": "x"}).encode()]
    read = [TopicRecord.read("jip.test.v1", 0, i, v) for i, v in enumerate(garbage)]
    read += records(e)
    found = verify_records(read)
    assert [(f.kind, f.where) for f in found] == [
        ("unreadable", f"jip.test.v1:0:{i}") for i in range(3)
    ]
