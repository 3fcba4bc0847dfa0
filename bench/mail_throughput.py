"""E-mails per second from notifications' mailer to the local SMTP server.

    .venv/bin/python -m bench.mail_throughput [--mails 2000]

Uses the stack `python -m infra up` runs (PostgreSQL, the aiosmtpd Maildir server), with
the usual JIP_* variables (JIP_SMTP_PORT, JIP_VAR_DIR, ...). A fresh database
`jip_bench_mail` is filled with N welcomes owed (through the service's real inbox and
policy, not timed), then the service's own mailer sends them all: the time from its
first look at the log to the last outcome recorded, and the CPU it used per mail.
Prints one JSON object. The benchmark's own messages are removed from the server's
Maildir afterwards (tests read that Maildir whole, and thousands of messages slow them).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import mailbox
import time
import uuid
from pathlib import Path
from typing import Any

from eventsourcing.utils import get_topic

from events import registration, topics
from infra import InfraSettings, postgres
from runtime.inbox import Inbox, ReceivedRecord
from runtime.mail import smtp_mailer
from services.notifications.adapters.mail import NotificationMailer
from services.notifications.application.service import NotificationsApplication
from services.notifications.domain.notification import Notification
from services.notifications.settings import NotificationsSettings
from tests.envelopes import upstream

DATABASE = "jip_bench_mail"


def owe_welcomes(app: NotificationsApplication, count: int) -> None:
    inbox = Inbox(app, accepts=NotificationsApplication.consumed_event_types())
    for offset in range(count):
        applicant = uuid.uuid4()
        event = upstream(
            registration.ApplicantRegistered,
            aggregate_id=applicant,
            email=f"bench-{applicant.hex[:12]}@example.org",
        )
        inbox.receive(
            ReceivedRecord(topics.REGISTRATION, 0, offset, event.model_dump_json().encode())
        )


def remove_bench_mail(mail_dir: Path) -> None:
    if not (mail_dir / "new").is_dir():
        return
    box = mailbox.Maildir(mail_dir, create=False)
    for key in list(box.keys()):
        with contextlib.suppress(KeyError):
            if str(box.get_message(key)["To"]).startswith("bench-"):
                box.remove(key)


async def measure(infra: InfraSettings, count: int, connections: int) -> dict[str, Any]:
    postgres.drop_database(infra, DATABASE)
    postgres.ensure_database(infra, DATABASE)
    settings = NotificationsSettings(
        pg_host=infra.pg_host,
        pg_port=infra.pg_port,
        pg_database=DATABASE,
        pg_user=infra.pg_user,
        pg_password=infra.pg_password,
        smtp_host=infra.smtp_host,
        smtp_port=infra.smtp_port,
        smtp_connections=connections,
    )
    app = NotificationsApplication(settings.event_store_env())
    try:
        owe_welcomes(app, count)
        mailer = NotificationMailer(app, smtp_mailer(settings))
        started, cpu = time.perf_counter(), time.process_time()
        while await mailer.step():
            pass
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        await mailer.mailer.close()
        sent_topic = get_topic(Notification.Sent)  # type: ignore[attr-defined]
        sent = len(
            app.recorder.select_notifications(start=1, limit=10 * count, topics=[sent_topic])
        )
    finally:
        app.close()
        postgres.drop_database(infra, DATABASE)
        remove_bench_mail(infra.mail_dir)
    return {
        "benchmark": "mail",
        "mails": count,
        "smtp_connections": connections,
        "sent": sent,
        "seconds": round(elapsed, 3),
        "mails_per_second": round(sent / elapsed, 1),
        "cpu_ms_per_mail": round(1000 * cpu / max(sent, 1), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mails", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(InfraSettings(), args.mails, args.connections))))


if __name__ == "__main__":
    main()
