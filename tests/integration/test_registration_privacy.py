"""The rights of the privacy policy at registration, on the real stack: each asked over
HTTP by the applicant with their own token or recorded by the privacy officer after an
identity check, answered with its outcome (over HTTP and as `PrivacyRequestAnswered` on
Kafka), and respected: a suspended or erased applicant gets no registration link, an
erased one can no longer act, and nothing of theirs can be read in clear any more, on
the topic or in registration's store, read model and document folder, while their
events' chain still verifies."""

import asyncio
import base64
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn

from events import topics
from events.chain import verify_chain
from events.privacy import ERASED, is_sealed
from infra import InfraSettings
from runtime.http import build_app
from runtime.privacy import PersonalData
from runtime.privacy_api import subject_records_router
from runtime.process import ServiceProcess
from services.registration.application.service import RegistrationApplication
from services.registration.bootstrap import bootstrap
from services.registration.domain.applicant import EmailClaim
from tests.integration.test_registration import (
    PDF,
    STAFF,
    open_cohort,
    registration_form,
    token_from_link_mail,
)
from tests.smtp_servers import free_port
from tests.support import (
    IDENTITY,
    Mailbox,
    database_of,
    eventually,
    healthy,
    personal_data,
    read_topic,
    registration_settings,
    running,
    service_env,
    wait_for_event,
)

#: The privacy officer, who records requests made to the office.
OFFICER = {"Authorization": f"Bearer {IDENTITY.staff('privacy_officer', 'office-staff')}"}

#: A peer service's part of a disclosure (what the test's stand-in for screening holds).
PEER_NOTES: dict[uuid.UUID, str] = {}


@pytest.fixture(scope="module")
def vault(infra: InfraSettings) -> Iterator[PersonalData]:
    # Closed after the module: the PostgreSQL server's connections are shared.
    data = personal_data(infra)
    yield data
    data.close()


@pytest.fixture(scope="module")
async def peer(vault: PersonalData) -> AsyncIterator[str]:
    """Another service answering its part of a disclosure with the shared router
    (`runtime.privacy_api`), holding one sealed note per subject."""

    async def records_of(subject_id: uuid.UUID) -> dict[str, Any]:
        note = PEER_NOTES.get(subject_id)
        return {"notes": [] if note is None else [note]}

    api = build_app(
        title="peer",
        description="a service's part of a disclosure",
        routers=[subject_records_router("screening", records_of, vault)],
        gate=IDENTITY.gate(),
    )
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(api, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=url) as http:
        await eventually(lambda: healthy(http), what="the peer to answer")
    yield url
    server.should_exit = True
    await task


@pytest.fixture(scope="module")
async def registration(
    infra: InfraSettings, tmp_path_factory: pytest.TempPathFactory, peer: str
) -> AsyncIterator[ServiceProcess]:
    settings = registration_settings(
        infra, tmp_path_factory.mktemp("documents"), privacy_peers={"screening": peer}
    )
    process = await bootstrap(settings)
    async with running(process):
        yield process


@pytest.fixture
async def client(registration: ServiceProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{registration.http_port}", timeout=60
    ) as c:
        yield c


def app_of(process: ServiceProcess) -> RegistrationApplication:
    app = process.followers[0].app
    assert isinstance(app, RegistrationApplication)
    return app


class Person:
    """One applicant's values, unique to this test run, so that a search for them finds
    only theirs."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:8]
        self.email = f"erin-{tag}@example.org"
        self.given_name = f"Erin{tag}"
        self.family_name = f"Okafor{tag}"
        self.date_of_birth = "1999-03-17"
        self.filename = f"Erin-{tag}-enrollment.pdf"
        self.document = PDF + f"Erin {tag}'s certificate".encode()
        self.reason = f"Passport {tag} corrected"
        self.request = f"My family name is now Mensah{tag}"

    def values(self) -> list[str]:
        return [
            self.email,
            self.given_name,
            self.family_name,
            self.date_of_birth,
            self.filename,
            self.reason,
            self.request,
        ]


async def registered(client: httpx.AsyncClient, mailbox: Mailbox, person: Person) -> dict:
    cohort_id = await open_cohort(client)
    r = await client.post(f"/cohorts/{cohort_id}/preregistrations", json={"email": person.email})
    assert r.status_code == 202
    token = await token_from_link_mail(mailbox, person.email)
    form = registration_form(
        token,
        given_name=person.given_name,
        family_name=person.family_name,
        date_of_birth=person.date_of_birth,
    )
    r = await client.post("/registrations", json=form)
    assert r.status_code == 201, r.text
    return {**r.json(), "cohort_id": cohort_id}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def answered(infra: InfraSettings, request_id: str) -> dict:
    return await wait_for_event(
        infra,
        topics.REGISTRATION,
        "PrivacyRequestAnswered",
        lambda e: e["payload"]["request_id"] == request_id,
    )


def stored_text(infra: InfraSettings) -> str:
    """Every row of every table of registration's database, as text: its event store
    (the notification log is the same table), tracking positions and read model."""
    dsn = infra.postgres_dsn(database_of("registration"))
    with psycopg.connect(dsn) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            ).fetchall()
        ]
        parts = []
        for table in tables:
            rows = conn.execute(f'SELECT t::text FROM "{table}" t').fetchall()
            parts.extend(row[0] for row in rows)
            if table.endswith("_events"):
                # The event's state is bytes (JSON): read it as the text it encodes.
                states = conn.execute(
                    f"SELECT convert_from(state, 'UTF8') FROM \"{table}\""
                ).fetchall()
                parts.extend(row[0] for row in states)
    return "\n".join(parts)


# -- restriction ---------------------------------------------------------------------------


async def test_the_applicant_suspends_and_resumes_use_and_stops_third_party_provision(
    client, mailbox, infra
):
    person = Person()
    applicant = await registered(client, mailbox, person)
    me = bearer(applicant["access_token"])

    suspended = await client.post(
        "/privacy/requests", json={"right": "suspension_of_use"}, headers=me
    )
    assert suspended.status_code == 200, suspended.text
    assert suspended.json()["outcome"] == "done"
    stopped = await client.post(
        "/privacy/requests", json={"right": "stop_third_party_provision"}, headers=me
    )
    resumed = await client.post(
        "/privacy/requests", json={"right": "resumption_of_use"}, headers=me
    )
    provided = await client.post(
        "/privacy/requests", json={"right": "resumption_of_third_party_provision"}, headers=me
    )
    again = await client.post("/privacy/requests", json={"right": "resumption_of_use"}, headers=me)
    assert again.json()["outcome"] == "done"
    assert again.json()["outcome_reason"] == "no change: it already stood so"

    # Each change is published with both flags as they now stand, in order.
    async def restrictions() -> list[dict] | None:
        found = [
            e["payload"]
            for _, e in await read_topic(infra, topics.REGISTRATION)
            if e.get("event_type") == "ProcessingRestricted"
            and e["payload"]["subject_id"] == applicant["applicant_id"]
        ]
        return found if len(found) == 4 else None

    flags = [
        (p["use_suspended"], p["third_party_provision_stopped"], p["request_id"])
        for p in await eventually(restrictions, what="four restrictions")
    ]
    assert flags == [
        (True, False, suspended.json()["request_id"]),
        (True, True, stopped.json()["request_id"]),
        (False, True, resumed.json()["request_id"]),
        (False, False, provided.json()["request_id"]),
    ]
    answer = (await answered(infra, suspended.json()["request_id"]))["payload"]
    assert answer["right"] == "suspension_of_use" and answer["outcome"] == "done"
    assert answer["requested_by"] == "subject" and answer["identity_check"] is None
    assert answer["subject_kind"] == "applicant"


async def test_no_registration_link_goes_to_an_applicant_whose_use_is_suspended(
    client, mailbox, infra, registration
):
    person = Person()
    cohort_id = await open_cohort(client)
    await client.post(f"/cohorts/{cohort_id}/preregistrations", json={"email": person.email})
    await token_from_link_mail(mailbox, person.email)
    app = app_of(registration)
    claim = app.find(app.claim_id_of(cohort_id, person.email), EmailClaim)
    applicant_id = str(claim.applicant_id)

    # The applicant has no access token before registering: the office records the
    # request, after checking who asks.
    url = f"/privacy/subjects/{applicant_id}/requests"
    body = {"right": "suspension_of_use", "identity_check": "called back on the number on file"}
    assert (await client.post(url, json=body)).status_code == 401
    unchecked = await client.post(url, json={"right": "suspension_of_use"}, headers=OFFICER)
    assert unchecked.status_code == 422 and unchecked.json()["errors"][0]["field"] == (
        "identity_check"
    )
    unknown = await client.post(
        f"/privacy/subjects/{uuid.uuid4()}/requests", json=body, headers=OFFICER
    )
    assert unknown.status_code == 404
    r = await client.post(url, json=body, headers=OFFICER)
    assert r.status_code == 200 and r.json()["outcome"] == "done"
    answer = (await answered(infra, r.json()["request_id"]))["payload"]
    assert answer["requested_by"] == "privacy_officer"
    assert answer["identity_check"] == "called back on the number on file"

    # A new link asked for while suspended is recorded as not sendable, not sent.
    r = await client.post(f"/cohorts/{cohort_id}/registration-links", json={"email": person.email})
    assert r.status_code == 202

    async def not_sendable() -> dict | None:
        listed = (await client.get("/mail/undeliverable", headers=STAFF)).json()["messages"]
        mine = [m for m in listed if m["applicant_id"] == applicant_id]
        return mine[0] if mine else None

    refused = await eventually(not_sendable, what="the link recorded as not sendable")
    assert "suspended" in refused["reason"]
    assert len(mailbox.messages_to(person.email)) == 1, "only the first link was sent"


# -- amendment and addition ------------------------------------------------------------------


async def test_an_applicants_amendment_request_is_answered_when_the_office_makes_it(
    client, mailbox, infra, vault
):
    person = Person()
    applicant = await registered(client, mailbox, person)
    me = bearer(applicant["access_token"])

    missing = await client.post("/privacy/requests", json={"right": "amendment"}, headers=me)
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "details"
    asked = await client.post(
        "/privacy/requests", json={"right": "amendment", "details": person.request}, headers=me
    )
    assert asked.status_code == 202, asked.text
    assert asked.json()["outcome"] == "pending"
    request_id = asked.json()["request_id"]

    # The office reads what is asked (opened for it), then makes the change naming it.
    seen = await client.get(f"/privacy/requests/{request_id}", headers=OFFICER)
    assert seen.json()["details"] == person.request and seen.json()["outcome"] is None
    new_name = f"Mensah{uuid.uuid4().hex[:6]}"
    r = await client.post(
        f"/applicants/{applicant['applicant_id']}/amendments",
        json={
            "changes": {"family_name": new_name},
            "reason": person.reason,
            "request_id": request_id,
        },
        headers=OFFICER,
    )
    assert r.status_code == 200 and r.json() == {"amended": True}
    answer = (await answered(infra, request_id))["payload"]
    assert (answer["right"], answer["outcome"]) == ("amendment", "done")
    amended = await wait_for_event(
        infra,
        topics.REGISTRATION,
        "ApplicantDetailsAmended",
        lambda e: e["payload"]["applicant_id"] == applicant["applicant_id"],
    )
    assert vault.reveal(amended["payload"]["changes"]) == {"family_name": new_name}
    # Answered once: the same request cannot be answered again.
    twice = await client.post(
        f"/applicants/{applicant['applicant_id']}/amendments",
        json={"changes": {"family_name": "Other"}, "reason": "again", "request_id": request_id},
        headers=OFFICER,
    )
    assert twice.status_code == 409

    # An addition the office cannot make is refused, with the reason.
    added = await client.post(
        "/privacy/requests",
        json={"right": "addition", "details": "Please add my second nationality"},
        headers=me,
    )
    assert added.status_code == 202
    refusal = await client.post(
        f"/privacy/requests/{added.json()['request_id']}/refusal",
        json={"reason": "the form has one nationality; tell us at the interview"},
        headers=OFFICER,
    )
    assert refusal.status_code == 200 and refusal.json()["outcome"] == "refused"
    answer = (await answered(infra, added.json()["request_id"]))["payload"]
    assert answer["outcome"] == "refused" and "interview" in answer["outcome_reason"]


# -- disclosure and deletion -------------------------------------------------------------------


async def test_disclosure_then_deletion_leaves_nothing_readable_and_the_trail_verifiable(
    client, mailbox, infra, vault, registration
):
    # Given a registered applicant with a document, an amendment request and a peer
    # service's note about them
    person = Person()
    applicant = await registered(client, mailbox, person)
    applicant_id = applicant["applicant_id"]
    me = bearer(applicant["access_token"])
    r = await client.post(
        "/applicants/me/documents",
        files={"certificate_of_enrollment": (person.filename, person.document)},
        headers=me,
    )
    assert r.status_code == 201, r.text
    await client.post(
        "/privacy/requests", json={"right": "amendment", "details": person.request}, headers=me
    )
    await client.post(
        f"/applicants/{applicant_id}/amendments",
        json={"changes": {"given_name": person.given_name + "a"}, "reason": person.reason},
        headers=OFFICER,
    )
    peer_note = f"peer note on {person.given_name}"
    PEER_NOTES[uuid.UUID(applicant_id)] = vault.seal(uuid.UUID(applicant_id), peer_note)
    folder = registration.http.state.documents.root / applicant_id
    on_disk = b"".join(path.read_bytes() for path in folder.iterdir())
    assert person.document not in on_disk and person.filename not in str(list(folder.iterdir()))
    # and the office's reviewers (and the auditor) download it, decrypted, by its id
    [stored] = registration.http.state.application.get_applicant(uuid.UUID(applicant_id)).documents
    document_url = f"/applicants/{applicant_id}/documents/{stored['document_id']}"
    auditor = bearer(IDENTITY.staff("auditor", "audit-1"))
    for staff in (STAFF, auditor):
        download = await client.get(document_url, headers=staff)
        assert download.status_code == 200, download.text
        assert download.content == person.document
        assert download.headers["content-type"] == "application/pdf"
        assert person.filename not in download.headers["content-disposition"]
    unknown = await client.get(
        f"/applicants/{applicant_id}/documents/{uuid.uuid4()}", headers=STAFF
    )
    assert unknown.status_code == 404
    assert unknown.json()["errors"][0]["field"] == "document_id"

    # When the privacy officer asks for the disclosure: every personal value, in clear,
    # from registration and from the other service
    officer = {"right": "disclosure", "identity_check": "passport seen at the office"}
    url = f"/privacy/subjects/{applicant_id}/requests"
    disclosed = await client.post(url, json=officer, headers=OFFICER)
    assert disclosed.status_code == 200, disclosed.text
    export = disclosed.json()["export"]
    text = str(export)
    for value in person.values():
        assert value in text, value
    own = export["services"]["registration"]["records"]
    document = own["documents"][0]
    assert base64.b64decode(document["content_base64"]) == person.document
    assert document["filename"] == person.filename
    assert export["services"]["screening"]["records"] == {"notes": [peer_note]}
    assert (await answered(infra, disclosed.json()["request_id"]))["payload"]["right"] == (
        "disclosure"
    )

    # And nothing personal was ever in clear in registration's store or on the topic
    for value in person.values():
        assert value not in stored_text(infra), value

    # When the applicant asks for their own deletion
    erased = await client.post("/privacy/requests", json={"right": "deletion"}, headers=me)
    assert erased.status_code == 200 and erased.json()["outcome"] == "done"
    subject_erased = await wait_for_event(
        infra,
        topics.REGISTRATION,
        "SubjectErased",
        lambda e: e["payload"]["subject_id"] == applicant_id,
    )
    assert subject_erased["payload"]["request_id"] == erased.json()["request_id"]

    # Then they can no longer act, their documents are gone, and a bare consumer of the
    # topic and SQL over the store find none of their values, in clear or opened
    assert (await client.get("/applicants/me/status", headers=me)).status_code == 401
    assert (
        await client.post("/privacy/requests", json={"right": "disclosure"}, headers=me)
    ).status_code == 401
    assert not folder.exists()
    gone = await client.get(document_url, headers=STAFF)
    assert gone.status_code == 410
    assert gone.json()["errors"] == [
        {
            "field": "applicant_id",
            "reason": "the applicant was erased: their documents were deleted",
        }
    ]
    published = [
        e for key, e in await read_topic(infra, topics.REGISTRATION) if key == applicant_id.encode()
    ]
    stored = stored_text(infra)
    assert applicant_id in stored and "Applicant.Erased" in stored, "the search reads the store"
    opened_topic = str(vault.reveal(published))
    for value in person.values():
        assert value not in str(published) and value not in stored, value
        assert value not in opened_topic, value
    registered_event = next(e for e in published if e["event_type"] == "ApplicantRegistered")
    assert vault.unseal(registered_event["payload"]["given_name"]) == ERASED
    assert is_sealed(registered_event["payload"]["email"])

    # And the non-personal trail still reads, its chain intact
    assert [e["event_type"] for e in published] == [
        "ApplicantPreregistered",
        "ApplicantRegistered",
        "DocumentsSubmitted",
        "ApplicantDetailsAmended",
        "SubjectErased",
    ]
    assert verify_chain(published) is None
    assert registered_event["payload"]["age_on_reference_date"] == 26
    assert registered_event["payload"]["nationality"] == "VN"
    amendment = next(e for e in published if e["event_type"] == "ApplicantDetailsAmended")
    assert amendment["payload"]["changed_fields"] == ["given_name"]
    assert amendment["actor"]["kind"] == "staff"

    # And the disclosure after erasure shows the placeholder, not the values
    after = await client.post(url, json=officer, headers=OFFICER)
    assert after.status_code == 200
    after_text = str(after.json()["export"])
    assert ERASED in after_text
    for value in person.values():
        assert value not in after_text, value
    assert after.json()["export"]["services"]["registration"]["erased"] is True

    # And the address may apply again, as a new application
    again = await client.post(
        f"/cohorts/{applicant['cohort_id']}/preregistrations", json={"email": person.email}
    )
    assert again.status_code == 202
    await mailbox.wait_for(person.email, "registration link", count=2)

    # And the rebuilt status page shows the placeholder for what was erased
    env = {**os.environ, **service_env("registration", infra)}
    rebuilt = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "services.registration", "rebuild-read-models"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert rebuilt.returncode == 0, rebuilt.stderr
    view = registration.http.state.status_view

    async def erased_row() -> dict | None:
        row = await view.get(uuid.UUID(applicant_id))
        return row if row and row["stage"] == "erased" else None

    row = await eventually(erased_row, what="the rebuilt row of the erased applicant")
    assert [d["filename"] for d in row["submitted_documents"]] == [ERASED]


async def test_a_disclosure_is_refused_rather_than_incomplete_when_a_service_is_silent(
    client, mailbox, infra, registration
):
    person = Person()
    applicant = await registered(client, mailbox, person)
    disclosure = registration.http.state.disclosure
    disclosure.peers = {**disclosure.peers, "matching": f"http://127.0.0.1:{free_port()}"}
    try:
        r = await client.post(
            f"/privacy/subjects/{applicant['applicant_id']}/requests",
            json={"right": "disclosure", "identity_check": "passport seen at the office"},
            headers=OFFICER,
        )
    finally:
        disclosure.peers.pop("matching")
    assert r.status_code == 503
    assert r.json()["errors"][0]["field"] == "matching"
    assert person.given_name not in r.text

    async def refused() -> dict | None:
        for _, e in await read_topic(infra, topics.REGISTRATION):
            p = e.get("payload", {})
            if (
                e.get("event_type") == "PrivacyRequestAnswered"
                and p["subject_id"] == applicant["applicant_id"]
            ):
                return p
        return None

    answer = await eventually(refused, what="the refused disclosure")
    assert answer["outcome"] == "refused" and "matching" in answer["outcome_reason"]


async def test_the_applicant_discloses_their_own_records(client, mailbox, registration):
    # Until every service verifies an applicant's own token (issue 7's access work),
    # only registration's part can be gathered for them: the peers are left out here.
    person = Person()
    applicant = await registered(client, mailbox, person)
    disclosure = registration.http.state.disclosure
    peers, disclosure.peers = disclosure.peers, {}
    try:
        r = await client.post(
            "/privacy/requests",
            json={"right": "disclosure"},
            headers=bearer(applicant["access_token"]),
        )
    finally:
        disclosure.peers = peers
    assert r.status_code == 200, r.text
    text = str(r.json()["export"])
    for value in (person.email, person.given_name, person.family_name, person.date_of_birth):
        assert value in text


async def test_an_inquirer_is_erased_by_the_privacy_officer(client, infra, vault):
    tag = uuid.uuid4().hex[:8]
    form = {
        "name": f"Budi{tag}",
        "email": f"budi-{tag}@example.org",
        "email_confirmation": f"budi-{tag}@example.org",
        "country": "ID",
        "phone": "+62 21 555 0100",
        "sender_kind": "individual",
        "inquiry_type": "eligibility",
        "text": f"May I apply while finishing my degree? ({tag})",
        "privacy_policy_consent": True,
    }
    inquiry_id = (await client.post("/inquiries", json=form)).json()["inquiry_id"]
    url = f"/privacy/subjects/{inquiry_id}/requests"
    check = {"identity_check": "replied from the address of the inquiry"}
    disclosed = await client.post(url, json={"right": "disclosure", **check}, headers=OFFICER)
    assert disclosed.status_code == 200, disclosed.text
    for value in (form["name"], form["email"], form["text"], form["phone"]):
        assert value in str(disclosed.json()["export"]["services"]["registration"])
    suspend = await client.post(url, json={"right": "suspension_of_use", **check}, headers=OFFICER)
    assert suspend.json()["outcome"] == "refused", "restrictions apply to applications"
    erased = await client.post(url, json={"right": "deletion", **check}, headers=OFFICER)
    assert erased.status_code == 200 and erased.json()["outcome"] == "done"
    event = await wait_for_event(
        infra,
        topics.REGISTRATION,
        "SubjectErased",
        lambda e: e["payload"]["subject_id"] == inquiry_id,
    )
    assert event["payload"]["subject_kind"] == "inquirer"
    received = await wait_for_event(
        infra,
        topics.REGISTRATION,
        "InquiryReceived",
        lambda e: e["payload"]["inquiry_id"] == inquiry_id,
    )
    assert vault.reveal(received["payload"])["text"] == ERASED
    answer = await client.post(
        f"/inquiries/{inquiry_id}/answer", json={"answer": "Yes."}, headers=STAFF
    )
    assert answer.status_code == 409
    stored = stored_text(infra)
    for value in (form["name"], form["email"], form["text"], form["phone"]):
        assert value not in stored
