"""A policy and an HTTP command that change the same record at once, on the real
PostgreSQL: the inbox has the policy decide again on the current state, both changes
stand, and the log says so quietly (a conflict resolved by a retry is not an error)."""

import json
import logging
import uuid
from collections.abc import Iterator

import pytest
from eventsourcing.application import ProcessingEvent
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError, Tracking

from events.catalog import parse_event
from events.registration import ApplicantPreregistered
from infra import InfraSettings, postgres
from runtime.application import ServiceApplication
from runtime.inbox import Inbox, Outcome, ReceivedRecord
from tests.integration.test_followers import env
from tests.support import database_of

GOLDEN = open("events/golden/ApplicantPreregistered.v1.json").read()  # noqa: SIM115


class Case(Aggregate):
    @event("Opened")
    def __init__(self) -> None:
        self.notes: list[str] = []

    @event("Noted")
    def note(self, text: str) -> None:
        self.notes.append(text)


class CaseApplication(ServiceApplication):
    """Notes each consumed event on one case; `meanwhile` plays an office clerk who
    saves the same case between the policy's read and its save."""

    name = "conflict_probe"
    case_id: uuid.UUID
    meanwhile: list[str]

    def policy(self, envelope, processing_event: ProcessingEvent) -> None:
        case = self.repository.get(self.case_id)
        if self.meanwhile:
            clerk = self.repository.get(self.case_id)
            clerk.note(self.meanwhile.pop())
            self.save(clerk)
        case.note(str(envelope.event_id))
        processing_event.collect_events(case)


@pytest.fixture
def app(infra: InfraSettings) -> Iterator[CaseApplication]:
    database = database_of("conflicts")
    postgres.drop_database(infra, database)
    postgres.ensure_database(infra, database)
    application = CaseApplication(env(infra, database))
    case = Case()
    application.save(case)
    application.case_id = case.id
    yield application
    application.close()


def an_event() -> bytes:
    return json.dumps({**json.loads(GOLDEN), "event_id": str(uuid.uuid4())}).encode()


def test_a_policy_that_meets_a_concurrent_change_decides_again_quietly(app, caplog):
    value = an_event()
    app.meanwhile = ["noted by the office"]
    inbox = Inbox(app, accepts=(ApplicantPreregistered,))
    with caplog.at_level(logging.DEBUG):
        outcome = inbox.receive(ReceivedRecord("jip.registration.v1", 0, 0, value))
    assert outcome is Outcome.PROCESSED
    case = app.repository.get(app.case_id)
    event_id = str(parse_event(value).event_id)
    assert case.notes == ["noted by the office", event_id], "both changes stand"
    assert app.recorder.max_tracking_id("kafka:jip.registration.v1:0") == 1
    assert [r.levelname for r in caplog.records if "conflict" in r.getMessage()] == ["INFO"]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_position_already_recorded_is_not_retried_but_left_to_the_inbox(app):
    app.meanwhile = []
    app.process_event(parse_event(an_event()), Tracking("kafka:jip.registration.v1:1", 5))
    with pytest.raises(IntegrityError):
        app.process_event(parse_event(an_event()), Tracking("kafka:jip.registration.v1:1", 5))
    assert len(app.repository.get(app.case_id).notes) == 1
