"""End to end: the four services as their own processes (as an operator runs them) on
the real Kafka, PostgreSQL and SMTP server. One applicant goes from an HTTP request to
an agreement; each hop is checked where its users would see it."""

import json
import os
import re
import subprocess
import sys
import uuid
from urllib.parse import parse_qs, urlparse

import httpx
import psycopg
from aiokafka import AIOKafkaProducer

from events import topics
from infra import InfraSettings
from tests.e2e.conftest import processes_env
from tests.e2e.forms import PDF, registration_form
from tests.e2e.journey import open_cohort, screen_and_select, sign_every_agreement
from tests.matching_steps import match_with_a_host
from tests.support import (
    STAFF_TOKEN,
    Mailbox,
    body_of,
    database_of,
    wait_for_event,
)

STAFF = {"Authorization": f"Bearer {STAFF_TOKEN}"}


async def publish_raw(infra: InfraSettings, topic: str, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=b"garbage")
    finally:
        await producer.stop()


def stored_event_types(infra: InfraSettings, applicant_id: str) -> list[str]:
    """What registration's own event store holds for the applicant (PostgreSQL)."""
    with psycopg.connect(infra.postgres_dsn(database_of("registration"))) as conn:
        rows = conn.execute(
            "SELECT topic FROM registration_events WHERE originator_id = %s"
            " ORDER BY originator_version",
            (uuid.UUID(applicant_id),),
        ).fetchall()
    return [row[0].rsplit(".", 1)[-1] for row in rows]


async def test_one_applicant_from_an_http_request_to_a_signed_agreement(
    processes, infra: InfraSettings, mailbox: Mailbox
):
    async with httpx.AsyncClient(timeout=30) as http:
        registration, screening, matching = (
            processes["registration"],
            processes["screening"],
            processes["matching"],
        )
        cohort_id = await open_cohort(http, registration)

        # A malformed request gets a clear 4xx.
        r = await http.post(
            f"{registration}/cohorts/{cohort_id}/preregistrations", json={"email": "no-at-sign"}
        )
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "email"

        # One HTTP request ...
        address = f"e2e-{uuid.uuid4().hex[:10]}@example.org"
        flow = str(uuid.uuid4())
        r = await http.post(
            f"{registration}/cohorts/{cohort_id}/preregistrations",
            json={"email": address},
            headers={"X-Correlation-ID": flow},
        )
        assert r.status_code == 202
        # ... becomes an event on Kafka (the address sealed), read back by an independent
        # consumer ...
        preregistered = await wait_for_event(
            infra,
            topics.REGISTRATION,
            "ApplicantPreregistered",
            lambda e: e["correlation_id"] == flow,
        )
        assert address not in str(preregistered)
        applicant_id = preregistered["payload"]["applicant_id"]
        # ... which was first an event in registration's store in PostgreSQL ...
        assert stored_event_types(infra, applicant_id)[:2] == [
            "Preregistered",
            "RegistrationLinkIssued",
        ]
        # ... and an e-mail received by the SMTP server.
        link_mail = (await mailbox.wait_for(address, "registration link"))[0]
        token = parse_qs(urlparse(re.search(r"(http://\S+)", body_of(link_mail)).group(1)).query)[
            "token"
        ][0]

        # A malformed message on the topic the other services consume stops none of them.
        await publish_raw(infra, topics.REGISTRATION, b"{this is not an event")
        await publish_raw(
            infra,
            topics.REGISTRATION,
            json.dumps(
                {
                    **preregistered,
                    "event_id": str(uuid.uuid4()),
                    "event_type": "ApplicantRegistered",
                    "payload": {"applicant_id": "not-a-uuid"},
                }
            ).encode(),
        )

        r = await http.post(
            f"{registration}/registrations",
            json=registration_form(token),
        )
        assert r.status_code == 201, r.text
        me = {"Authorization": f"Bearer {r.json()['access_token']}"}
        r = await http.post(
            f"{registration}/applicants/me/documents",
            headers=me,
            files={
                kind: (f"{kind}.pdf", PDF + kind.encode(), "application/pdf")
                for kind in r.json()["outstanding_documents"]
            },
        )
        assert r.status_code == 201 and r.json()["outstanding_documents"] == []

        # Notifications consumed ApplicantRegistered (after the garbage) and mailed it.
        await mailbox.wait_for(address, "we have received your application")
        # Screening consumed it too and opened a case, where the office records two
        # passed interviews.
        await screen_and_select(http, infra, screening, applicant_id, STAFF)
        await wait_for_event(
            infra,
            topics.SCREENING,
            "InterviewPassed",
            lambda e: (
                e["payload"]["applicant_id"] == applicant_id and e["payload"]["stage"] == "second"
            ),
        )
        await wait_for_event(
            infra,
            topics.MATCHING,
            "CandidateEnteredPool",
            lambda e: e["payload"]["applicant_id"] == applicant_id,
        )

        # The office registers a host company; a round proposes the candidate to it and
        # the company's own user confirms.
        _, company, match = await match_with_a_host(http, matching, STAFF, applicant_id, cohort_id)
        match_id = match["match_id"]
        confirmed = await wait_for_event(
            infra, topics.MATCHING, "MatchConfirmed", lambda e: e["payload"]["match_id"] == match_id
        )
        # Course B is online: one agreement per pair of parties, each party signing
        # under its own identity.
        agreements = await sign_every_agreement(
            http, matching, match_id, {"intern": me, "company": company, "office": STAFF}
        )
        assert [a["parties"] for a in agreements] == [
            ["office", "intern"],
            ["office", "company"],
            ["intern", "company"],
        ]
        for agreement in agreements:
            signed = await wait_for_event(
                infra,
                topics.MATCHING,
                "AgreementSigned",
                lambda e, a=agreement: e["payload"]["agreement_id"] == a["agreement_id"],
            )
            assert signed["payload"]["structure"] == "per_pair"
        # Once matched, the applicant cannot withdraw.
        r = await http.post(f"{matching}/candidates/{applicant_id}/withdrawal", headers=me)
        assert r.status_code == 409, r.text

        # The applicant is told of the match by e-mail, and the office's log says so
        # without repeating the address.
        await mailbox.wait_for(address, "a host company has chosen you")
        sent = await wait_for_event(
            infra,
            topics.NOTIFICATIONS,
            "NotificationSent",
            lambda e: e["payload"]["cause_event_id"] == confirmed["event_id"],
        )
        assert address not in json.dumps(sent)

    # The operator finds the garbage set aside by each consumer, with the reason.
    for service in ("screening", "notifications"):
        report = subprocess.run(
            [sys.executable, "-m", f"services.{service}", "quarantine"],
            env={**os.environ, **processes_env[service]},
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
        assert "jip.registration.v1" in report
        assert "Invalid JSON" in report
