"""Event ids are unique across the whole backbone and every event is chained to the
previous one of its aggregate: proved on what the services' real translators and relay
publish, and on every event kind of the catalog with aggregate ids and versions that
collide across producers.

The story runs every service on the in-memory event store: one applicant goes from
pre-registration to a signed agreement, each service fed the envelopes the previous one
really published. Screening's case, matching's candidate and notifications' recipient
all reuse the applicant's id, which is what made ids collide before contract v1."""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events import registration as contract
from events import topics
from events.catalog import EVENT_MODELS, parse_event
from events.chain import event_hash, verify_chain
from events.envelope import Envelope, derive_event_id, identity_of
from kernel import actor as acting
from kernel.actor import applicant, staff
from runtime.inbox import Inbox, ReceivedRecord
from runtime.mail import Accepted, Refused, RetrySchedule
from runtime.relay import KafkaRelay, envelope_for
from services.matching.application.publishing import (
    to_integration_event as matching_translator,
)
from services.matching.application.service import MatchingApplication
from services.matching.domain.company import InternshipPlan
from services.notifications.application.publishing import (
    to_integration_event as notifications_translator,
)
from services.notifications.application.service import NotificationsApplication, OutgoingMail
from services.registration.application.publishing import (
    to_integration_event as registration_translator,
)
from services.screening.application.publishing import (
    to_integration_event as screening_translator,
)
from services.screening.application.service import ScreeningApplication
from tests.envelopes import golden
from tests.in_memory import personal_data_in_memory, registration_in_memory
from tests.screening_steps import accept_documents, hold_interviews, slot
from tests.unit.matching.test_company_registration import CONTACTS, a_registration

IN_MEMORY = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
OFFICE = staff("staff-017", "admin")
NOW = datetime(2025, 6, 1, 9, 30, tzinfo=UTC)
_offsets = itertools.count()


async def relayed(app: Any, translate: Any, topic: str) -> list[bytes]:
    """What the service's relay sends to Kafka, as the record values it sends (the
    relay's `send` is ours: here it keeps the values instead of producing them)."""
    values: list[bytes] = []

    async def keep(topic_: str, key: bytes, value: bytes, headers: dict[str, str]) -> Any:
        assert topic_ == topic and key == json.loads(value)["aggregate_id"].encode()
        values.append(value)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    relay = KafkaRelay(app, topic=topic, translate=translate, send=keep)
    while await relay.step():
        pass
    return values


def deliver(app: Any, accepts: tuple[type[Envelope[Any]], ...], values: Sequence[bytes]) -> None:
    inbox = Inbox(app, accepts=accepts)
    for value in values:
        inbox.receive(ReceivedRecord("jip.upstream.v1", 0, next(_offsets), value))


def of_type(values: Sequence[bytes], event_type: str) -> list[bytes]:
    return [v for v in values if json.loads(v)["event_type"] == event_type]


@pytest.fixture(scope="module")
async def published() -> dict[str, tuple[Any, Any, list[bytes]]]:
    """service -> (application, translator, what its relay published), for one
    applicant's whole story through all four services."""
    # One key store for the whole story, as every service reaches the same one: what
    # registration seals, the others open.
    vault = personal_data_in_memory()
    registration = registration_in_memory(clock=lambda: NOW, personal_data=vault)
    spec = contract.CohortOpenedPayload.model_validate(golden(contract.CohortOpened)["payload"])
    cohort = {
        **spec.model_dump(),
        "applications_open_at": spec.applications_open_at,
        "applications_close_at": spec.applications_close_at,
        "courses": [c.model_dump(mode="json") for c in spec.courses],
        "rules": spec.rules.model_dump(mode="json"),
    }
    registration.open_cohort(cohort, OFFICE, uuid.uuid4())
    applicant_id, _ = registration.preregister("FY2025", "linh@example.org", uuid.uuid4())
    details = {
        k: v
        for k, v in golden(contract.ApplicantRegistered)["payload"].items()
        if k
        not in {
            "applicant_id",
            "cohort_id",
            "email",
            "privacy_policy_consented_at",
            "age_on_reference_date",
        }
    }
    # As the applicant types them (the golden sample has them sealed).
    details |= {"given_name": "Linh", "family_name": "Nguyen", "date_of_birth": "2000-04-12"}
    token = registration.registration_link(applicant_id, 1)
    registration.register(token, {**details, "privacy_policy_consent": True}, uuid.uuid4())
    other_id, _ = registration.preregister("FY2025", "an@example.org", uuid.uuid4())
    token = registration.registration_link(other_id, 1)
    registration.register(token, {**details, "privacy_policy_consent": True}, uuid.uuid4())
    # A Chinese national, rejected for eligibility until the office corrects the
    # nationality (reopened); selected later, then found ineligible (referred).
    cn_id, _ = registration.preregister("FY2025", "wei@example.org", uuid.uuid4())
    token = registration.registration_link(cn_id, 1)
    registration.register(
        token, {**details, "nationality": "CN", "privacy_policy_consent": True}, uuid.uuid4()
    )
    registration.amend_details(cn_id, {"nationality": "VN"}, "Mistyped", OFFICE, uuid.uuid4())
    document = golden(contract.DocumentsSubmitted)["payload"]["documents"][0]
    document = {**document, "filename": "transcript.pdf"}
    registration.submit_documents(
        applicant_id, [document], {"kind": "applicant", "id": str(applicant_id)}, uuid.uuid4()
    )
    registration.amend_details(
        applicant_id, {"family_name": "Tran"}, "Name changed by marriage", OFFICE, uuid.uuid4()
    )
    inquiry = {
        "name": "Budi",
        "email": "budi@example.org",
        "country": "ID",
        "sender_kind": "individual",
        "inquiry_type": "eligibility",
        "text": "May I apply?",
        "privacy_policy_consent": True,
    }
    inquiry_id, _ = registration.receive_inquiry(inquiry, uuid.uuid4())
    revised = {**cohort["rules"], "rule_set_version": 2}
    registration.revise_cohort_rules("FY2025", revised, OFFICE, uuid.uuid4())
    registration.answer_inquiry(inquiry_id, "Yes.", OFFICE, uuid.uuid4())
    other = {"kind": "applicant", "id": str(other_id)}
    registration.make_privacy_request(
        other_id, "stop_third_party_provision", "subject", None, None, other, uuid.uuid4()
    )
    registration.make_privacy_request(
        other_id, "deletion", "privacy_officer", "passport seen", None, OFFICE, uuid.uuid4()
    )
    from_registration = await relayed(registration, registration_translator, topics.REGISTRATION)

    screening = ScreeningApplication(IN_MEMORY)
    deliver(screening, ScreeningApplication.consumed_event_types(), from_registration)
    screening.request_document(applicant_id, "resume", None, None, OFFICE)
    hold_interviews(screening, applicant_id, OFFICE, at=NOW)
    accept_documents(screening, other_id, OFFICE)
    moved = {"code": "applicant_request", "text": "Another day, please."}
    _, interview_id, _ = screening.schedule_interview(other_id, "first", slot("first"), OFFICE)
    screening.reschedule_interview(
        other_id, interview_id, slot("first", interviewer="staff-2"), moved, OFFICE
    )
    screening.cancel_interview(other_id, interview_id, moved, OFFICE)
    _, interview_id, _ = screening.schedule_interview(other_id, "first", slot("first"), OFFICE)
    screening.note_no_show(other_id, interview_id, OFFICE)
    hold_interviews(screening, other_id, OFFICE, ("first",), failing="first", at=NOW)
    [held, _] = screening.get_case(applicant_id).interviews
    why = vault.seal(applicant_id, "Typed a day late.")
    correction = {"interviewed_at": NOW - timedelta(days=1)}
    screening.correct_interview_record(applicant_id, uuid.UUID(held), correction, why, OFFICE)
    screening.select(applicant_id, None, OFFICE)
    hold_interviews(screening, cn_id, OFFICE, at=NOW)
    screening.select(cn_id, None, OFFICE)
    registration.amend_details(cn_id, {"nationality": "CN"}, "Mistyped again", OFFICE, uuid.uuid4())
    later = await relayed(registration, registration_translator, topics.REGISTRATION)
    deliver(screening, ScreeningApplication.consumed_event_types(), later)
    from_registration += later
    from_screening = await relayed(screening, screening_translator, topics.SCREENING)

    matching = MatchingApplication(IN_MEMORY, clock=lambda: NOW)
    deliver(matching, MatchingApplication.consumed_event_types(), from_registration)
    # The office's referral of the candidate found ineligible after selection comes
    # after the first round, so that it withdraws the proposal that round made.
    referral = of_type(from_screening, "CaseReferredToOffice")
    before = [v for v in from_screening if v not in referral]
    deliver(matching, MatchingApplication.consumed_event_types(), before)
    # Host companies accepted as SMEs, another refused (too large for its industry).
    open_plan = InternshipPlan("Front desk of a ryokan", {}, ("hospitality",))
    host = a_registration(cohort_id="FY2025", plan=open_plan)
    matching.register_company(host, CONTACTS, vault, OFFICE)
    second_host = a_registration(
        cohort_id="FY2025", corporate_number="1010001000006", plan=open_plan
    )
    matching.register_company(second_host, CONTACTS, vault, OFFICE)
    matching.register_company(
        a_registration(
            cohort_id="FY2025",
            corporate_number="5010001000002",
            regular_employees=900,
            capital_yen=900_000_000,
        ),
        CONTACTS,
        vault,
        OFFICE,
    )
    # Both sides' lists, a round, the held candidate's proposal withdrawn, a decline,
    # a second round, the company's confirmation.
    first, second = host.company_id, second_host.company_id
    matching.state_candidate_preferences(
        applicant_id, [first, second], "own_choice", applicant(applicant_id)
    )
    matching.state_candidate_preferences(cn_id, [second], "interests", OFFICE)
    matching.state_company_preferences(first, [applicant_id], OFFICE)
    matching.state_company_preferences(second, [cn_id, applicant_id], OFFICE)
    matching.run_round("FY2025", OFFICE)
    deliver(matching, MatchingApplication.consumed_event_types(), referral)
    company_user = acting.company_user("hr-1", first)
    matching.decide(applicant_id, first, "decline", company_user, reason_code="other")
    matching.run_round("FY2025", OFFICE)
    match, _ = matching.confirm_match(applicant_id, second, None, OFFICE)
    # Every party of the match's first agreement signs it, each as itself.
    agreement_id, parties = match.agreements(matching.agreement_structure_of(match))[0]
    signers = {
        "intern": applicant(applicant_id),
        "office": OFFICE,
        "company": acting.company_user("hr-2", second),
    }
    for party in parties:
        matching.sign_agreement(match.id, agreement_id, party, signers[party])
    matching.withdraw(cn_id, applicant(cn_id))
    from_matching = await relayed(matching, matching_translator, topics.MATCHING)

    notifications = NotificationsApplication(IN_MEMORY, personal_data=vault)
    deliver(
        notifications,
        NotificationsApplication.consumed_event_types(),
        from_registration + from_screening,
    )
    owed = notifications.notifications_of(applicant_id)
    for notification in owed:
        mail = notifications.mail_to_send(
            notification.id, NOW, "jip.example", timedelta(minutes=30)
        )
        if isinstance(mail, OutgoingMail):
            # The last message's address is refused by the mail server: NotificationFailed.
            refused = notification is owed[-1]
            outcome = Refused("recipient refused: SMTP 550") if refused else Accepted()
            notifications.record_delivery(mail, outcome, RetrySchedule())
    from_notifications = await relayed(
        notifications, notifications_translator, topics.NOTIFICATIONS
    )
    return {
        "registration": (registration, registration_translator, from_registration),
        "screening": (screening, screening_translator, from_screening),
        "matching": (matching, matching_translator, from_matching),
        "notifications": (notifications, notifications_translator, from_notifications),
    }


def all_values(published: dict[str, tuple[Any, Any, list[bytes]]]) -> list[bytes]:
    return [v for _, _, values in published.values() for v in values]


def test_the_story_publishes_every_event_kind_of_the_contract(published):
    kinds = {json.loads(v)["event_type"] for v in all_values(published)}
    assert kinds == {m.__name__ for m in EVENT_MODELS}


def test_no_two_published_events_share_an_id_though_producers_share_aggregate_ids(published):
    events = [json.loads(v) for v in all_values(published)]
    ids = [e["event_id"] for e in events]
    assert len(ids) == len(set(ids))
    # The collision that broke deduplication before: one aggregate id, version 1, in
    # several producers (applicant, screening case, candidate).
    firsts = defaultdict(set)
    for e in events:
        firsts[(e["aggregate_id"], e["aggregate_version"])].add(e["producer"])
    assert max(len(p) for p in firsts.values()) >= 3


def test_each_stored_event_gives_at_most_one_envelope_of_its_own_identity(published):
    for service, (app, translate, values) in published.items():
        envelopes = []
        for notification in app.recorder.select_notifications(start=1, limit=10_000):
            stored = app.mapper.to_domain_event(notification)
            envelope = translate(stored)
            if envelope is None:
                continue
            envelopes.append(envelope)
            assert envelope.producer == service
            assert (envelope.aggregate_id, envelope.aggregate_version) == (
                stored.originator_id,
                stored.originator_version,
            ), "the envelope names the stored event it comes from"
            assert envelope.event_id == derive_event_id(
                service, envelope.event_type, stored.originator_id, stored.originator_version
            )
        assert len(envelopes) == len(values), "the relay published each public event once"


def test_every_published_event_reads_as_the_contract_and_chains_to_its_aggregate(published):
    streams: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for value in all_values(published):
        parse_event(value)  # the strict reader every consumer uses
        event = json.loads(value)
        streams[(event["producer"], event["aggregate_id"])].append(event)
    for stream in streams.values():
        assert stream[0]["previous_hash"] is None
        assert verify_chain(stream) is None
    applicant = streams[("registration", json.loads(all_values(published)[1])["aggregate_id"])]
    versions = [e["aggregate_version"] for e in applicant]
    assert versions != list(range(1, len(versions) + 1)), "private events leave gaps"


async def test_a_relay_that_lost_its_position_publishes_byte_identical_envelopes(published):
    for app, translate, values in published.values():
        topic = f"jip.again.{uuid.uuid4().hex[:6]}.v1"
        again = await relayed(app, translate, topic)
        assert again == values, "same ids, same hashes, same bytes"


def test_who_caused_an_event_is_the_system_unless_the_stored_event_says(published):
    for service, (_, _, values) in published.items():
        for value in values:
            actor = json.loads(value)["actor"]
            assert actor["kind"] in {"applicant", "staff", "company", "system"}
            if actor["kind"] == "system":
                assert actor["id"] == service
    stored = SimpleNamespace(
        originator_id=uuid.uuid4(),
        originator_version=2,
        timestamp=NOW,
        correlation_id=uuid.uuid4(),
        causation_id=None,
        actor={"kind": "staff", "id": "staff-017", "role": "screener"},
    )
    payload = {**golden(contract.ApplicantDetailsAmended)["payload"]}
    envelope = envelope_for(contract.ApplicantDetailsAmended, stored, payload)
    assert envelope.actor.model_dump(exclude_none=True) == stored.actor


# -- every event kind of the catalog, ids colliding on purpose -------------------------

AGGREGATES = [uuid.UUID(int=n) for n in range(1, 4)]
key_strategy = st.tuples(
    st.sampled_from(EVENT_MODELS), st.sampled_from(AGGREGATES), st.integers(1, 4)
)


@functools.cache
def golden_payload(model: type[Envelope[Any]]) -> str:
    return json.dumps(golden(model)["payload"])


def built(model: type[Envelope[Any]], aggregate_id: uuid.UUID, version: int) -> Envelope[Any]:
    stored = SimpleNamespace(
        originator_id=aggregate_id,
        originator_version=version,
        timestamp=NOW,
        correlation_id=uuid.uuid4(),
        causation_id=None,
    )
    return envelope_for(model, stored, json.loads(golden_payload(model)))


@settings(max_examples=300, deadline=None)
@given(st.lists(key_strategy, min_size=2, max_size=40))
def test_event_ids_differ_exactly_when_the_events_differ(keys):
    """Any events of any kinds, from any producers, about the same few aggregate ids at
    the same few versions: two get the same id only if they are the same stored event
    of the same producer, that is, a re-publication."""
    by_id: dict[uuid.UUID, tuple[str, str, uuid.UUID, int]] = {}
    for model, aggregate_id, version in keys:
        envelope = built(model, aggregate_id, version)
        event_type, _, producer = identity_of(model)
        identity = (producer, event_type, aggregate_id, version)
        assert by_id.setdefault(envelope.event_id, identity) == identity
        again = built(model, aggregate_id, version)
        assert again.event_id == envelope.event_id, "stable across re-publication"
    assert len(by_id) == len(set(keys))


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(EVENT_MODELS), st.text(max_size=30))
def test_the_hash_depends_on_every_byte_of_the_envelope(model, text):
    envelope = built(model, AGGREGATES[0], 1).model_dump(mode="json")
    changed = {**envelope, "payload": {**envelope["payload"], "_probe": text}}
    assert event_hash(changed) != event_hash(envelope)
    assert event_hash(json.loads(json.dumps(envelope))) == event_hash(envelope)
