"""Consumer: K valid `ApplicantRegistered` records published straight onto registration's
topic; how fast screening, notifications and the audit process them, against a bare aiokafka
consumer reading the same records in the same run (and reading + parsing them).

Then e-mail: the notifications those records owe, sent by notifications' mailer to the
local SMTP server, against a bare aiosmtplib client."""

from __future__ import annotations

import asyncio
import time
import uuid

from bench import probes, ui
from bench.results import Figure
from bench.services import in_process, running
from bench.stack import clear_mail, database_of, mail_count
from events import codec, topics
from events.envelope import Envelope
from infra import InfraSettings
from tests.envelopes import applicant_registered, cohort_opened
from tests.support import personal_data

#: Bare reads are repeated and the fastest kept: on a shared machine, the fastest is
#: the one least disturbed.
REPEATS = 3
CONSUMER_TARGET = "≥ 1/5 of the parse-only read (≥ 2,000/s)"
#: The services whose inbox is measured: two that act on registrations, and the audit,
#: which keeps every record (and indexes it in its history table as it goes).
CONSUMERS = ("screening", "notifications", "audit")


def record_of(event: Envelope) -> probes.Record:  # type: ignore[type-arg]
    """A record exactly as a relay writes it (events/codec.py)."""
    headers = [(k, v.encode()) for k, v in codec.headers(event).items()]
    return codec.key(event), codec.encode(event), headers


async def run(settings: InfraSettings, records: int, timeout: float) -> list[Figure]:
    topic = topics.REGISTRATION
    # The cohort is announced first and every service has read it before the backlog
    # arrives, as in production. (Met after the backlog, screening parks each case on
    # a bounded wait-list page until the cohort arrives: see WaitListPage.)
    cohort = [record_of(cohort_opened())]
    await probes.publish_all(settings, topic, cohort)
    announced = await probes.end_offsets(settings, topic)
    for service in CONSUMERS:
        with ui.phase(f"{service} reading the cohort", 1) as update:
            await consume(settings, service, announced, 1, timeout, update)

    with ui.phase(f"building {records:,} ApplicantRegistered", records) as update:
        # The same builders as the tests (golden samples, validated by the contract's
        # own models), so the records stay valid however the envelope evolves.
        # Sealed with the bench stack's own key store, as registration seals them:
        # sealed with the tests' sample key instead, every address reads as erased to
        # notifications, which then cancels every mail (the mailer measured nothing).
        vault = personal_data(settings)
        events = []
        try:
            for i in range(records):
                events.append(applicant_registered(uuid.uuid4(), vault=vault))
                if i % 500 == 0:
                    update(i)
        finally:
            vault.close()
        update(records)
        batch = [record_of(e) for e in events]
    with ui.phase(f"publishing onto {topic}", len(batch)) as update:
        await probes.publish_all(settings, topic, batch, update)
    ends = await probes.end_offsets(settings, topic)
    total = sum(ends.values())

    figures: list[Figure] = []
    with ui.phase(f"bare aiokafka read, best of {REPEATS}", total) as update:
        n, seconds = await best_read(settings, topic, total, parse=False)
        update(n)
    read = Figure.rate("consumer", "bare aiokafka read", n, seconds, "records/s")
    with ui.phase(f"bare aiokafka read + parse_event, best of {REPEATS}", total) as update:
        n, seconds = await best_read(settings, topic, total, parse=True)
        update(n)
    parsed = Figure.rate(
        "consumer",
        "bare read + envelope parse (events.catalog.parse_event)",
        n,
        seconds,
        "records/s",
        limit="bare read",
        limit_value=read.value,
    )
    figures += [read, parsed]

    processed: dict[str, int] = {}
    for service in CONSUMERS:
        cpu0 = time.process_time()
        with ui.phase(f"{service} consuming", total) as update:
            watched = await consume(settings, service, ends, total, timeout, update, baseline=1)
        cpu = time.process_time() - cpu0
        processed[service] = watched.count
        count, seconds = probes.rate_window(watched)
        figures.append(
            Figure.rate(
                "consumer",
                f"{service} inbox (in-process)",
                count,
                seconds,
                "records/s",
                limit="bare read + parse",
                limit_value=parsed.value,
                target=CONSUMER_TARGET,
                complete=watched.complete,
                details={
                    "startup_seconds": watched.startup_seconds,
                    "processed": watched.count - 1,
                    "of": records,
                    "cpu_ms_per_record": round(1000 * cpu / max(watched.count, 1), 2),
                    "summary": f"{1000 * cpu / max(watched.count, 1):.1f} ms CPU/record",
                },
            )
        )

    # Each ApplicantRegistered notifications processed owes one welcome mail (the
    # first record is the cohort).
    owed = max(processed["notifications"] - 1, 0)
    figures += await mail_from_notifications(settings, owed, timeout)
    return figures


async def best_read(
    settings: InfraSettings, topic: str, total: int, *, parse: bool
) -> tuple[int, float]:
    """The fastest of a few bare reads: the limit, on a shared machine."""
    reads = [await probes.bare_read(settings, topic, total, parse=parse) for _ in range(REPEATS)]
    return min(reads, key=lambda r: r[1] / max(r[0], 1))


async def consume(
    settings: InfraSettings,
    service: str,
    ends: dict[int, int],
    target: int,
    timeout: float,
    update: probes.Progress,
    *,
    baseline: int = 0,
) -> probes.Watched:
    """Run the service's inbox (and its relay, which publishes what it decides; not
    notifications' mailer, measured on its own) until it has processed the topic up to
    `ends`."""
    process = await in_process(
        settings, service, followers=lambda name: not name.startswith("mailer:")
    )
    consumed = probes.ConsumedRecords(settings, database_of(service), service, ends)
    try:
        async with running(process):
            return await probes.watch(
                lambda: asyncio.to_thread(consumed.count, topics.REGISTRATION),
                target,
                timeout=timeout,
                progress=update,
                interval=0.1,
                baseline=baseline,
            )
    finally:
        consumed.close()


async def mail_from_notifications(
    settings: InfraSettings, owed: int, timeout: float
) -> list[Figure]:
    """The welcome mails owed by the records consumed above, sent by notifications'
    mailer alone (its inbox has nothing left to read)."""
    clear_mail(settings)
    with ui.phase(f"bare aiosmtplib, {owed:,} messages", owed) as update:
        seconds = await probes.bare_smtp(settings, owed, update)
    bare = Figure.rate("e-mail", "bare aiosmtplib client, one connection", owed, seconds, "mails/s")
    clear_mail(settings)
    process = await in_process(
        settings, "notifications", followers=lambda name: name.startswith("mailer:")
    )
    cpu0 = time.process_time()
    with ui.phase("notifications mailing", owed) as update:
        async with running(process):
            watched = await probes.watch(
                lambda: asyncio.to_thread(mail_count, settings),
                owed,
                timeout=timeout,
                progress=update,
                interval=0.1,
            )
    cpu = time.process_time() - cpu0
    count, seconds = probes.rate_window(watched)
    clear_mail(settings)
    return [
        bare,
        Figure.rate(
            "e-mail",
            "notifications mailer (in-process) → SMTP",
            count,
            seconds,
            "mails/s",
            limit="bare aiosmtplib",
            limit_value=bare.value,
            target="≥ 200 mails/s",
            complete=watched.complete,
            details={
                "sent": watched.count,
                "of": owed,
                "startup_seconds": watched.startup_seconds,
                "cpu_ms_per_mail": round(1000 * cpu / max(watched.count, 1), 2),
                "summary": f"{1000 * cpu / max(watched.count, 1):.1f} ms CPU/mail",
            },
        ),
    ]
