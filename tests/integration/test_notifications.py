"""The notifications service on the real Kafka, PostgreSQL and SMTP server: upstream
events go in as their producers publish them, and what comes out is what an applicant
and a subscriber notice: e-mails in the mailbox and `NotificationSent` on Kafka."""

import asyncio
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from unittest.mock import Mock

import httpx
import psycopg
import pytest
from aiokafka import AIOKafkaProducer

from events import matching, registration, screening, topics
from events.envelope import Envelope
from events.privacy import ERASED
from infra import InfraSettings
from runtime.inbox import Inbox, ReceivedRecord
from runtime.mail import MailServerUnavailable, SmtpMailer
from runtime.privacy import PersonalData
from services.notifications.adapters.mail import NotificationMailer
from services.notifications.application.service import NotificationsApplication
from services.notifications.bootstrap import bootstrap, build_application, connect_view
from services.notifications.settings import NotificationsSettings
from tests import envelopes
from tests.smtp_servers import free_port
from tests.support import (
    HTTP_PORTS,
    IDENTITY,
    OFFICER,
    STAFF_TOKEN,
    Mailbox,
    body_of,
    database_of,
    eventually,
    found_in_clear,
    keystore_settings,
    running,
    service_env,
    wait_for_event,
)

STAFF = {"Authorization": f"Bearer {STAFF_TOKEN}"}

#: Personal fields are sealed with the test stack's key store, as registration would.
_vault: list[PersonalData] = []


@pytest.fixture(autouse=True)
def _sealing_with_the_test_stack(vault: PersonalData) -> None:
    _vault[:] = [vault]


def upstream(model, **fields):
    return envelopes.upstream(model, vault=_vault[0], **fields)


def settings_of(infra: InfraSettings) -> NotificationsSettings:
    return NotificationsSettings(
        kafka_bootstrap=infra.kafka_bootstrap,
        pg_host=infra.pg_host,
        pg_port=infra.pg_port,
        pg_database=database_of("notifications"),
        pg_user=infra.pg_user,
        pg_password=infra.pg_password,
        smtp_host=infra.smtp_host,
        smtp_port=infra.smtp_port,
        http_port=HTTP_PORTS["notifications"],
        **IDENTITY.settings("notifications"),
        **keystore_settings(infra),
    )


@pytest.fixture(scope="module")
async def service(infra: InfraSettings) -> AsyncIterator[httpx.AsyncClient]:
    """The service, built by its own bootstrap and run in this event loop; yields an
    HTTP client for its API."""
    async with (
        running(await bootstrap(settings_of(infra))) as base_url,
        httpx.AsyncClient(base_url=base_url) as client,
    ):
        yield client


async def publish(
    producer: AIOKafkaProducer, event: Envelope | bytes, *, key: uuid.UUID, topic: str = ""
) -> None:
    if isinstance(event, Envelope):
        topic = topic or topics.TOPIC_OF_PRODUCER[event.producer]
        value = event.model_dump_json().encode()
    else:
        value = event
    await producer.send_and_wait(topic, value, key=str(key).encode())


def an_applicant() -> tuple[uuid.UUID, str]:
    applicant = uuid.uuid4()
    return applicant, f"applicant-{applicant.hex[:12]}@example.org"


def registered(applicant: uuid.UUID, address: str) -> registration.ApplicantRegistered:
    return upstream(registration.ApplicantRegistered, aggregate_id=applicant, email=address)


async def test_a_registered_applicant_is_welcomed_and_the_sending_is_published(
    service, producer, infra, mailbox: Mailbox
):
    applicant, address = an_applicant()
    event = registered(applicant, address)

    await publish(producer, event, key=applicant)

    [mail] = await mailbox.wait_for(address, "we have received your application")
    body = body_of(mail)
    assert body.startswith("Dear Linh Nguyen,")
    assert "upload your documents" in body and "certificate of graduation" in body
    sent = await wait_for_event(
        infra,
        topics.NOTIFICATIONS,
        "NotificationSent",
        lambda e: e["payload"]["applicant_id"] == str(applicant),
    )
    assert sent["payload"]["template"] == "application_received"
    assert sent["payload"]["cause_event_id"] == str(event.event_id)
    assert sent["payload"]["notification_id"] in mail["Message-ID"]
    published = json.dumps(sent)
    assert address not in published and "Nguyen" not in published


async def test_the_same_event_published_twice_sends_one_mail(service, producer, mailbox):
    applicant, address = an_applicant()
    event = registered(applicant, address)

    await publish(producer, event, key=applicant)
    await publish(producer, event, key=applicant)
    # A later event of the same applicant, mailed only after both copies were read.
    complete = upstream(registration.DocumentsSubmitted, aggregate_id=applicant, outstanding=[])
    await publish(producer, complete, key=applicant)

    await mailbox.wait_for(address, "your documents are complete")
    welcomes = [m for m in mailbox.messages_to(address) if "received" in str(m["Subject"])]
    assert len(welcomes) == 1


async def test_an_interview_result_read_before_the_registration_is_mailed_when_it_arrives(
    service, producer, mailbox
):
    applicant, address = an_applicant()
    passed = upstream(screening.InterviewPassed, aggregate_id=applicant, stage="first")

    await publish(producer, passed, key=applicant)

    async def listed(*states: str) -> list[dict] | None:
        answer = await service.get(
            "/notifications", params={"applicant_id": str(applicant)}, headers=STAFF
        )
        found = answer.json()["notifications"]
        return found if found and {n["state"] for n in found} <= set(states) else None

    [waiting] = await eventually(lambda: listed("awaiting_recipient"), what="a waiting mail")
    assert waiting["template"] == "interview_passed"

    await publish(producer, registered(applicant, address), key=applicant)

    [mail] = await mailbox.wait_for(address, "you passed the first interview")
    assert "a second interview" in body_of(mail)
    # the welcome, owed later, still comes first: it is the earlier step of the path
    assert "we have received your application" in str(mailbox.messages_to(address)[0]["Subject"])
    done = await eventually(lambda: listed("sent"), what="both mails recorded as sent")
    assert sorted(n["template"] for n in done) == ["application_received", "interview_passed"]
    assert all(n["sent_at"] for n in done)


async def test_an_applicant_who_fails_an_interview_is_told_by_mail(service, producer, mailbox):
    applicant, address = an_applicant()
    await publish(producer, registered(applicant, address), key=applicant)
    failed = upstream(screening.InterviewFailed, aggregate_id=applicant, stage="first")
    await publish(producer, failed, key=applicant)

    [mail] = await mailbox.wait_for(address, "the result of your first interview")
    assert "cannot take your application further" in body_of(mail)


async def test_malformed_records_do_not_stop_the_consumer(service, producer, mailbox):
    inquiry = uuid.uuid4()
    address = f"asker-{inquiry.hex[:12]}@example.org"
    invalid = registered(uuid.uuid4(), "x@example.org").model_dump(mode="json")
    invalid["payload"]["email"] = "not an address"

    await publish(producer, b"{not json", key=inquiry, topic=topics.REGISTRATION)
    await publish(producer, json.dumps(invalid).encode(), key=inquiry, topic=topics.REGISTRATION)
    answered = upstream(
        registration.InquiryAnswered,
        aggregate_id=inquiry,
        inquiry_id=inquiry,
        email=address,
        answer="Yes: students may apply with a certificate of enrollment.",
    )
    await publish(producer, answered, key=inquiry)

    [mail] = await mailbox.wait_for(address, "our answer")
    assert "Yes: students may apply with a certificate of enrollment." in body_of(mail)


async def test_an_applicants_path_is_told_in_their_current_name(service, producer, mailbox):
    applicant, address = an_applicant()
    await publish(producer, registered(applicant, address), key=applicant)
    amended = upstream(
        registration.ApplicantDetailsAmended,
        aggregate_id=applicant,
        changed_fields=["family_name"],
        changes={"family_name": "Tran"},
    )
    await publish(producer, amended, key=applicant)
    complete = upstream(registration.DocumentsSubmitted, aggregate_id=applicant, outstanding=[])
    await publish(producer, complete, key=applicant)
    for stage in ("first", "second"):
        passed = upstream(screening.InterviewPassed, aggregate_id=applicant, stage=stage)
        await publish(producer, passed, key=applicant)
    await publish(
        producer, upstream(screening.CandidateSelected, aggregate_id=applicant), key=applicant
    )
    match = uuid.uuid4()
    confirmed = upstream(
        matching.MatchConfirmed, aggregate_id=match, match_id=match, applicant_id=applicant
    )
    await publish(producer, confirmed, key=match)

    [documents] = await mailbox.wait_for(address, "your documents are complete")
    assert body_of(documents).startswith("Dear Linh Tran,")
    [matched] = await mailbox.wait_for(address, "a host company has chosen you")
    assert "course B" in body_of(matched) and "can no longer withdraw" in body_of(matched)


async def test_the_office_can_have_a_sent_mail_sent_again(service, producer, mailbox):
    applicant, address = an_applicant()
    await publish(producer, registered(applicant, address), key=applicant)
    [first] = await mailbox.wait_for(address, "received your application")

    async def sent_welcome() -> dict | None:
        answer = await service.get(
            "/notifications", params={"applicant_id": str(applicant)}, headers=STAFF
        )
        found = answer.json()["notifications"]
        return found[0] if found and found[0]["state"] == "sent" else None

    welcome = await eventually(sent_welcome, what="the welcome recorded as sent")
    answer = await service.post(
        f"/notifications/{welcome['notification_id']}/resend", headers=STAFF
    )
    assert answer.status_code == 202, answer.text

    mails = await mailbox.wait_for(address, "received your application", count=2)
    assert len({m["Message-ID"] for m in mails}) == 2
    assert body_of(mails[0]) == body_of(first) or body_of(mails[1]) == body_of(first)


async def test_a_message_is_resent_at_most_three_times_a_day(service, producer, mailbox, infra):
    # given a welcome that went out, and that the office resent three times
    applicant, address = an_applicant()
    await publish(producer, registered(applicant, address), key=applicant)
    await mailbox.wait_for(address, "received your application")

    async def welcome_sent() -> dict | None:
        answer = await service.get(
            "/notifications", params={"applicant_id": str(applicant)}, headers=STAFF
        )
        found = answer.json()["notifications"]
        return found[0] if found and found[0]["state"] == "sent" else None

    welcome = await eventually(welcome_sent, what="the welcome recorded as sent")
    resend = f"/notifications/{welcome['notification_id']}/resend"
    for count in (2, 3, 4):
        assert (await service.post(resend, headers=STAFF)).status_code == 202
        await mailbox.wait_for(address, "received your application", count=count)
        await eventually(welcome_sent, what="the resent welcome recorded as sent")

    # when the office asks a fourth time the same day
    refused = await service.post(resend, headers=STAFF)

    # then it is refused, naming the limit and when it may be tried again
    assert refused.status_code == 429
    reason = refused.json()["errors"][0]
    assert reason["field"] == "notification_id"
    assert "at most 3 times in 24 hours" in reason["reason"]
    assert "may be resent again after" in reason["reason"]
    assert 23 * 3600 < int(refused.headers["Retry-After"]) <= 24 * 3600 + 1
    # and no fifth mail leaves, while the refusal is in the notification's log, with
    # who asked
    with psycopg.connect(infra.postgres_dsn(database_of("notifications"))) as conn:
        rows = conn.execute(
            "SELECT topic, state FROM notifications_events WHERE originator_id = %s",
            (uuid.UUID(welcome["notification_id"]),),
        ).fetchall()
    refusals = [bytes(state) for topic, state in rows if topic.endswith("ResendRefused")]
    assert len(refusals) == 1 and b"office-staff" in refusals[0]
    assert (await welcome_sent())["sends"] == 4
    assert len(mailbox.messages_to(address)) == 4


async def test_only_office_staff_see_the_notifications(service):
    assert (await service.get("/health")).json()["status"] == "ok"
    anyone = await service.get("/notifications", params={"applicant_id": str(uuid.uuid4())})
    assert anyone.status_code == 401
    assert anyone.json()["errors"][0]["field"] == "authorization"
    unknown = await service.post(f"/notifications/{uuid.uuid4()}/resend", headers=STAFF)
    assert unknown.status_code == 404


async def test_a_mail_server_outage_or_a_crash_delays_mail_but_never_loses_it(
    infra, mailbox, monkeypatch
):
    # given a notification owed (on the in-memory event store: the mail server is the
    # subject here) while the mail server is down
    app = NotificationsApplication(
        {"PERSISTENCE_MODULE": "eventsourcing.popo"}, personal_data=_vault[0]
    )
    applicant, address = an_applicant()
    record = ReceivedRecord(
        topics.REGISTRATION, 0, 0, registered(applicant, address).model_dump_json().encode()
    )
    Inbox(app, accepts=NotificationsApplication.consumed_event_types()).receive(record)
    sender = "JIP Program Office <office@jip.example>"
    mailer = NotificationMailer(app, SmtpMailer(infra.smtp_host, free_port(), sender))

    with pytest.raises(MailServerUnavailable):
        await mailer.step()
    [welcome] = app.notifications_of(applicant)
    assert welcome.state == "pending"

    # when the server is back, but the process dies right after sending
    mailer.mailer = SmtpMailer(infra.smtp_host, infra.smtp_port, sender)
    with monkeypatch.context() as crash:
        crash.setattr(app, "save", Mock(side_effect=SystemExit("killed")))
        with pytest.raises(SystemExit):
            await mailer.step()
    # the restarted process (a new mailer) reads the same log again
    restarted = NotificationMailer(app, SmtpMailer(infra.smtp_host, infra.smtp_port, sender))
    await restarted.step()

    # then the applicant got the same message twice at worst, and it is recorded once
    mails = await mailbox.wait_for(address, "received your application", count=2)
    assert len({m["Message-ID"] for m in mails}) == 1
    assert app.notifications_of(applicant)[0].state == "sent"
    await restarted.step()  # nothing more to send
    assert len(mailbox.messages_to(address)) == 2


def subjects(mailbox: Mailbox, address: str) -> list[str]:
    """The applicant's mails as their inbox shows them, oldest first (just the news)."""
    return [str(m["Subject"]).split(": ", 1)[1] for m in mailbox.messages_to(address)]


def interview(applicant: uuid.UUID, stage: str) -> screening.InterviewPassed:
    return upstream(screening.InterviewPassed, aggregate_id=applicant, stage=stage)


def match_of(applicant: uuid.UUID) -> matching.MatchConfirmed:
    match = uuid.uuid4()
    return upstream(
        matching.MatchConfirmed, aggregate_id=match, match_id=match, applicant_id=applicant
    )


def selected(applicant: uuid.UUID) -> screening.CandidateSelected:
    return upstream(screening.CandidateSelected, aggregate_id=applicant)


PATH_ORDER = [
    "we have received your application",
    "you passed the first interview",
    "you passed the second interview",
    "you have been selected",
    "a host company has chosen you",
    "your internship agreement is ready to sign",
]


async def test_an_applicants_mails_follow_their_path_when_the_match_is_read_first(
    service, producer, mailbox
):
    # given a registered applicant, welcomed
    applicant, address = an_applicant()
    await publish(producer, registered(applicant, address), key=applicant)
    await mailbox.wait_for(address, "we have received your application")

    # when the match is read before the interview results that led to it, and the
    # second interview before the first (three topics, read in no agreed order)
    confirmed = match_of(applicant)
    await publish(producer, confirmed, key=confirmed.aggregate_id)

    async def match_owed() -> bool:
        answer = await service.get(
            "/notifications", params={"applicant_id": str(applicant)}, headers=STAFF
        )
        return any(n["template"] == "match_confirmed" for n in answer.json()["notifications"])

    await eventually(match_owed, what="the match's message owed")
    await publish(producer, selected(applicant), key=applicant)
    await publish(producer, interview(applicant, "second"), key=applicant)
    await publish(producer, interview(applicant, "first"), key=applicant)

    # then the applicant reads the news in the order it happened
    await mailbox.wait_for(address, "your internship agreement is ready to sign")
    assert subjects(mailbox, address) == PATH_ORDER


async def test_mails_owed_before_the_registration_go_out_in_the_order_of_the_path(
    service, producer, mailbox
):
    applicant, address = an_applicant()
    confirmed = match_of(applicant)
    await publish(producer, confirmed, key=confirmed.aggregate_id)
    await publish(producer, selected(applicant), key=applicant)
    await publish(producer, interview(applicant, "second"), key=applicant)
    await publish(producer, interview(applicant, "first"), key=applicant)
    await publish(producer, registered(applicant, address), key=applicant)

    await mailbox.wait_for(address, "your internship agreement is ready to sign")
    assert subjects(mailbox, address) == PATH_ORDER


# -- screening's decisions ----------------------------------------------------------------
async def test_an_ineligible_applicant_is_told_why_once(service, producer, mailbox):
    applicant, address = an_applicant()
    await publish(producer, registered(applicant, address), key=applicant)
    rejected = upstream(
        screening.ApplicantRejected,
        aggregate_id=applicant,
        stage="eligibility",
        reasons=[
            {"code": "nationality_not_excluded", "text": "citizens of CN are not eligible"},
            {"code": "language", "text": "neither JLPT N3 or better nor an accepted English score"},
        ],
    )
    await publish(producer, rejected, key=applicant)
    await publish(producer, rejected, key=applicant)  # a relay may publish twice

    [mail] = await mailbox.wait_for(address, "the outcome of your application")
    body = body_of(mail)
    assert "did not pass\nthe eligibility check" in body or "the eligibility check" in body
    # The rule ids, in plain words (not screening's terse texts).
    assert "  - citizens of your country cannot take part in this year's program\n" in body
    assert "  - your language scores do not reach the level required" in body
    assert subjects(mailbox, address) == [
        "we have received your application",
        "the outcome of your application",
    ]


async def test_screenings_news_reaches_the_applicant_in_the_order_of_their_path(
    service, producer, mailbox
):
    applicant, address = an_applicant()
    # Given everything screening decided read before the registration (so that all of
    # it is owed at once, and only the path orders it), the interview's result before
    # its invitation (two messages of one step, a document's rejection and its request,
    # an invitation and its new time, go in the order they were owed).
    requested = upstream(screening.DocumentRequested, aggregate_id=applicant)
    rejected = upstream(
        screening.DocumentReviewed,
        aggregate_id=applicant,
        kind="certificate_of_graduation",
        decision="rejected",
        reason_code="unreadable",
    )
    invited = upstream(screening.InterviewScheduled, aggregate_id=applicant)
    moved = upstream(screening.InterviewRescheduled, aggregate_id=applicant)
    passed = interview(applicant, "first")
    for event in (rejected, requested, passed, invited, moved):
        await publish(producer, event, key=applicant)
    await eventually(
        in_state(service, applicant, "awaiting_recipient", count=5), what="five mails owed"
    )
    # When the applicant's registration arrives
    await publish(producer, registered(applicant, address), key=applicant)

    # Then they read the news in the order it happened, each once
    await mailbox.wait_for(address, "you passed the first interview")
    assert subjects(mailbox, address) == [
        "we have received your application",
        "your certificate of graduation could not be accepted",
        "please send your letter of recommendation",
        "your first interview on Thursday 19 June 2025, 01:00 UTC",
        "your first interview is moved to Friday 20 June 2025, 02:00 UTC",
        "you passed the first interview",
    ]
    mails = {str(m["Subject"]).split(": ", 1)[1]: body_of(m) for m in mailbox.messages_to(address)}
    # the office's note, sealed on Kafka and in the store, opened for the mail
    assert (
        "Your professor may send the letter to us directly."
        in mails["please send your letter of recommendation"]
    )
    assert "we could not read it" in mails["your certificate of graduation could not be accepted"]
    invitation = mails["your first interview on Thursday 19 June 2025, 01:00 UTC"]
    assert "Thursday 19 June 2025, 10:00 JST" in invitation
    assert "English" in invitation and "online" in invitation
    assert "the link arrives by e-mail the day before" in invitation
    new_time = mails["your first interview is moved to Friday 20 June 2025, 02:00 UTC"]
    assert "Friday 20 June 2025, 11:00 JST" in new_time
    assert "the applicant asked for another day" in new_time
    # and no score reaches the applicant (the scorecard is the office's)
    result = mails["you passed the first interview"].lower()
    assert "score" not in result and "15" not in result.replace("2025", "")


async def test_a_cancelled_interview_and_the_selection_are_mailed(service, producer, mailbox):
    applicant, address = an_applicant()
    await publish(producer, registered(applicant, address), key=applicant)
    await mailbox.wait_for(address, "we have received your application")
    cancelled = upstream(screening.InterviewCancelled, aggregate_id=applicant)
    await publish(producer, cancelled, key=applicant)
    [mail] = await mailbox.wait_for(address, "your first interview is cancelled")
    assert "the interviewer is unavailable" in body_of(mail)
    assert "office will write to you with a new time" in body_of(mail)

    for stage in ("first", "second"):
        await publish(producer, interview(applicant, stage), key=applicant)
    await publish(producer, selected(applicant), key=applicant)
    [mail] = await mailbox.wait_for(address, "you have been selected")
    assert "company makes the final decision" in body_of(mail)


# -- the person's rights: restrictions and erasure ---------------------------------------
async def listed(service: httpx.AsyncClient, person: uuid.UUID) -> list[dict]:
    answer = await service.get(
        "/notifications", params={"applicant_id": str(person)}, headers=STAFF
    )
    return answer.json()["notifications"]


def in_state(service: httpx.AsyncClient, person: uuid.UUID, *states: str, count: int = 1):
    async def probe() -> list[dict] | None:
        found = await listed(service, person)
        settled = len(found) >= count and {n["state"] for n in found} <= set(states)
        return found if settled else None

    return probe


async def test_no_mail_while_use_is_suspended_and_the_mail_goes_once_resumed(
    service, producer, mailbox
):
    # given an applicant who suspended the use of their data as they registered
    applicant, address = an_applicant()
    suspended = envelopes.processing_restricted(applicant, use_suspended=True)
    await publish(producer, suspended, key=applicant)
    await publish(producer, registered(applicant, address), key=applicant)
    complete = upstream(registration.DocumentsSubmitted, aggregate_id=applicant, outstanding=[])
    await publish(producer, complete, key=applicant)

    # then their mails are withheld, with the reason, and none is sent
    withheld = await eventually(
        in_state(service, applicant, "withheld"), what="both mails recorded as withheld"
    )
    assert len(withheld) == 2
    assert all("use suspended" in n["not_sent_because"] for n in withheld)
    assert mailbox.messages_to(address) == []

    # when they resume it, the mails owed go, in the order of their path
    resumed = envelopes.processing_restricted(applicant, use_suspended=False)
    await publish(producer, resumed, key=applicant)
    await mailbox.wait_for(address, "your documents are complete")
    assert subjects(mailbox, address) == [
        "we have received your application",
        "your documents are complete",
    ]


async def test_an_erased_persons_pending_mail_is_not_sent_and_nothing_of_them_stays_in_clear(
    service, producer, mailbox, infra, vault
):
    # given an applicant welcomed by mail (their name in the body), then owed another
    # mail that is still pending when they are erased (their key destroyed first, as
    # registration does, and SubjectErased read only later)
    applicant, address = an_applicant()
    given, family = f"Mai{applicant.hex[:6]}", f"Tran{applicant.hex[6:12]}"
    welcome = upstream(
        registration.ApplicantRegistered,
        aggregate_id=applicant,
        email=address,
        given_name=given,
        family_name=family,
    )
    await publish(producer, welcome, key=applicant)
    [mail] = await mailbox.wait_for(address, "we have received your application")
    assert body_of(mail).startswith(f"Dear {given} {family},")
    before = await service.get(f"/privacy/subjects/{applicant}/records", headers=OFFICER)
    assert before.status_code == 200, before.text
    assert address in before.text and given in before.text
    passed = upstream(screening.InterviewPassed, aggregate_id=applicant, stage="first")

    await asyncio.to_thread(vault.erase, applicant)
    await publish(producer, passed, key=applicant)

    # then the pending mail is recorded as not sent, and never sent
    done = await eventually(
        in_state(service, applicant, "sent", "cancelled", count=2),
        what="the second mail cancelled",
    )
    assert [(n["template"], n["state"]) for n in done] == [
        ("application_received", "sent"),
        ("interview_passed", "cancelled"),
    ]
    assert "erased" in done[1]["not_sent_because"]

    # when the erasure itself is read, the service forgets what it kept of them
    await publish(producer, envelopes.subject_erased(applicant), key=applicant)

    async def forgotten() -> bool:
        held = await service.get(f"/privacy/subjects/{applicant}/records", headers=OFFICER)
        return any(e["type"].endswith("Forgotten") for e in held.json()["records"]["recipient"])

    await eventually(forgotten, what="the recipient forgotten")
    # and the service's store holds none of their values in clear (no rendered body)
    personal = [address, given, family]
    assert await asyncio.to_thread(found_in_clear, infra, "notifications", personal) == []
    assert await asyncio.to_thread(found_in_clear, infra, "notifications", [str(applicant)])
    # and their disclosure now reads as erased
    after = await service.get(f"/privacy/subjects/{applicant}/records", headers=OFFICER)
    assert after.json()["erased"] is True
    assert address not in after.text and given not in after.text and ERASED in after.text
    # and the consumer goes on: the next applicant is welcomed
    other, other_address = an_applicant()
    await publish(producer, registered(other, other_address), key=other)
    await mailbox.wait_for(other_address, "we have received your application")
    assert len(mailbox.messages_to(address)) == 1


async def test_an_applicant_who_chose_japanese_reads_japanese_in_both_parts(
    service, producer, mailbox
):
    applicant, address = an_applicant()
    await publish(producer, registered_in(applicant, address, "ja"), key=applicant)

    [mail] = await mailbox.wait_for(address, "ご応募を受け付けました")
    assert mail.get_content_type() == "multipart/alternative"
    assert body_of(mail).startswith("Linh Nguyen 様")
    html = mail.get_body(preferencelist=("html",))
    assert html is not None and '<html lang="ja">' in html.get_content()
    assert "Linh" not in str(mail["Subject"])


def registered_in(applicant: uuid.UUID, address: str, language: str):
    return upstream(
        registration.ApplicantRegistered, aggregate_id=applicant, email=address, language=language
    )


async def test_a_company_hears_of_its_registration_a_proposal_and_the_match_in_japanese(
    service, producer, infra, mailbox, vault
):
    company, applicant = uuid.uuid4(), uuid.uuid4()
    contact = f"hr-{company.hex[:12]}@kobe.example"
    contacts = vault.seal(company, [{"name": "佐藤 花子", "email": contact, "language": "ja"}])
    registered_company = upstream(
        matching.CompanyRegistered,
        aggregate_id=uuid.uuid5(company, "company"),
        company_id=company,
        contacts=contacts,
    )
    match = uuid.uuid4()
    proposed = upstream(
        matching.MatchProposed,
        aggregate_id=match,
        match_id=match,
        applicant_id=applicant,
        company_id=company,
        # a week ahead: the reminder is not due during the test
        decide_by=(datetime.now(UTC) + timedelta(days=7)).isoformat().replace("+00:00", "Z"),
    )
    confirmed = upstream(
        matching.MatchConfirmed,
        aggregate_id=match,
        match_id=match,
        applicant_id=applicant,
        company_id=company,
        proposal_id=str(proposed.payload.proposal_id),
    )
    # read in another order than it happened: the match (one key, so in its own order)
    # before the company's registration (another key, read in no agreed order with it)
    await publish(producer, proposed, key=match)
    await publish(producer, confirmed, key=match)
    await publish(producer, registered_company, key=registered_company.aggregate_id)

    await mailbox.wait_for(contact, "インターンシップ協定書へのご署名のお願い")
    told = [str(m["Subject"]).split("：", 1)[1] for m in mailbox.messages_to(contact)]
    assert told == [
        "受入企業としてのご登録完了のお知らせ",
        "研修生候補者のご推薦",
        "受入れ決定のご連絡の受領",
        "インターンシップ協定書へのご署名のお願い",
    ]
    first = mailbox.messages_to(contact)[0]
    assert body_of(first).startswith(f"{registered_company.payload.legal_name}\n佐藤 花子 様")


async def test_the_offices_view_lists_every_message_and_a_rebuild_gives_the_same(
    service, producer, infra, mailbox
):
    # given an applicant and a company written to
    applicant, address = an_applicant()
    await publish(producer, registered(applicant, address), key=applicant)
    await mailbox.wait_for(address, "we have received your application")

    # then the office's list says to whom (ids), why (the cause), when, state, attempts
    async def listed() -> list[dict] | None:
        answer = await service.get(
            "/notifications", params={"applicant_id": str(applicant)}, headers=STAFF
        )
        found = answer.json()["notifications"]
        return found if found and found[0]["state"] == "sent" else None

    [row] = await eventually(listed, what="the welcome listed as sent")
    assert row["template"] == "application_received" and row["recipient_kind"] == "applicant"
    assert (row["attempts"], row["sends"]) == (1, 1)
    assert row["cause_event_id"] and row["sent_at"]
    assert address not in json.dumps(row)
    by_state = await service.get(
        "/notifications", params={"state": "sent", "limit": 1}, headers=STAFF
    )
    assert len(by_state.json()["notifications"]) == 1 and by_state.json()["next"]
    wrong = await service.get("/notifications", params={"after": "yesterday"}, headers=STAFF)
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "after"

    # when the operator rebuilds the view from the log, as its own process, once the
    # live view has caught up with the log
    settings = settings_of(infra)
    store = await asyncio.to_thread(build_application, settings)
    view = await connect_view(settings)
    try:

        async def caught_up() -> bool:
            last = await asyncio.to_thread(store.recorder.max_notification_id)
            return await view.position() == last

        await eventually(caught_up, what="the live view caught up")
        live = await view.all_rows()
        env = {**os.environ, **service_env("notifications", infra)}
        rebuilt = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "services.notifications", "rebuild-view"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert rebuilt.returncode == 0, rebuilt.stderr
        assert "rebuilt notifications_view" in rebuilt.stdout
        assert re.search(r"notifications_view .* (\d+)/\1 events", rebuilt.stderr)

        # then the rebuilt view is the live one, row for row
        await eventually(caught_up, what="the rebuilt view caught up")
        assert await view.all_rows() == live
    finally:
        await view.pool.close()
        store.close()
