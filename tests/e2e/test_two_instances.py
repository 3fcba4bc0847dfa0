"""Two instances of every service, as an operator runs them for availability: the
outcome is exactly that of one instance. Consumers share the partitions through their
consumer group; each log follower (relay, mailers, projector) is active in one
instance only, so no e-mail goes out twice and no event is published twice; and when
the active instance is killed, the other takes over and the work goes on."""

import json
import os
import re
import signal
import uuid
from collections import Counter
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from events import topics
from infra import InfraSettings
from infra import services as supervisor
from tests.e2e.forms import PDF, registration_form
from tests.e2e.journey import screen_and_select
from tests.matching_steps import match_with_a_host
from tests.support import (
    HTTP_PORTS,
    STAFF_TOKEN,
    Mailbox,
    body_of,
    cohort_window,
    database_of,
    eventually,
    fresh_cohort_id,
    identity_env,
    read_topic,
    wait_for_event,
)

STAFF = {"Authorization": f"Bearer {STAFF_TOKEN}"}
APPLICANTS = 3


def environments(infra: InfraSettings, port_shift: int, documents: str) -> dict:
    return {
        name: supervisor.service_environment(
            infra,
            name,
            port=HTTP_PORTS[name] + port_shift,
            database=database_of(name),
            identity=identity_env(name),
            # Links are opened at the first instance's address; either instance answers.
            extra={
                "PUBLIC_BASE_URL": f"http://127.0.0.1:{HTTP_PORTS[name] + 200}",
                # Eight processes on a PostgreSQL shared with other test sessions: small
                # pools (each follower holds a connection of its own besides).
                "PG_POOL_SIZE": "2",
                **({"DOCUMENTS_DIR": documents} if name == "registration" else {}),
            },
        )
        for name in supervisor.SERVICES
    }


def followers_of(base_url: str) -> dict[str, str]:
    return httpx.get(f"{base_url}/health/followers", timeout=5).json()["followers"]


def all_are(state: str, instance: dict[str, supervisor.RunningService]) -> bool:
    return all(
        set(followers_of(service.base_url).values()) == {state} for service in instance.values()
    )


@pytest.fixture(scope="module")
def instances(
    infra: InfraSettings, tmp_path_factory
) -> Iterator[tuple[dict[str, supervisor.RunningService], dict[str, supervisor.RunningService]]]:
    documents = str(tmp_path_factory.mktemp("two-instances-documents"))
    first = supervisor.start(infra, environments(infra, 200, documents), instance="a")
    second: list[supervisor.RunningService] = []
    try:
        second = supervisor.start(infra, environments(infra, 300, documents), instance="b")
        yield {s.name: s for s in first}, {s.name: s for s in second}
    finally:
        supervisor.stop(first + second)


def cohort_spec(cohort_id: str) -> dict:
    return {
        "cohort_id": cohort_id,
        **cohort_window(),
        "age_reference_date": "2025-08-25",
        "min_age": 18,
        "max_age": 40,
        "courses": [{"code": "B", "name": "Online", "mode": "online", "daily_allowance_yen": 1000}],
    }


async def register_with_documents(
    http: httpx.AsyncClient, registration: str, mailbox: Mailbox, cohort_id: str
) -> tuple[str, str]:
    """An applicant pre-registers, follows the mailed link, registers and uploads the
    outstanding documents; returns the address and the applicant id."""
    address = f"twice-{uuid.uuid4().hex[:10]}@example.org"
    r = await http.post(
        f"{registration}/cohorts/{cohort_id}/preregistrations", json={"email": address}
    )
    assert r.status_code == 202, r.text
    mail = (await mailbox.wait_for(address, "registration link", timeout=60))[0]
    link = re.search(r"(http://\S+)", body_of(mail))
    assert link is not None
    token = parse_qs(urlparse(link.group(1)).query)["token"][0]
    r = await http.post(f"{registration}/registrations", json=registration_form(token))
    assert r.status_code == 201, r.text
    registered = r.json()
    r = await http.post(
        f"{registration}/applicants/me/documents",
        headers={"Authorization": f"Bearer {registered['access_token']}"},
        files={
            kind: (f"{kind}.pdf", PDF + kind.encode(), "application/pdf")
            for kind in registered["outstanding_documents"]
        },
    )
    assert r.status_code == 201 and r.json()["outstanding_documents"] == [], r.text
    return address, registered["applicant_id"]


async def pass_interviews_and_match(
    http: httpx.AsyncClient, screening: str, matching: str, infra: InfraSettings, applicant: str
) -> None:
    await screen_and_select(http, infra, screening, applicant, STAFF)
    await wait_for_event(
        infra,
        topics.MATCHING,
        "CandidateEnteredPool",
        lambda e: e["payload"]["applicant_id"] == applicant,
        timeout=60,
    )
    cohort_id = (await http.get(f"{matching}/candidates/{applicant}", headers=STAFF)).json()[
        "cohort_id"
    ]
    await match_with_a_host(http, matching, STAFF, applicant, cohort_id)


def subjects_to(mailbox: Mailbox, address: str) -> list[str]:
    """The subjects of the mails to `address`, sorted; an invitation's without its time."""
    return sorted(str(m["Subject"]).split(" on ")[0] for m in mailbox.messages_to(address))


async def published_twice(infra: InfraSettings, *related: str) -> dict[str, int]:
    """Events about these applicants or this cohort that are on Kafka more than once."""
    seen: Counter[str] = Counter()
    for topic in topics.ALL_TOPICS:
        for _, value in await read_topic(infra, topic):
            text = json.dumps(value)
            if any(r in text for r in related):
                seen[f"{topic} {value.get('event_type')} {value.get('event_id')}"] += 1
    return {event: n for event, n in seen.items() if n > 1}


async def test_two_instances_of_every_service_give_the_outcome_of_one(
    instances, infra: InfraSettings, mailbox: Mailbox
):
    first, second = instances
    # The instance started first follows every log; the other stands by.
    await eventually(lambda: all_are("active", first), what="the first instance to follow")
    assert all_are("standby", second)

    async with httpx.AsyncClient(timeout=30) as http:
        cohort_id = fresh_cohort_id()
        r = await http.post(
            f"{second['registration'].base_url}/cohorts", headers=STAFF, json=cohort_spec(cohort_id)
        )
        assert r.status_code == 201, r.text

        # Applicants are served by either instance, alternately.
        applicants: dict[str, str] = {}
        for n in range(APPLICANTS):
            instance = (first, second)[n % 2]
            address, applicant = await register_with_documents(
                http, instance["registration"].base_url, mailbox, cohort_id
            )
            applicants[address] = applicant
        for n, applicant in enumerate(applicants.values()):
            instance = (second, first)[n % 2]
            screening, matching = instance["screening"].base_url, instance["matching"].base_url
            await pass_interviews_and_match(http, screening, matching, infra, applicant)

        expected = sorted(
            [
                "Your JIP registration link",
                *(
                    f"JIP {cohort_id}: {s}"
                    for s in (
                        "we have received your application",
                        "you meet the program's requirements",
                        "your documents are complete",
                        "your certificate of graduation is accepted",
                        "your language score certificate is accepted",
                        "your letter of recommendation is accepted",
                        "your first interview",
                        "you passed the first interview",
                        "your second interview",
                        "you passed the second interview",
                        "you have been selected",
                        "you are proposed to a host company",
                        "a host company has chosen you",
                        "your internship agreement is ready to sign",
                    )
                ),
            ]
        )
        for address in applicants:
            await mailbox.wait_for(address, "a host company has chosen you", timeout=60)
            await eventually(
                lambda a=address: len(subjects_to(mailbox, a)) >= len(expected),
                timeout=60,
                what="every e-mail of the applicant",
            )
        # Every e-mail once, every event once on Kafka: the outcome of one instance.
        for address in applicants:
            assert subjects_to(mailbox, address) == expected
        assert await published_twice(infra, cohort_id, *applicants.values()) == {}

        # When the active instance dies without a word (SIGKILL), the other takes over
        # every follower, and an applicant who comes now is served as before.
        for service in first.values():
            os.kill(service.process.pid, signal.SIGKILL)
        await eventually(
            lambda: all_are("active", second), timeout=60, what="the standby to take over"
        )
        registration = second["registration"].base_url
        address, applicant = await register_with_documents(http, registration, mailbox, cohort_id)
        await mailbox.wait_for(address, "your documents are complete", timeout=90)
        await wait_for_event(
            infra,
            topics.SCREENING,
            "ScreeningCaseOpened",
            lambda e: e["payload"]["applicant_id"] == applicant,
            timeout=90,
        )
        await mailbox.wait_for(address, "you meet the program's requirements", timeout=90)
        assert subjects_to(mailbox, address) == sorted(
            [
                "Your JIP registration link",
                f"JIP {cohort_id}: we have received your application",
                f"JIP {cohort_id}: you meet the program's requirements",
                f"JIP {cohort_id}: your documents are complete",
            ]
        )
        assert await published_twice(infra, applicant) == {}
