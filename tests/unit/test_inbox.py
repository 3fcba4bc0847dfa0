"""The inbox's own rules, with the event store in memory: which headers it refuses, and
that a chunk's unit of work is seen by the chunk's own policies only."""

from __future__ import annotations

import threading
import uuid

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from runtime.application import ServiceApplication
from runtime.inbox import describe_headers

IN_MEMORY = {"PERSISTENCE_MODULE": "eventsourcing.popo"}


def test_headers_are_refused_only_when_a_value_is_null_or_not_text() -> None:
    assert describe_headers([("event_type", b"ApplicantRegistered"), ("empty", b"")]) is None
    assert describe_headers([("event_id", None), ("event_type", b"\xc3\x28")]) == (
        "header 'event_id': no value (null); header 'event_type': not UTF-8 text"
    )


def test_what_a_chunk_changed_is_seen_by_its_later_records_and_by_no_other_thread() -> None:
    app = ServiceApplication(IN_MEMORY)
    created = Aggregate()
    seen_elsewhere: list[bool] = []

    def look_from_another_thread() -> None:
        try:
            app.repository.get(created.id)
            seen_elsewhere.append(True)
        except AggregateNotFoundError:
            seen_elsewhere.append(False)

    with app.repository.unit_of_work() as unit:
        unit.aggregates[created.id] = created
        assert app.repository.get(created.id) is created
        other = threading.Thread(target=look_from_another_thread)
        other.start()
        other.join()
    assert seen_elsewhere == [False]
    assert app.find(created.id, Aggregate) is None, "nothing recorded: the unit was not saved"


def test_an_aggregate_not_found_in_a_chunk_is_not_looked_up_again() -> None:
    app = ServiceApplication(IN_MEMORY)
    missing = uuid.uuid4()
    with app.repository.unit_of_work() as unit:
        assert app.find(missing, Aggregate) is None
        assert unit.aggregates == {missing: None}
        later = Aggregate()
        unit.aggregates[missing] = later  # created by a later record of the chunk
        assert app.find(missing, Aggregate) is later
