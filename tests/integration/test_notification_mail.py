"""The notifications mailer against a real SMTP server that defers one applicant's
address (452) and refuses another's (550): everyone else's mails go on, the deferred
applicant's later mail waits behind the deferred one (and only theirs does), and the
refused message is shown to the office without the address.

The event store is the in-memory one here (the mail server is the subject); the same
mailer runs on PostgreSQL in test_notifications.py."""

import logging
import uuid
from datetime import timedelta

import httpx
import pytest

from events import registration, screening, topics
from runtime.inbox import Inbox, ReceivedRecord
from runtime.mail import RetrySchedule, SmtpMailer
from runtime.mail_api import undeliverable_router
from runtime.privacy import PersonalData
from services.notifications.adapters.http_api import build_http_api
from services.notifications.adapters.mail import NotificationMailer
from services.notifications.application.publishing import to_integration_event
from services.notifications.application.service import NotificationsApplication
from services.notifications.domain.notification import Notification
from tests import envelopes
from tests.smtp_servers import MisbehavingHandler, smtp_server
from tests.support import IDENTITY, STAFF, eventually

_offsets = iter(range(1_000_000))

#: Personal fields are sealed with the test stack's key store, as registration would.
_vault: list[PersonalData] = []


@pytest.fixture(autouse=True)
def _sealing_with_the_test_stack(vault: PersonalData) -> None:
    _vault[:] = [vault]


def upstream(model, **fields):
    return envelopes.upstream(model, vault=_vault[0], **fields)


def an_app() -> NotificationsApplication:
    return NotificationsApplication(
        {"PERSISTENCE_MODULE": "eventsourcing.popo"}, personal_data=_vault[0]
    )


def deliver(app: NotificationsApplication, event) -> None:
    record = ReceivedRecord(
        topics.REGISTRATION, 0, next(_offsets), event.model_dump_json().encode()
    )
    Inbox(app, accepts=NotificationsApplication.consumed_event_types()).receive(record)


def applicant_at(app: NotificationsApplication, address: str, *, interviewed: bool) -> uuid.UUID:
    applicant = uuid.uuid4()
    deliver(app, upstream(registration.ApplicantRegistered, aggregate_id=applicant, email=address))
    if interviewed:
        deliver(app, upstream(screening.InterviewPassed, aggregate_id=applicant, stage="first"))
    return applicant


def states(app: NotificationsApplication, applicant: uuid.UUID) -> dict[str, str]:
    return {n.template: n.state for n in app.notifications_of(applicant)}


async def test_a_deferred_and_a_refused_recipient_hold_up_no_one_else(caplog):
    # given, in this order: an applicant whose address the server defers, one whose
    # address it refuses, one it takes, and an inquirer; each owed their mails
    app = an_app()
    deferred = applicant_at(app, "deferred-an@example.org", interviewed=True)
    refused = applicant_at(app, "refused-linh@example.org", interviewed=False)
    fine = applicant_at(app, "budi@example.org", interviewed=True)
    assert states(app, fine) == {"application_received": "pending", "interview_passed": "pending"}
    inquiry = uuid.uuid4()
    answer = upstream(
        registration.InquiryAnswered,
        aggregate_id=inquiry,
        inquiry_id=inquiry,
        email="mai@example.org",
        answer="Yes.",
    )
    deliver(app, answer)

    server = MisbehavingHandler()
    with smtp_server(server) as port:
        mailer = NotificationMailer(
            app,
            SmtpMailer("127.0.0.1", port, "JIP <office@jip.example>"),
            schedule=RetrySchedule(first=timedelta(milliseconds=100), attempts=100),
        )

        # when the mailer goes through the log
        with caplog.at_level(logging.INFO):
            await mailer.step()

        # then everyone else's mails went out, each person's in the order of their path
        assert [str(m["Subject"]).split(": ")[1] for m in server.to("budi@example.org")] == [
            "we have received your application",
            "you passed the first interview",
        ]
        assert len(server.to("mai@example.org")) == 1
        # the deferred welcome is retried on its own; the interview result waits behind it
        assert states(app, deferred) == {
            "application_received": "retrying",
            "interview_passed": "pending",
        }
        assert server.to("deferred-an@example.org") == []
        # the refused one is set aside for the office
        assert states(app, refused) == {"application_received": "failed"}

        # when the server takes the deferred address again
        server.deferring.clear()

        async def both_sent() -> bool:
            await mailer.step()
            return set(states(app, deferred).values()) == {"sent"}

        await eventually(both_sent, what="the deferred applicant's mails sent")

    # then that applicant, too, reads the news in the order it happened
    assert [str(m["Subject"]).split(": ")[1] for m in server.to("deferred-an")] == [
        "we have received your application",
        "you passed the first interview",
    ]
    logged = "\n".join(
        r.getMessage() for r in caplog.records if r.name.startswith(("runtime", "services"))
    )
    assert "recipient deferred: SMTP 452" in logged and "recipient refused: SMTP 550" in logged
    assert "@example.org" not in logged

    # and the office sees the refused message, why, and whose, but not the address
    api = build_http_api(app, IDENTITY.gate(), _vault[0])
    api.include_router(undeliverable_router(app.undeliverable))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api), base_url="http://notifications"
    ) as http:
        assert (await http.get("/mail/undeliverable")).status_code == 401
        listed = await http.get("/mail/undeliverable", headers=STAFF)
    assert listed.status_code == 200
    [message] = listed.json()["messages"]
    assert message["applicant_id"] == str(refused)
    assert message["kind"] == "application_received"
    assert message["reason"] == "recipient refused: SMTP 550"
    assert "refused-linh" not in listed.text
    [welcome] = app.notifications_of(refused)
    assert (welcome.state, welcome.failure) == ("failed", "recipient refused: SMTP 550")


async def test_a_message_that_cannot_be_written_is_set_aside_and_the_others_go_on(caplog):
    # given a message whose details no template foresaw (here: none at all), owed first
    app = an_app()
    broken = Notification.request(
        template="inquiry_answer",
        cause_event_id=uuid.uuid4(),
        address=_vault[0].seal(uuid.uuid4(), "broken@example.org"),
        context={},
        recipient_known=True,
        correlation_id=uuid.uuid4(),
        causation_id=None,
        actor=app.system_actor,
    )
    app.save(broken)
    # and a good one after it
    inquiry = uuid.uuid4()
    deliver(
        app,
        upstream(
            registration.InquiryAnswered,
            aggregate_id=inquiry,
            inquiry_id=inquiry,
            email="mai@example.org",
            answer="Yes.",
        ),
    )

    server = MisbehavingHandler()
    with smtp_server(server) as port, caplog.at_level(logging.ERROR):
        mailer = NotificationMailer(app, SmtpMailer("127.0.0.1", port, "JIP <office@jip.example>"))
        await mailer.step()

    # then the good one went out, the broken one waits (logged, without its address)
    assert len(server.to("mai@example.org")) == 1
    assert app.get_notification(broken.id).state == "pending" and mailer.waiting == 1
    [error] = [r for r in caplog.records if r.name == "runtime.mail"]
    assert "cannot be prepared" in error.getMessage()
    assert "broken@example.org" not in error.getMessage()


async def test_a_refused_address_is_published_corrected_by_the_office_and_resent():
    # given an applicant whose address the mail server refuses
    app = an_app()
    applicant = applicant_at(app, "refused-an@example.org", interviewed=False)
    server = MisbehavingHandler()
    with smtp_server(server) as port:
        mailer = NotificationMailer(app, SmtpMailer("127.0.0.1", port, "JIP <office@jip.example>"))
        await mailer.step()

        # then the failure is published, whose and why, without the address
        published = [
            envelope
            for n in app.recorder.select_notifications(start=1, limit=10_000)
            if (envelope := to_integration_event(app.mapper.to_domain_event(n))) is not None
        ]
        [failed] = [e for e in published if e.event_type == "NotificationFailed"]
        assert failed.payload.applicant_id == applicant
        assert (failed.payload.reason, failed.payload.attempts) == (
            "recipient refused: SMTP 550",
            1,
        )
        assert "refused-an" not in failed.model_dump_json()

        # when the office corrects the address (an amendment, saying why) and resends
        api = build_http_api(app, IDENTITY.gate(), _vault[0])
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=api), base_url="http://notifications"
        ) as http:
            amended = await http.put(
                f"/recipients/{applicant}/address",
                json={"email": "an@example.org", "reason": "a typo, confirmed by phone"},
                headers=STAFF,
            )
            resent = await http.post(
                f"/notifications/{failed.payload.notification_id}/resend", headers=STAFF
            )
        assert amended.status_code == 200, amended.text
        assert "an@example.org" not in amended.text
        assert resent.status_code == 202, resent.text
        await mailer.step()

        # then the message reaches the corrected address, once
        [mail] = server.to("an@example.org")
        assert "we have received your application" in str(mail["Subject"])
        assert server.to("refused-an@example.org") == []
