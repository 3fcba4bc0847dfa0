"""End to end, the rights of the privacy policy across the four services run as their
own processes. An applicant carried through registration, screening and matching first
asks for everything the program holds on them, then has it erased: afterwards nobody
can read them anywhere (not a bare Kafka consumer of every topic, not SQL over every
service's database, not the document folder) while the trail of their steps still
reads and its hash chain verifies. Another suspends the use of their data and stops its
provision to third parties: no mail, no match, not offered to host companies, until
they take it back."""

import json
import random
import re
import uuid
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import psycopg

from events import topics
from events.chain import verify_chain
from events.privacy import ERASED
from infra import InfraSettings, kafka
from infra import services as supervisor
from tests.e2e.conftest import processes_env
from tests.e2e.forms import PDF, registration_form
from tests.e2e.journey import open_cohort, screen_and_select, sign_every_agreement
from tests.matching_steps import match_with_a_host
from tests.support import (
    IDENTITY,
    STAFF,
    Mailbox,
    body_of,
    database_of,
    eventually,
    personal_data,
    wait_for_event,
)

OFFICER = {"Authorization": f"Bearer {IDENTITY.staff('privacy_officer', 'po-e2e')}"}
INTERVIEWER = {"Authorization": f"Bearer {IDENTITY.staff('interviewer', 'iv-e2e')}"}
MATCHER = {"Authorization": f"Bearer {IDENTITY.staff('matcher', 'mt-e2e')}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Person:
    """One graduate's values, unique to this run, so that a search finds only theirs."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:10]
        self.email = f"thao-{tag}@example.org"
        self.given_name = f"Thao{tag}"
        self.family_name = f"Pham{tag}"
        born = date(1990, 1, 1) + timedelta(days=random.randrange(3000))
        self.date_of_birth = born.isoformat()
        self.filenames = {}
        self.contents = {}
        self.tag = tag

    def document(self, kind: str) -> tuple[str, bytes, str]:
        self.filenames[kind] = f"{self.given_name}-{kind}.pdf"
        self.contents[kind] = PDF + f"{self.family_name}'s {kind}".encode()
        return (self.filenames[kind], self.contents[kind], "application/pdf")

    def values(self) -> list[str]:
        """Every personal value of theirs that some service received."""
        return [
            self.email,
            self.given_name,
            self.family_name,
            self.date_of_birth,
            *self.filenames.values(),
        ]


def everything_on_kafka(records: list) -> bytes:
    return b"\n".join(
        b"".join([r.key or b"", r.value or b"", *(v or b"" for _, v in r.headers or ())])
        for r in records
    )


def everything_in_the_databases(infra: InfraSettings) -> str:
    """Every row of every table of every service's database, as text (a `bytea` column,
    like the events' state, read as the UTF-8 it holds)."""
    parts = []
    for service in supervisor.SERVICES:
        with psycopg.connect(infra.postgres_dsn(database_of(service))) as conn:
            tables = conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            ).fetchall()
            for (table,) in tables:
                for row in conn.execute(f'SELECT * FROM "{table}"').fetchall():
                    for value in row:
                        if isinstance(value, (bytes, memoryview)):
                            parts.append(bytes(value).decode("utf-8", "replace"))
                        else:
                            parts.append(str(value))
    return "\n".join(parts)


async def test_an_applicant_carried_to_a_match_then_erased_is_readable_nowhere(
    processes, infra: InfraSettings, mailbox: Mailbox
):
    registration, screening, matching = (
        processes["registration"],
        processes["screening"],
        processes["matching"],
    )
    documents_dir = Path(processes_env["registration"]["JIP_REGISTRATION_DOCUMENTS_DIR"])
    person = Person()
    company_id = uuid.uuid4()
    company = bearer(IDENTITY.company(company_id))
    async with httpx.AsyncClient(timeout=60) as http:
        # -- registration -------------------------------------------------------------
        _, applicant_id, me = await registered_applicant(http, registration, mailbox, person)
        # Stored encrypted: the folder never holds the upload as it was sent.
        stored = b"".join(p.read_bytes() for p in documents_dir.rglob("*") if p.is_file())
        assert not any(content in stored for content in person.contents.values())
        await mailbox.wait_for(person.email, "we have received your application")

        # -- screening: two interviews passed -----------------------------------------
        await screen_and_select(
            http, infra, screening, applicant_id, INTERVIEWER, interviewer="iv-e2e"
        )

        # -- matching: the company chooses them, the agreement is signed ----------------
        await wait_for_event(
            infra,
            topics.MATCHING,
            "CandidateEnteredPool",
            lambda e: e["payload"]["applicant_id"] == applicant_id,
        )
        cohort_id = (
            await http.get(f"{matching}/candidates/{applicant_id}", headers=MATCHER)
        ).json()["cohort_id"]
        _, company, match = await match_with_a_host(
            http, matching, MATCHER, applicant_id, cohort_id, company_id
        )
        match_id = match["match_id"]
        await sign_every_agreement(
            http, matching, match_id, {"intern": me, "company": company, "office": MATCHER}
        )
        await mailbox.wait_for(person.email, "a host company has chosen you")

        # -- disclosure: everything every service holds, in clear ----------------------
        r = await http.post(
            f"{registration}/privacy/requests", json={"right": "disclosure"}, headers=me
        )
        assert r.status_code == 200, r.text
        assert r.json()["outcome"] == "done"
        export = r.json()["export"]
        assert set(export["services"]) == set(supervisor.SERVICES)
        text = str(export)
        for value in person.values():
            assert value in text, "the export is complete"
        # Each service told what it holds: notifications the address it mails.
        assert person.email in str(export["services"]["notifications"])
        assert match_id in str(export["services"]["matching"])

        # -- erasure, recorded by the privacy officer after checking who asks ----------
        r = await http.post(
            f"{registration}/privacy/subjects/{applicant_id}/requests",
            headers=OFFICER,
            json={"right": "deletion", "identity_check": "passport seen at the office"},
        )
        assert r.status_code == 200 and r.json()["outcome"] == "done", r.text
        await wait_for_event(
            infra,
            topics.REGISTRATION,
            "SubjectErased",
            lambda e: e["payload"]["subject_id"] == applicant_id,
        )

        # Their token no longer acts.
        r = await http.get(f"{registration}/applicants/me/status", headers=me)
        assert r.status_code == 401

        # -- nowhere in clear -----------------------------------------------------------
        every_topic = [*topics.ALL_TOPICS, *topics.DEAD_LETTER_TOPICS]
        on_kafka = everything_on_kafka(await kafka.read_all(infra, every_topic))
        for value in person.values():
            assert value.encode() not in on_kafka
        for content in person.contents.values():
            assert content not in on_kafka

        in_databases = everything_in_the_databases(infra)
        for value in person.values():
            assert value not in in_databases

        left = [p for p in documents_dir.rglob("*") if p.is_file()]
        stored = b"".join(p.read_bytes() for p in left)
        assert not any(content in stored for content in person.contents.values())
        assert not any(applicant_id in str(p) for p in left), "their documents are deleted"

        # A reader with the key store sees their sealed values as erased.
        vault = personal_data(infra)
        try:
            registered = await wait_for_event(
                infra,
                topics.REGISTRATION,
                "ApplicantRegistered",
                lambda e: e["payload"]["applicant_id"] == applicant_id,
            )
            opened_payload = vault.reveal(registered["payload"])
            assert opened_payload["given_name"] == ERASED
            assert opened_payload["email"] == ERASED
            assert opened_payload["nationality"] == "VN", "the non-personal facts stay"
        finally:
            vault.close()

        # -- the trail still reads, and its chain verifies ------------------------------
        for topic in (topics.REGISTRATION, topics.SCREENING, topics.MATCHING):
            records = await kafka.read_all(infra, [topic])
            events = []
            for record in records:
                try:
                    event = json.loads(record.value)
                except ValueError:
                    continue
                if isinstance(event, dict) and event.get("aggregate_id") == applicant_id:
                    events.append(event)
            assert events, f"{topic} holds the applicant's steps"
            assert verify_chain(events) is None

        async def records_of(base: str) -> dict | None:
            r = await http.get(f"{base}/privacy/subjects/{applicant_id}/records", headers=OFFICER)
            return r.json() if r.status_code == 200 else None

        trail = await eventually(lambda: records_of(registration), what="registration's trail")
        assert trail["erased"] is True
        steps = [e["type"] for e in trail["records"]["events"]]
        assert "Applicant.Registered" in steps and "Applicant.DocumentsSubmitted" in steps
        assert ERASED in str(trail) and person.given_name not in str(trail)
        screening_trail = await records_of(screening)
        assert screening_trail is not None and screening_trail["records"]["screening_case"]
        matching_trail = await records_of(matching)
        assert matching_trail is not None and match_id in str(matching_trail)


async def registered_applicant(
    http: httpx.AsyncClient, registration: str, mailbox: Mailbox, person: Person
) -> tuple[str, str, dict[str, str]]:
    """A new cohort and one applicant registered in it with every document: (cohort id,
    applicant id, the applicant's own headers)."""
    cohort_id = await open_cohort(http, registration)
    r = await http.post(
        f"{registration}/cohorts/{cohort_id}/preregistrations", json={"email": person.email}
    )
    assert r.status_code == 202
    link = body_of((await mailbox.wait_for(person.email, "registration link"))[0])
    token = parse_qs(urlparse(re.search(r"(http://\S+)", link).group(1)).query)["token"][0]
    form = {
        **registration_form(token),
        "given_name": person.given_name,
        "family_name": person.family_name,
        "date_of_birth": person.date_of_birth,
    }
    r = await http.post(f"{registration}/registrations", json=form)
    assert r.status_code == 201, r.text
    applicant_id, me = r.json()["applicant_id"], bearer(r.json()["access_token"])
    r = await http.post(
        f"{registration}/applicants/me/documents",
        headers=me,
        files={kind: person.document(kind) for kind in r.json()["outstanding_documents"]},
    )
    assert r.status_code == 201
    return cohort_id, applicant_id, me


async def test_suspended_use_and_stopped_provision_are_respected_by_every_service(
    processes, infra: InfraSettings, mailbox: Mailbox
):
    registration, screening, matching, notifications = (
        processes["registration"],
        processes["screening"],
        processes["matching"],
        processes["notifications"],
    )
    person = Person()
    company_id = uuid.uuid4()
    company = bearer(IDENTITY.company(company_id))
    async with httpx.AsyncClient(timeout=60) as http:
        cohort_id, applicant_id, me = await registered_applicant(
            http, registration, mailbox, person
        )
        await mailbox.wait_for(person.email, "your documents are complete")
        # The applicant suspends the use of their data, with their own token ...
        r = await http.post(
            f"{registration}/privacy/requests", json={"right": "suspension_of_use"}, headers=me
        )
        assert r.status_code == 200 and r.json()["outcome"] == "done", r.text
        await wait_for_event(
            infra,
            topics.REGISTRATION,
            "ProcessingRestricted",
            lambda e: e["payload"]["subject_id"] == applicant_id and e["payload"]["use_suspended"],
        )
        # ... and the office, unaware, records two passed interviews.
        await screen_and_select(
            http,
            infra,
            screening,
            applicant_id,
            INTERVIEWER,
            language="english",
            interviewer="iv-e2e",
        )
        await wait_for_event(
            infra,
            topics.MATCHING,
            "CandidateEnteredPool",
            lambda e: e["payload"]["applicant_id"] == applicant_id,
        )

        # Notifications withholds their mail, saying why ...
        async def results_mail() -> list[dict] | None:
            r = await http.get(
                f"{notifications}/notifications",
                params={"applicant_id": applicant_id},
                headers=STAFF,
            )
            owed = [n for n in r.json()["notifications"] if n["template"] == "interview_passed"]
            return owed if len(owed) == 2 and all(n["state"] == "withheld" for n in owed) else None

        withheld = await eventually(results_mail, what="both results withheld")
        assert all(n["not_sent_because"] for n in withheld)
        assert not [
            m for m in mailbox.messages_to(person.email) if "interview" in str(m["Subject"])
        ]
        # ... matching refuses to match them, naming why ...
        decision = {"applicant_id": applicant_id, "company_id": str(company_id), "course": "B"}

        async def refused() -> httpx.Response | None:
            r = await http.post(f"{matching}/matches", headers=company, json=decision)
            return r if r.status_code == 409 else None

        refusal = await eventually(refused, what="the match refused")
        assert "suspend" in refusal.text
        # ... and host companies are not offered them.
        pool_url = f"{matching}/cohorts/{cohort_id}/pool"

        async def offered() -> list[str]:
            r = await http.get(pool_url, headers=company)
            assert r.status_code == 200, r.text
            return [c["applicant_id"] for c in r.json()["candidates"]]

        assert applicant_id not in await offered()

        # Once they resume, the withheld mail goes out in the order of their path.
        r = await http.post(
            f"{registration}/privacy/requests", json={"right": "resumption_of_use"}, headers=me
        )
        assert r.json()["outcome"] == "done", r.text
        await mailbox.wait_for(person.email, "you passed the second interview", timeout=60)
        subjects = [str(m["Subject"]) for m in mailbox.messages_to(person.email)]
        first = next(i for i, s in enumerate(subjects) if "first interview" in s)
        second = next(i for i, s in enumerate(subjects) if "second interview" in s)
        assert first < second
        await eventually(
            lambda: _contains(offered, applicant_id), what="offered to host companies again"
        )

        # The privacy officer records that they stop the provision to third parties:
        # host companies are no longer offered them, although matching may go on.
        r = await http.post(
            f"{registration}/privacy/subjects/{applicant_id}/requests",
            headers=OFFICER,
            json={"right": "stop_third_party_provision", "identity_check": "video call, ID shown"},
        )
        assert r.status_code == 200 and r.json()["outcome"] == "done", r.text
        await eventually(
            lambda: _lacks(offered, applicant_id), what="no longer offered to host companies"
        )
        answered = await wait_for_event(
            infra,
            topics.REGISTRATION,
            "PrivacyRequestAnswered",
            lambda e: (
                e["payload"]["subject_id"] == applicant_id
                and e["payload"]["right"] == "stop_third_party_provision"
            ),
        )
        assert answered["payload"]["requested_by"] == "privacy_officer"
        assert answered["payload"]["identity_check"] == "video call, ID shown"
        assert answered["actor"]["role"] == "privacy_officer"


async def _contains(offered, applicant_id: str) -> bool:
    return applicant_id in await offered()


async def _lacks(offered, applicant_id: str) -> bool:
    return applicant_id not in await offered()
