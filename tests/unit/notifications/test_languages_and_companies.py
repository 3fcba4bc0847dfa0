"""Each reader in their language, host companies as readers, and the steps added with
them (eligibility, accepted documents, amendments, privacy answers, proposals with a
reminder to decide, agreements), on the in-memory store through the real inbox."""

import itertools
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from events import matching, registration, screening
from events.catalog import parse_event
from runtime.inbox import Inbox, ReceivedRecord
from runtime.mail import Accepted, Refused, RetrySchedule
from services.notifications.application.publishing import to_integration_event
from services.notifications.application.service import (
    DEADLINE_PASSED,
    DECIDED,
    Held,
    NotificationsApplication,
    NotSent,
    OutgoingMail,
    reminder_time,
)
from tests.envelopes import UNIT_VAULT, upstream

_offsets = itertools.count(1_000_000)
NOW = datetime(2025, 8, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def app() -> NotificationsApplication:
    return NotificationsApplication(
        {"PERSISTENCE_MODULE": "eventsourcing.popo"}, personal_data=UNIT_VAULT
    )


def deliver(app: NotificationsApplication, event, *, topic: str = "jip.registration.v1"):
    record = ReceivedRecord(topic, 0, next(_offsets), event.model_dump_json().encode())
    return Inbox(app, accepts=NotificationsApplication.consumed_event_types()).receive(record)


def registered(applicant_id: uuid.UUID, **changes) -> registration.ApplicantRegistered:
    return upstream(
        registration.ApplicantRegistered,
        aggregate_id=applicant_id,
        email=f"{applicant_id}@example.org",
        **changes,
    )


def outgoing(app, notification_id, now=NOW) -> OutgoingMail | Held | NotSent | None:
    return app.mail_to_send(notification_id, now, "jip.example", timedelta(0))


def sent(app, notification_id, now=NOW) -> OutgoingMail:
    mail = outgoing(app, notification_id, now)
    assert isinstance(mail, OutgoingMail), mail
    return mail


def templates(app, recipient_id) -> list[str]:
    return [n.template for n in app.notifications_of(recipient_id)]


def company_registered(company_id: uuid.UUID, *, language: str | None = "en"):
    contact = {"name": "Sato Hanako", "email": "sato@kobe.example", "title": "HR"}
    if language is not None:
        contact["language"] = language
    return upstream(
        matching.CompanyRegistered,
        aggregate_id=uuid.uuid5(company_id, "company"),
        company_id=company_id,
        contacts=UNIT_VAULT.seal(company_id, [contact]),
    )


def proposed(applicant_id, company_id, *, decide_by: datetime) -> matching.MatchProposed:
    return upstream(
        matching.MatchProposed,
        aggregate_id=uuid.uuid4(),
        applicant_id=applicant_id,
        company_id=company_id,
        decide_by=decide_by.isoformat().replace("+00:00", "Z"),
    )


# -- languages -----------------------------------------------------------------------------
def test_an_applicant_is_written_to_in_the_language_chosen_at_registration(app):
    applicant = uuid.uuid4()
    deliver(app, registered(applicant, language="ja"))
    [welcome] = app.notifications_of(applicant)
    assert sent(app, welcome.id).language == "ja"


def test_a_registration_without_a_language_reads_as_english(app):
    applicant = uuid.uuid4()
    event = registered(applicant).model_dump(mode="json")
    del event["payload"]["language"]  # as published before the language was asked
    deliver(app, parse_event(json.dumps(event)))
    [welcome] = app.notifications_of(applicant)
    assert sent(app, welcome.id).language == "en"


def test_an_amended_language_is_used_from_then_on(app):
    applicant = uuid.uuid4()
    deliver(app, registered(applicant))
    deliver(
        app,
        upstream(
            registration.ApplicantDetailsAmended,
            aggregate_id=applicant,
            changed_fields=["language"],
            changes={"language": "ja"},
        ),
    )
    _, amended = app.notifications_of(applicant)
    assert amended.template == "details_amended"
    assert amended.context["changed_fields"] == ["language"]
    assert sent(app, amended.id).language == "ja"


# -- the applicant's steps added -------------------------------------------------------------
def test_the_eligibility_result_is_told_once_when_it_is_news(app):
    applicant = uuid.uuid4()
    deliver(app, registered(applicant))
    screening_topic = {"topic": "jip.screening.v1"}
    deliver(app, upstream(screening.EligibilityAssessed, aggregate_id=applicant), **screening_topic)
    # Assessed again after a revision of the rules, still eligible: nothing new to say.
    again = upstream(
        screening.EligibilityAssessed,
        aggregate_id=applicant,
        trigger="rules_revised",
        previous_result="eligible",
    )
    deliver(app, again, **screening_topic)
    assert templates(app, applicant) == ["application_received", "eligibility_passed"]


def test_a_rejection_keeps_the_rule_ids_to_be_put_in_the_readers_words(app):
    applicant = uuid.uuid4()
    deliver(app, registered(applicant, language="ja"))
    deliver(
        app, upstream(screening.ApplicantRejected, aggregate_id=applicant), topic="jip.screening.v1"
    )
    rejected = app.notifications_of(applicant)[-1]
    assert rejected.context["reasons"] == [
        {"code": "language", "text": "neither JLPT N3 or better nor an accepted English score"}
    ]


def test_the_answer_to_a_privacy_request_goes_even_while_use_is_suspended(app):
    applicant = uuid.uuid4()
    deliver(app, registered(applicant))
    deliver(
        app,
        upstream(
            registration.ProcessingRestricted,
            aggregate_id=applicant,
            subject_id=applicant,
            use_suspended=True,
        ),
    )
    deliver(
        app,
        upstream(
            registration.PrivacyRequestAnswered,
            aggregate_id=applicant,
            subject_id=applicant,
            right="suspension_of_use",
            outcome="done",
        ),
    )
    welcome, answer = app.notifications_of(applicant)
    assert answer.template == "privacy_request_answered"
    assert isinstance(outgoing(app, answer.id), OutgoingMail)
    assert isinstance(outgoing(app, welcome.id), NotSent)  # the rest waits


def test_a_deletion_done_is_not_answered_by_mail(app):
    applicant = uuid.uuid4()
    deliver(app, registered(applicant))
    deliver(
        app,
        upstream(
            registration.PrivacyRequestAnswered,
            aggregate_id=applicant,
            subject_id=applicant,
            right="deletion",
            outcome="done",
        ),
    )
    assert templates(app, applicant) == ["application_received"]


# -- host companies ------------------------------------------------------------------------
def test_a_registered_company_is_written_to_at_its_first_contact_in_its_language(app):
    company = uuid.uuid4()
    deliver(app, company_registered(company, language="en"), topic="jip.matching.v1")
    [welcome] = app.notifications_of(company)
    assert welcome.template == "company_registered" and welcome.company_id == company
    mail = sent(app, welcome.id)
    assert mail.to == "sato@kobe.example" and mail.language == "en"
    assert mail.context["contact_name"] == "Sato Hanako"
    assert mail.context["addressee"] == "company"


def test_a_company_contact_without_a_language_is_written_to_in_japanese(app):
    company = uuid.uuid4()
    deliver(app, company_registered(company, language=None), topic="jip.matching.v1")
    [welcome] = app.notifications_of(company)
    assert sent(app, welcome.id).language == "ja"


def test_a_refused_company_is_told_the_reasons(app):
    company = uuid.uuid4()
    refused = upstream(
        matching.CompanyRefused,
        aggregate_id=uuid.uuid5(company, "company"),
        company_id=company,
        contacts=UNIT_VAULT.seal(company, [{"name": "Sato", "email": "sato@kobe.example"}]),
    )
    deliver(app, refused, topic="jip.matching.v1")
    [told] = app.notifications_of(company)
    assert told.template == "company_refused"
    assert [r["code"] for r in told.context["reasons"]] == [r.code for r in refused.payload.reasons]


def test_a_proposal_asks_the_company_reminds_it_later_and_tells_the_candidate(app):
    applicant, company = uuid.uuid4(), uuid.uuid4()
    deliver(app, registered(applicant))
    decide_by = NOW + timedelta(days=7)
    # Read before the company's registration: the company's messages wait for it.
    deliver(app, proposed(applicant, company, decide_by=decide_by), topic="jip.matching.v1")
    assert templates(app, company) == ["candidates_proposed", "decision_reminder"]
    asked, reminder = app.notifications_of(company)
    assert asked.state == reminder.state == "awaiting_recipient"
    deliver(app, company_registered(company), topic="jip.matching.v1")
    # The welcome, read last, goes first: it is the first step of the company's path.
    welcome = app.notifications_of(company)[-1]
    assert isinstance(outgoing(app, asked.id), Held)
    app.record_delivery(sent(app, welcome.id), Accepted(), RetrySchedule())
    assert sent(app, asked.id).context["candidate"] == str(applicant)
    # The reminder is due 48 hours before the deadline, not before.
    waits = outgoing(app, reminder.id)
    assert isinstance(waits, Held) and waits.until == decide_by - timedelta(hours=48)
    assert isinstance(outgoing(app, reminder.id, decide_by - timedelta(hours=47)), OutgoingMail)
    # and, were it read too late, it would not go after the deadline
    assert outgoing(app, reminder.id, decide_by) == NotSent(DEADLINE_PASSED, final=True)
    assert templates(app, applicant)[-1] == "match_proposed"


def test_the_same_proposal_read_again_owes_no_second_reminder(app):
    applicant, company = uuid.uuid4(), uuid.uuid4()
    deliver(app, company_registered(company), topic="jip.matching.v1")
    proposal = proposed(applicant, company, decide_by=NOW + timedelta(days=7))
    deliver(app, proposal, topic="jip.matching.v1")
    deliver(app, proposal, topic="jip.matching.v1")
    assert templates(app, company).count("decision_reminder") == 1


def test_a_reminder_is_half_way_to_a_near_deadline_and_none_after_it():
    assert reminder_time(NOW, NOW + timedelta(hours=10)) == NOW + timedelta(hours=5)
    assert reminder_time(NOW, NOW + timedelta(days=5)) == NOW + timedelta(days=3)
    assert reminder_time(NOW, NOW - timedelta(hours=1)) is None


def test_a_decision_stops_the_reminder_and_both_sides_hear_of_the_match(app):
    applicant, company = uuid.uuid4(), uuid.uuid4()
    deliver(app, registered(applicant))
    deliver(app, company_registered(company), topic="jip.matching.v1")
    proposal = proposed(applicant, company, decide_by=NOW + timedelta(days=7))
    deliver(app, proposal, topic="jip.matching.v1")
    confirmed = upstream(
        matching.MatchConfirmed,
        aggregate_id=proposal.payload.match_id,
        applicant_id=applicant,
        company_id=company,
        proposal_id=proposal.payload.proposal_id,
    )
    deliver(app, confirmed, topic="jip.matching.v1")
    by_template = {n.template: n for n in app.notifications_of(company)}
    assert by_template["decision_reminder"].state == "cancelled"
    assert by_template["decision_reminder"].not_sent_because == DECIDED
    assert {"match_confirmed_company", "agreement_ready_company"} <= set(by_template)
    assert templates(app, applicant)[-2:] == ["match_confirmed", "agreement_ready"]


def test_a_declined_or_withdrawn_proposal_stops_its_reminder(app):
    for model in (matching.MatchDeclined, matching.ProposalWithdrawn):
        applicant, company = uuid.uuid4(), uuid.uuid4()
        deliver(app, company_registered(company), topic="jip.matching.v1")
        proposal = proposed(applicant, company, decide_by=NOW + timedelta(days=7))
        deliver(app, proposal, topic="jip.matching.v1")
        ended = upstream(
            model,
            aggregate_id=proposal.payload.match_id,
            applicant_id=applicant,
            company_id=company,
            proposal_id=proposal.payload.proposal_id,
        )
        deliver(app, ended, topic="jip.matching.v1")
        states = {n.template: n.state for n in app.notifications_of(company)}
        assert states["decision_reminder"] == "cancelled", model


def test_a_signed_agreement_is_told_to_its_own_parties_only(app):
    applicant, company = uuid.uuid4(), uuid.uuid4()
    deliver(app, registered(applicant))
    deliver(app, company_registered(company), topic="jip.matching.v1")
    for parties in (["office", "intern"], ["office", "company"]):
        signed = upstream(
            matching.AgreementSigned,
            aggregate_id=uuid.uuid4(),
            applicant_id=applicant,
            company_id=company,
            structure="per_pair",
            parties=parties,
        )
        deliver(app, signed, topic="jip.matching.v1")
    assert templates(app, applicant).count("agreement_signed") == 1
    assert templates(app, company).count("agreement_signed_company") == 1


# -- a permanent failure is published, without address or text ---------------------------------
def test_a_refused_message_is_published_as_failed_without_address_or_text(app):
    company = uuid.uuid4()
    deliver(app, company_registered(company), topic="jip.matching.v1")
    [welcome] = app.notifications_of(company)
    mail = sent(app, welcome.id)
    app.record_delivery(mail, Refused("recipient refused: SMTP 550"), RetrySchedule())
    published = [
        envelope
        for n in app.recorder.select_notifications(start=1, limit=1000)
        if (envelope := to_integration_event(app.mapper.to_domain_event(n))) is not None
    ]
    [failed] = [e for e in published if e.event_type == "NotificationFailed"]
    assert failed.payload.company_id == company and failed.payload.applicant_id is None
    assert failed.payload.template == "company_registered"
    assert failed.payload.reason == "recipient refused: SMTP 550"
    assert failed.payload.attempts == 1
    assert "sato" not in failed.model_dump_json().lower()
