"""Registration on the real stack: an applicant's whole intake over HTTP, checked the
way its users see it: the e-mails that arrive, the events on Kafka (read by an
independent consumer), the documents on disk, the status page, and the errors."""

import asyncio
import copy
import hashlib
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from eventsourcing.persistence import IntegrityError

from events import topics
from events.chain import ChainBreak, verify_chain
from events.privacy import is_sealed
from infra import InfraSettings
from infra.cohorts import preset
from kernel.fiscal import fiscal_year_of_cohort
from runtime.identity import Trust
from runtime.privacy import PersonalData
from runtime.process import ServiceProcess
from services.registration.application.service import RegistrationApplication
from services.registration.bootstrap import bootstrap
from tests.support import (
    IDENTITY,
    STAFF_TOKEN,
    Mailbox,
    body_of,
    cohort_window,
    eventually,
    fresh_cohort_id,
    personal_data,
    read_topic,
    registration_settings,
    running,
    service_env,
    wait_for_event,
)

STAFF = {"Authorization": f"Bearer {STAFF_TOKEN}"}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
MAX_DOCUMENT_BYTES = 64 * 1024
DOCUMENTS_DIR: list = []  # set by the fixture: where this module's service keeps files


@pytest.fixture(scope="module")
async def registration(infra: InfraSettings, tmp_path_factory) -> AsyncIterator[ServiceProcess]:
    settings = registration_settings(
        infra, tmp_path_factory.mktemp("documents"), max_document_bytes=MAX_DOCUMENT_BYTES
    )
    DOCUMENTS_DIR[:] = [settings.documents_dir]
    process = await bootstrap(settings)
    async with running(process):
        yield process


@pytest.fixture(scope="module")
def vault(infra: InfraSettings) -> Iterator[PersonalData]:
    """The key store, as a subscriber allowed to open personal values has it."""
    # Closed after the module: the PostgreSQL server's connections are shared.
    data = personal_data(infra)
    yield data
    data.close()


@pytest.fixture
async def client(registration: ServiceProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{registration.http_port}") as c:
        yield c


def app_of(process: ServiceProcess) -> RegistrationApplication:
    app = process.followers[0].app
    assert isinstance(app, RegistrationApplication)
    return app


def cohort_spec(cohort_id: str, *, open_now: bool = True) -> dict:
    """The FY2025 call's terms, for a test cohort taking applications now (or closed)."""
    return {
        **preset("fy2025"),
        "cohort_id": cohort_id,
        **cohort_window(open_now),
        "courses": [
            {"code": "A", "name": "In-person", "mode": "in_person", "daily_allowance_yen": 3000},
            {"code": "B", "name": "Online", "mode": "online", "daily_allowance_yen": 1000},
        ],
    }


def registration_form(token: str, **changes) -> dict:
    form = {
        "token": token,
        "given_name": "Linh",
        "family_name": "Nguyen",
        "date_of_birth": "2000-04-12",
        "nationality": "VN",
        "country_of_residence": "VN",
        "education": {
            "institution": "Hanoi University of Science and Technology",
            "level": "bachelor",
            "status": "enrolled",
            "field_of_study": "Computer Science",
            "graduation_date": "2026-06-30",
        },
        "languages": {"jlpt": "N3", "ielts": 6.5},
        "course_preferences": ["B"],
        "period_preferences": ["2025-10/2025-12"],
        "internship_interests": ["software development"],
        "previous_participation_years": [],
        "declares_no_final_job_commitment": True,
        "privacy_policy_consent": True,
    }
    form.update(changes)
    return form


async def open_cohort(client: httpx.AsyncClient, **kwargs) -> str:
    cohort_id = fresh_cohort_id()
    response = await client.post("/cohorts", json=cohort_spec(cohort_id, **kwargs), headers=STAFF)
    assert response.status_code == 201, response.text
    return cohort_id


async def link_from_mail(mailbox: Mailbox, address: str, count: int = 1) -> str:
    mails = await mailbox.wait_for(address, "registration link", count=count)
    link = re.search(r"(http://\S+/registration\?token=\S+)", body_of(mails[-1]))
    assert link, "the e-mail carries a registration link"
    return link.group(1)


async def token_from_link_mail(mailbox: Mailbox, address: str, count: int = 1) -> str:
    link = await link_from_mail(mailbox, address, count)
    return parse_qs(urlparse(link).query)["token"][0]


async def preregister_and_register(client, mailbox, cohort_id, **form_changes):
    address = f"applicant-{uuid.uuid4().hex[:10]}@example.org"
    r = await client.post(f"/cohorts/{cohort_id}/preregistrations", json={"email": address})
    assert r.status_code == 202, r.text
    token = await token_from_link_mail(mailbox, address)
    r = await client.post("/registrations", json=registration_form(token, **form_changes))
    assert r.status_code == 201, r.text
    return address, token, r.json()


def error_fields(response: httpx.Response) -> list[str]:
    return [e["field"] for e in response.json()["errors"]]


# -- the whole intake --------------------------------------------------------------------


async def test_an_applicant_goes_from_pre_registration_to_complete_documents(
    client, mailbox, infra, registration, vault
):
    cohort_id = await open_cohort(client)
    address = f"Applicant-{uuid.uuid4().hex[:10]}@Example.org"
    flow = str(uuid.uuid4())

    r = await client.post(
        f"/cohorts/{cohort_id}/preregistrations",
        json={"email": f"  {address} "},
        headers={"X-Correlation-ID": flow},
    )
    assert r.status_code == 202

    # The link arrives by e-mail, to the normalised address.
    token = await token_from_link_mail(mailbox, address.lower())
    preregistered = await wait_for_event(
        infra,
        topics.REGISTRATION,
        "ApplicantPreregistered",
        lambda e: e["correlation_id"] == flow,
    )
    applicant_id = preregistered["payload"]["applicant_id"]
    # Published sealed; whoever holds the key store's credentials can open it.
    assert is_sealed(preregistered["payload"]["email"])
    assert vault.unseal(preregistered["payload"]["email"]) == address.lower()
    assert preregistered["aggregate_id"] == applicant_id
    assert token not in str(await read_topic(infra, topics.REGISTRATION)), "no secret on Kafka"

    r = await client.post("/registrations", json=registration_form(token))
    assert r.status_code == 201, r.text
    registered = r.json()
    assert registered["applicant_id"] == applicant_id
    assert registered["outstanding_documents"] == [
        "certificate_of_enrollment",
        "language_score_certificate",
        "letter_of_recommendation",
    ]
    event = await wait_for_event(
        infra,
        topics.REGISTRATION,
        "ApplicantRegistered",
        lambda e: e["payload"]["applicant_id"] == applicant_id,
    )
    assert event["payload"]["nationality"] == "VN"
    assert event["payload"]["education"]["status"] == "enrolled"
    assert event["payload"]["age_on_reference_date"] == 25, "born 2000-04-12, on 2025-08-25"
    assert vault.reveal(
        {k: event["payload"][k] for k in ("given_name", "family_name", "date_of_birth")}
    ) == {"given_name": "Linh", "family_name": "Nguyen", "date_of_birth": "2000-04-12"}
    me = {"Authorization": f"Bearer {registered['access_token']}"}

    r = await client.post(
        "/applicants/me/documents",
        files={"certificate_of_enrollment": ("enrollment.pdf", PDF, "application/pdf")},
        headers=me,
    )
    assert r.status_code == 201, r.text
    assert r.json()["outstanding_documents"] == [
        "language_score_certificate",
        "letter_of_recommendation",
    ]
    submitted = await wait_for_event(
        infra,
        topics.REGISTRATION,
        "DocumentsSubmitted",
        lambda e: e["payload"]["applicant_id"] == applicant_id,
    )
    document = submitted["payload"]["documents"][0]
    assert document["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert document["size_bytes"] == len(PDF) and document["content_type"] == "application/pdf"
    assert vault.unseal(document["filename"]) == "enrollment.pdf"
    on_disk = DOCUMENTS_DIR[0] / applicant_id / document["document_id"]
    assert PDF not in on_disk.read_bytes(), "kept encrypted, under the document's id"
    store = registration.http.state.documents
    assert store.read(uuid.UUID(applicant_id), uuid.UUID(document["document_id"])) == PDF

    async def status() -> dict | None:
        s = (await client.get("/applicants/me/status", headers=me)).json()
        return (
            s
            if s.get("outstanding_documents")
            == ["language_score_certificate", "letter_of_recommendation"]
            else None
        )

    page = await eventually(status, what="the status page to show the documents")
    assert page["stage"] == "registered"
    assert [d["kind"] for d in page["submitted_documents"]] == ["certificate_of_enrollment"]
    assert page["submitted_documents"][0]["filename"] == "enrollment.pdf", "opened to show"

    r = await client.post(
        "/applicants/me/documents",
        files={
            "language_score_certificate": ("ielts.png", PNG, "image/png"),
            "letter_of_recommendation": ("letter.pdf", PDF + b"letter", "application/pdf"),
        },
        headers=me,
    )
    assert r.status_code == 201 and r.json()["outstanding_documents"] == []

    async def complete() -> dict | None:
        s = (await client.get("/applicants/me/status", headers=me)).json()
        return s if s.get("stage") == "documents_complete" else None

    assert (await eventually(complete))["outstanding_documents"] == []


# -- repeated requests ---------------------------------------------------------------------


def events_about(records, event_type: str, key: str, value: str) -> list[dict]:
    return [
        v
        for _, v in records
        if v.get("event_type") == event_type and v["payload"].get(key) == value
    ]


async def test_a_double_click_creates_one_application_one_link_and_one_event_each(
    client, mailbox, infra
):
    cohort_id = await open_cohort(client)
    address = f"double-{uuid.uuid4().hex[:10]}@example.org"
    for typed in (address, address.upper(), f" {address} "):
        r = await client.post(f"/cohorts/{cohort_id}/preregistrations", json={"email": typed})
        assert r.status_code == 202
    token = await token_from_link_mail(mailbox, address)

    form = registration_form(token)
    first = await client.post("/registrations", json=form)
    second = await client.post("/registrations", json=form)
    assert first.status_code == second.status_code == 201
    # the same answer, but for the access token: each answer carries a token of its own
    # (its own id, to revoke), both of the same applicant
    tokens = [r.json().pop("access_token") for r in (first, second)]
    assert {k: v for k, v in first.json().items() if k != "access_token"} == {
        k: v for k, v in second.json().items() if k != "access_token"
    }
    trust = Trust.from_document(json.loads(IDENTITY.trust))
    assert {trust.identify(t).subject for t in tokens} == {first.json()["applicant_id"]}
    applicant_id = first.json()["applicant_id"]
    me = {"Authorization": f"Bearer {first.json()['access_token']}"}

    upload = {"certificate_of_enrollment": ("e.pdf", PDF, "application/pdf")}
    r1 = await client.post("/applicants/me/documents", files=upload, headers=me)
    r2 = await client.post("/applicants/me/documents", files=upload, headers=me)
    assert len(r1.json()["recorded"]) == 1 and r2.json()["recorded"] == []

    await wait_for_event(
        infra,
        topics.REGISTRATION,
        "DocumentsSubmitted",
        lambda e: e["payload"]["applicant_id"] == applicant_id,
    )
    records = await read_topic(infra, topics.REGISTRATION)
    assert len(events_about(records, "ApplicantPreregistered", "applicant_id", applicant_id)) == 1
    assert len(events_about(records, "ApplicantRegistered", "applicant_id", applicant_id)) == 1
    assert len(events_about(records, "DocumentsSubmitted", "applicant_id", applicant_id)) == 1
    assert len(mailbox.messages_to(address)) == 1


async def test_a_lost_link_can_be_sent_again_and_the_old_one_stops_working(client, mailbox):
    cohort_id = await open_cohort(client)
    address = f"lost-{uuid.uuid4().hex[:10]}@example.org"
    await client.post(f"/cohorts/{cohort_id}/preregistrations", json={"email": address})
    old = await token_from_link_mail(mailbox, address)
    r = await client.post(f"/cohorts/{cohort_id}/registration-links", json={"email": address})
    assert r.status_code == 202
    new = await token_from_link_mail(mailbox, address, count=2)
    assert new != old

    r = await client.post("/registrations", json=registration_form(old))
    assert r.status_code == 422 and r.json()["errors"][0] == {
        "field": "token",
        "reason": "this registration link was replaced",
    }
    assert (await client.post("/registrations", json=registration_form(new))).status_code == 201


async def test_no_answer_tells_whether_an_address_applied(client, mailbox):
    # given a cohort with a registered applicant, a pre-registered one, and an address
    # that never applied
    cohort_id = await open_cohort(client)
    registered, _, _ = await preregister_and_register(client, mailbox, cohort_id)
    preregistered = f"waiting-{uuid.uuid4().hex[:10]}@example.org"
    await client.post(f"/cohorts/{cohort_id}/preregistrations", json={"email": preregistered})
    await token_from_link_mail(mailbox, preregistered)
    unknown = f"stranger-{uuid.uuid4().hex[:10]}@example.org"

    def seen(response: httpx.Response) -> tuple[int, bytes, list[tuple[str, str]]]:
        headers = [(k, v) for k, v in response.headers.items() if k not in ("date",)]
        return response.status_code, response.content, sorted(headers)

    # when anyone asks for a new link, or pre-registers, with each address
    for path in ("registration-links", "preregistrations"):
        answers = {
            address: seen(
                await client.post(f"/cohorts/{cohort_id}/{path}", json={"email": address})
            )
            for address in (registered, preregistered, unknown)
        }
        # then the answers are byte for byte the same: nothing tells who applied
        assert answers[registered] == answers[preregistered] == answers[unknown], path
        assert answers[unknown][0] == 202

    # and the registered applicant was sent no link they cannot use
    await mailbox.wait_for(preregistered, "registration link", count=2)
    assert len([m for m in mailbox.messages_to(registered) if "link" in str(m["Subject"])]) == 1


# -- bad input: a clear 4xx naming the field, and nothing stored -----------------------------


async def test_a_form_with_what_cannot_be_true_is_refused_and_the_link_still_works(
    client, mailbox, registration
):
    cohort_id = fresh_cohort_id()
    opened = await client.post("/cohorts", json=cohort_spec(cohort_id), headers=STAFF)
    assert opened.status_code == 201, opened.text
    fiscal_year = fiscal_year_of_cohort(cohort_id)
    address = f"applicant-{uuid.uuid4().hex[:10]}@example.org"
    r = await client.post(f"/cohorts/{cohort_id}/preregistrations", json={"email": address})
    assert r.status_code == 202
    token = await token_from_link_mail(mailbox, address)
    before = app_of(registration).recorder.max_notification_id()
    graduation_far_ahead = {
        "institution": "HUST",
        "level": "bachelor",
        "status": "enrolled",
        "field_of_study": "Computer Science",
        "graduation_date": "2045-06-30",
    }
    for changes, field in [
        ({"date_of_birth": "2040-01-01"}, "date_of_birth"),
        ({"education": graduation_far_ahead}, "education.graduation_date"),
        ({"previous_participation_years": [fiscal_year]}, "previous_participation_years.0"),
    ]:
        r = await client.post("/registrations", json=registration_form(token, **changes))
        assert r.status_code == 422 and field in error_fields(r), r.text
    assert app_of(registration).recorder.max_notification_id() == before
    r = await client.post(
        "/registrations",
        json=registration_form(token, previous_participation_years=[fiscal_year - 10]),
    )
    assert r.status_code == 201, r.text


async def test_an_inquiry_of_512_full_width_characters_or_in_vietnamese_is_accepted(client):
    tag = uuid.uuid4().hex[:6]
    full_width = "あ" * (512 - 3) + "ーー" + "。"
    r = await client.post(
        "/inquiries",
        json=inquiry_form(
            text=full_width, email=f"a{tag}@example.org", email_confirmation=f"a{tag}@example.org"
        ),
    )
    assert r.status_code == 202, r.text
    vietnamese = inquiry_form(
        name="Nguyễn Thị Ánh",
        text=f"Tôi có thể nộp đơn khi đang học thạc sĩ không? ({tag})",
    )
    r = await client.post("/inquiries", json=vietnamese)
    assert r.status_code == 202, r.text


async def test_bad_requests_are_refused_with_the_field_and_nothing_is_recorded(
    client, mailbox, registration
):
    cohort_id = await open_cohort(client)
    closed_id = await open_cohort(client, open_now=False)
    address, token, registered = await preregister_and_register(client, mailbox, cohort_id)
    me = {"Authorization": f"Bearer {registered['access_token']}"}
    app = app_of(registration)
    before = app.recorder.max_notification_id()

    cases = [
        (
            client.post(f"/cohorts/{cohort_id}/preregistrations", json={"email": "not-an-address"}),
            422,
            "email",
        ),
        (client.post(f"/cohorts/{cohort_id}/preregistrations", json={}), 422, "email"),
        (
            client.post("/cohorts/FY1900/preregistrations", json={"email": "a@example.org"}),
            404,
            "cohort_id",
        ),
        (
            client.post("/cohorts/2025/preregistrations", json={"email": "a@example.org"}),
            422,
            "cohort_id",
        ),
        (
            client.post(f"/cohorts/{closed_id}/preregistrations", json={"email": "a@example.org"}),
            409,
            "cohort_id",
        ),
        (client.post("/registrations", json=registration_form("forged.1.token")), 422, "token"),
        (
            client.post("/registrations", json=registration_form(token, given_name="Mai")),
            409,
            "token",
        ),
        (
            client.post("/registrations", json=registration_form(token, nationality="XX")),
            422,
            "nationality",
        ),
        (
            client.post(
                "/registrations", json=registration_form(token, date_of_birth="12/04/2000")
            ),
            422,
            "date_of_birth",
        ),
        (
            client.post("/registrations", json=registration_form(token, languages={"ielts": 11})),
            422,
            "languages.ielts",
        ),
        (
            client.post("/registrations", json=registration_form(token, nickname="x")),
            422,
            "nickname",
        ),
        (
            client.post(
                "/applicants/me/documents",
                files={"resume": ("cv.exe", b"MZ\x90\x00binary", "application/pdf")},
                headers=me,
            ),
            422,
            "resume",
        ),
        (
            client.post(
                "/applicants/me/documents",
                files={"resume": ("cv.pdf", PDF + b"x" * MAX_DOCUMENT_BYTES, "application/pdf")},
                headers=me,
            ),
            422,
            "resume",
        ),
        (
            client.post("/applicants/me/documents", files={"unknown": ("a.pdf", PDF)}, headers=me),
            422,
            "files",
        ),
        (
            client.post("/applicants/me/documents", files={"resume": ("cv.pdf", PDF)}),
            401,
            "authorization",
        ),
        (
            client.post(
                "/applicants/me/documents",
                files={"resume": ("cv.pdf", PDF)},
                headers={"Authorization": f"Bearer {token}"},
            ),
            401,
            "authorization",
        ),
        (client.post("/cohorts", json=cohort_spec(fresh_cohort_id())), 401, "authorization"),
        (
            client.post(
                "/cohorts", json={**cohort_spec(fresh_cohort_id()), "min_age": 50}, headers=STAFF
            ),
            422,
            "max_age",
        ),
    ]
    for request, status, field in cases:
        response = await request
        assert response.status_code == status, (field, response.text)
        assert field in error_fields(response), (field, response.text)
        assert address not in response.text, "no personal data echoed back"

    assert app.recorder.max_notification_id() == before, "nothing half-done is stored"
    stored = (
        list((DOCUMENTS_DIR[0] / registered["applicant_id"]).glob("*"))
        if (DOCUMENTS_DIR[0] / registered["applicant_id"]).exists()
        else []
    )
    assert stored == [], "a refused upload leaves no file behind"


# -- amendments, inquiries, read model -------------------------------------------------------


async def test_the_office_amends_details_with_a_reason_that_screening_can_see(
    client, mailbox, infra, vault
):
    cohort_id = await open_cohort(client)
    _, _, registered = await preregister_and_register(client, mailbox, cohort_id)
    applicant_id = registered["applicant_id"]
    url = f"/applicants/{applicant_id}/amendments"
    body = {"changes": {"family_name": "Tran"}, "reason": "Name changed by marriage"}

    assert (await client.post(url, json=body)).status_code == 401
    refused = await client.post(
        url, json={**body, "changes": {"email": "x@example.org"}}, headers=STAFF
    )
    assert refused.status_code == 422 and "changes.email" in error_fields(refused)
    # A detail is corrected, never erased or set to what it cannot be.
    for changes, field in [
        ({"nationality": None}, "changes.nationality"),
        ({"date_of_birth": "not a date"}, "changes.date_of_birth"),
        ({"languages": {"jlpt": "N9"}}, "changes.languages.jlpt"),
    ]:
        refused = await client.post(url, json={**body, "changes": changes}, headers=STAFF)
        assert refused.status_code == 422, (changes, refused.text)
        assert field in error_fields(refused), (changes, refused.text)
    unknown = await client.post(f"/applicants/{uuid.uuid4()}/amendments", json=body, headers=STAFF)
    assert unknown.status_code == 404

    first = await client.post(url, json=body, headers=STAFF)
    again = await client.post(url, json=body, headers=STAFF)
    assert first.json() == {"amended": True} and again.json() == {"amended": False}
    event = await wait_for_event(
        infra,
        topics.REGISTRATION,
        "ApplicantDetailsAmended",
        lambda e: e["payload"]["applicant_id"] == applicant_id,
    )
    assert vault.reveal(event["payload"]["changes"]) == {"family_name": "Tran"}
    assert vault.unseal(event["payload"]["reason"]) == "Name changed by marriage"
    assert "Tran" not in str(event) and "marriage" not in str(event), "sealed on Kafka"


def inquiry_form(**changes) -> dict:
    form = {
        "name": "Budi Santoso",
        "email": "budi@example.org",
        "email_confirmation": "budi@example.org",
        "country": "ID",
        "phone": "+62 21 555 0100",
        "sender_kind": "individual",
        "inquiry_type": "eligibility",
        "text": f"May I apply while finishing my degree? ({uuid.uuid4().hex[:6]})",
        "privacy_policy_consent": True,
    }
    form.update(changes)
    return form


async def test_an_inquiry_is_received_once_and_answered(client, infra, vault):
    form = inquiry_form(text=f"日本語でも質問できますか？ ({uuid.uuid4().hex[:6]})")
    first = await client.post("/inquiries", json=form)
    second = await client.post("/inquiries", json=form)
    assert first.status_code == 202 and first.json() == second.json()
    inquiry_id = first.json()["inquiry_id"]
    received = await wait_for_event(
        infra,
        topics.REGISTRATION,
        "InquiryReceived",
        lambda e: e["payload"]["inquiry_id"] == inquiry_id,
    )
    assert vault.unseal(received["payload"]["text"]) == form["text"]
    assert form["text"] not in str(received)

    url = f"/inquiries/{inquiry_id}/answer"
    assert (await client.post(url, json={"answer": "Yes."}, headers=STAFF)).status_code == 204
    assert (await client.post(url, json={"answer": "Yes."}, headers=STAFF)).status_code == 409
    await wait_for_event(
        infra,
        topics.REGISTRATION,
        "InquiryAnswered",
        lambda e: e["payload"]["inquiry_id"] == inquiry_id,
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"text": "あ" * 513}, "text"),
        ({"text": "Здравствуйте"}, "text"),
        ({"name": "Ελένη"}, "name"),
        ({"email_confirmation": "other@example.org"}, "email_confirmation"),
        ({"privacy_policy_consent": False}, "privacy_policy_consent"),
        ({"country": "ZZ"}, "country"),
        ({"sender_kind": "robot"}, "sender_kind"),
    ],
)
async def test_a_bad_inquiry_is_refused_naming_the_field(client, registration, changes, field):
    before = app_of(registration).recorder.max_notification_id()
    response = await client.post("/inquiries", json=inquiry_form(**changes))
    assert response.status_code == 422 and field in error_fields(response), response.text
    assert app_of(registration).recorder.max_notification_id() == before


async def test_the_status_read_model_is_rebuilt_from_the_log_to_the_same_state(
    client, mailbox, registration, infra
):
    cohort_id = await open_cohort(client)
    _, _, registered = await preregister_and_register(client, mailbox, cohort_id)
    me = {"Authorization": f"Bearer {registered['access_token']}"}
    await client.post(
        "/applicants/me/documents", files={"certificate_of_enrollment": ("e.pdf", PDF)}, headers=me
    )

    async def settled() -> dict | None:
        s = (await client.get("/applicants/me/status", headers=me)).json()
        return s if s.get("submitted_documents") else None

    before = await eventually(settled)

    # The operator's command, as its own process: drop the view, replay the log.
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
    assert "rebuilt applicant_status from" in rebuilt.stdout
    # The operator saw its progress: the log's events read, of all of them.
    assert re.search(r"applicant_status .* (\d+)/\1 events", rebuilt.stderr)

    after = await eventually(settled, what="the rebuilt view")
    assert after == before


async def test_simultaneous_double_clicks_still_make_one_application_and_one_event_each(
    client, mailbox, infra
):
    cohort_id = await open_cohort(client)
    address = f"race-{uuid.uuid4().hex[:10]}@example.org"
    url = f"/cohorts/{cohort_id}/preregistrations"
    answers = await asyncio.gather(*[client.post(url, json={"email": address}) for _ in range(6)])
    assert {r.status_code for r in answers} == {202}
    token = await token_from_link_mail(mailbox, address)

    form = registration_form(token)
    answers = await asyncio.gather(*[client.post("/registrations", json=form) for _ in range(4)])
    assert {r.status_code for r in answers} == {201}
    applicant_id = answers[0].json()["applicant_id"]
    me = {"Authorization": f"Bearer {answers[0].json()['access_token']}"}
    upload = {"certificate_of_enrollment": ("e.pdf", PDF, "application/pdf")}
    answers = await asyncio.gather(
        *[client.post("/applicants/me/documents", files=upload, headers=me) for _ in range(4)]
    )
    assert {r.status_code for r in answers} == {201}
    assert sum(len(r.json()["recorded"]) for r in answers) == 1

    await wait_for_event(
        infra,
        topics.REGISTRATION,
        "DocumentsSubmitted",
        lambda e: e["payload"]["applicant_id"] == applicant_id,
    )
    records = await read_topic(infra, topics.REGISTRATION)
    assert len(events_about(records, "ApplicantPreregistered", "applicant_id", applicant_id)) == 1
    assert len(events_about(records, "ApplicantRegistered", "applicant_id", applicant_id)) == 1
    assert len(events_about(records, "DocumentsSubmitted", "applicant_id", applicant_id)) == 1
    assert len(mailbox.messages_to(address)) == 1


async def test_the_link_in_the_mail_opens_the_cohorts_form_until_it_is_used(client, mailbox):
    cohort_id = await open_cohort(client)
    address = f"follow-{uuid.uuid4().hex[:10]}@example.org"
    await client.post(f"/cohorts/{cohort_id}/preregistrations", json={"email": address})
    link = await link_from_mail(mailbox, address)

    opened = await client.get(link)  # exactly what the applicant clicks
    assert opened.status_code == 200, opened.text
    form = opened.json()
    assert form["cohort_id"] == cohort_id
    assert [c["code"] for c in form["courses"]] == ["A", "B"]
    assert form["link_expires_at"] > datetime.now(UTC).isoformat()

    token = parse_qs(urlparse(link).query)["token"][0]
    assert (await client.post("/registrations", json=registration_form(token))).status_code == 201
    used = await client.get(link)
    assert used.status_code == 409
    assert used.json()["errors"] == [
        {"field": "token", "reason": "this registration link was already used"}
    ]
    forged = await client.get("/registration", params={"token": token[:-4] + "AAAA"})
    assert forged.status_code == 422 and error_fields(forged) == ["token"]


async def test_an_upload_announcing_too_many_bytes_is_refused_before_it_is_read(
    client, mailbox, registration
):
    cohort_id = await open_cohort(client)
    _, _, registered = await preregister_and_register(client, mailbox, cohort_id)
    me = {"Authorization": f"Bearer {registered['access_token']}"}
    before = app_of(registration).recorder.max_notification_id()
    huge = PDF + b"x" * (6 * MAX_DOCUMENT_BYTES)
    response = await client.post(
        "/applicants/me/documents", files={"resume": ("cv.pdf", huge)}, headers=me
    )
    assert response.status_code == 413
    assert error_fields(response) == ["files"]
    assert app_of(registration).recorder.max_notification_id() == before
    assert not (DOCUMENTS_DIR[0] / registered["applicant_id"]).exists()


async def test_a_refused_upload_leaves_no_file_that_no_event_refers_to(
    client, mailbox, registration, monkeypatch
):
    cohort_id = await open_cohort(client)
    _, _, registered = await preregister_and_register(client, mailbox, cohort_id)
    me = {"Authorization": f"Bearer {registered['access_token']}"}
    applicant_id = uuid.UUID(registered["applicant_id"])
    app = app_of(registration)
    folder = DOCUMENTS_DIR[0] / registered["applicant_id"]
    first = await client.post(
        "/applicants/me/documents", files={"resume": ("cv.pdf", PDF)}, headers=me
    )
    assert first.status_code == 201

    def upload(**parts):
        return client.post("/applicants/me/documents", files=parts, headers=me)

    # Each refused submission carries one good document beside what is refused.
    good = ("diploma.pdf", PDF + b"graduated")
    wrong_type = await upload(
        certificate_of_graduation=good, language_score_certificate=("a.txt", b"plain text")
    )
    too_big = await upload(
        certificate_of_graduation=good,
        letter_of_recommendation=("l.pdf", PDF + b"x" * MAX_DOCUMENT_BYTES),
    )
    no_document_part = await upload(unknown=good)
    truncated = await client.post(
        "/applicants/me/documents",
        content=b'--b\r\nContent-Disposition: form-data; name="resume"; filename="cv.pdf"\r\n\r\n'
        + PDF,
        headers={**me, "Content-Type": "multipart/form-data; boundary=b"},
    )

    def clash(*args, **kwargs):
        raise IntegrityError("the applicant changed meanwhile, twice")

    monkeypatch.setattr(app, "submit_documents", clash)
    conflict = await upload(certificate_of_graduation=good)
    monkeypatch.undo()

    statuses = [r.status_code for r in (wrong_type, too_big, no_document_part, truncated, conflict)]
    assert statuses == [422, 422, 422, 422, 409]
    referenced = {str(d["document_id"]) for d in app.get_applicant(applicant_id).documents}
    assert {path.name for path in folder.iterdir()} == referenced
    assert len(referenced) == 1  # the résumé of the first submission


# -- tamper evidence, as a subscriber checks it ---------------------------------------------


async def test_a_subscriber_verifies_an_applicants_chain_and_locates_what_was_tampered(
    client, mailbox, infra, vault
):
    """Given an applicant whose registration the office amends twice, a bare consumer
    reads the applicant's events from Kafka: versions skip the private link event, yet
    the chain proves nothing is missing; a copy with an event altered, removed or moved
    is refused at the place where it was changed."""
    cohort_id = await open_cohort(client)
    _, _, registered = await preregister_and_register(client, mailbox, cohort_id)
    applicant_id = registered["applicant_id"]
    url = f"/applicants/{applicant_id}/amendments"
    for family_name in ("Tran", "Pham"):
        body = {"changes": {"family_name": family_name}, "reason": "Passport corrected"}
        assert (await client.post(url, json=body, headers=STAFF)).status_code == 200
    await wait_for_event(
        infra,
        topics.REGISTRATION,
        "ApplicantDetailsAmended",
        lambda e: (
            e["payload"]["applicant_id"] == applicant_id
            and vault.reveal(e["payload"]["changes"]) == {"family_name": "Pham"}
        ),
    )

    stream = [
        value
        for key, value in await read_topic(infra, topics.REGISTRATION)
        if key == applicant_id.encode() and value.get("producer") == "registration"
    ]
    assert [e["event_type"] for e in stream] == [
        "ApplicantPreregistered",
        "ApplicantRegistered",
        "ApplicantDetailsAmended",
        "ApplicantDetailsAmended",
    ]
    assert [e["aggregate_version"] for e in stream] == [1, 3, 4, 5], "v2 is private"
    assert verify_chain(stream) is None

    altered = copy.deepcopy(stream)
    altered[1]["payload"]["family_name"] = "Someone Else"
    assert verify_chain(altered) == ChainBreak(
        2,
        "missing_or_altered",
        "does not follow the event at position 1: events between them are missing, "
        "or that event was altered",
    )
    removed = stream[:1] + stream[2:]
    assert verify_chain(removed) is not None and verify_chain(removed).position == 1
    moved = [stream[0], stream[2], stream[1], stream[3]]
    broken = verify_chain(moved)
    assert broken is not None and (broken.position, broken.kind) == (1, "reordered")
    forged_id = copy.deepcopy(stream)
    forged_id[2]["aggregate_version"] = 9
    assert verify_chain(forged_id) == ChainBreak(
        2, "altered", "event_id does not match its producer, type and position"
    )
    assert verify_chain([*stream, stream[1]]) is None, "a re-published copy is no break"


# -- a cohort's terms (issue 8): read back, revised as versions, never contradictory ---------


async def test_anyone_reads_a_cohorts_terms_with_its_rules_in_force(client):
    cohort_id = await open_cohort(client)

    terms = await client.get(f"/cohorts/{cohort_id}")  # no token: applicants read them

    assert terms.status_code == 200, terms.text
    body = terms.json()
    assert body["cohort_id"] == cohort_id and body["min_age"] == 18 and body["max_age"] == 40
    rules = body["rules"]
    assert (rules["rule_set_version"], rules["recipient_list"]) == (1, "oecd-dac-2024-2025")
    assert {"VN", "ID", "XK", "PS", "CN"} <= set(rules["recipient_countries"])
    assert not {"US", "DE", "KR", "SG", "JP"} & set(rules["recipient_countries"])
    assert rules["excluded_nationalities"] == ["CN"]

    unknown = await client.get("/cohorts/FY2025-NOSUCH")
    assert unknown.status_code == 404 and "cohort_id" in error_fields(unknown)


async def test_the_office_revises_a_cohorts_rules_as_the_next_version_which_is_published(
    client, infra
):
    cohort_id = await open_cohort(client)
    rules = (await client.get(f"/cohorts/{cohort_id}")).json()["rules"]
    del rules["recipient_countries"]  # registration fills it in, from the edition named
    both = {**rules["language"], "rule": "jlpt_and_english"}
    revision = {**rules, "rule_set_version": 2, "language": both}

    assert (await client.post(f"/cohorts/{cohort_id}/rules", json=revision)).status_code == 401
    revised = await client.post(f"/cohorts/{cohort_id}/rules", json=revision, headers=STAFF)
    assert revised.status_code == 201, revised.text
    assert revised.json()["rule_set_version"] == 2

    for version in (2, 4):
        stale = await client.post(
            f"/cohorts/{cohort_id}/rules",
            json={**revision, "rule_set_version": version},
            headers=STAFF,
        )
        assert stale.status_code == 409 and "rule_set_version" in error_fields(stale), stale.text
    unknown_edition = await client.post(
        f"/cohorts/{cohort_id}/rules",
        json={**revision, "rule_set_version": 3, "recipient_list": "oecd-dac-1999"},
        headers=STAFF,
    )
    assert unknown_edition.status_code == 422
    assert "recipient_list" in error_fields(unknown_edition)

    now = (await client.get(f"/cohorts/{cohort_id}")).json()["rules"]
    assert now["rule_set_version"] == 2 and now["language"]["rule"] == "jlpt_and_english"
    event = await wait_for_event(
        infra,
        topics.REGISTRATION,
        "CohortRulesRevised",
        lambda e: e["payload"]["cohort_id"] == cohort_id,
    )
    assert event["payload"]["rules"] == now
    assert event["actor"]["role"] == "admin"


async def test_contradictory_terms_are_refused_naming_the_field_and_nothing_is_opened(
    client, registration
):
    before = app_of(registration).recorder.max_notification_id()
    window = cohort_window()
    fiscal_year = fiscal_year_of_cohort(fresh_cohort_id())
    for changes, field in [
        ({"results_by": "2000-01-01"}, "results_by"),
        (
            {
                "applications_open_at": window["applications_close_at"],
                "applications_close_at": window["applications_open_at"],
            },
            "applications_close_at",
        ),
        (
            # past the end of the cohort's fiscal year (31 March, JST)
            {
                "applications_close_at": f"{fiscal_year + 1}-04-01T09:00:00+09:00",
                "results_by": f"{fiscal_year + 1}-04-30",
            },
            "applications_close_at",
        ),
        ({"applications_open_at": f"{fiscal_year - 2}-05-01T00:00:00Z"}, "applications_open_at"),
        ({"min_age": 41}, "max_age"),
        (
            {
                "rules": {
                    **preset("fy2025")["rules"],
                    "earlier_participation_excluded": {"from_fy": 2016, "to_fy": fiscal_year},
                }
            },
            "rules.earlier_participation_excluded.to_fy",
        ),
        (
            {"rules": {**preset("fy2025")["rules"], "recipient_list": "oecd-dac-1999"}},
            "rules.recipient_list",
        ),
    ]:
        spec = {**cohort_spec(fresh_cohort_id()), **changes}
        refused = await client.post("/cohorts", json=spec, headers=STAFF)
        assert refused.status_code == 422, (field, refused.text)
        assert field in error_fields(refused), (field, refused.text)
    assert app_of(registration).recorder.max_notification_id() == before


async def test_a_kosovar_registers_though_iso_3166_has_no_code_for_kosovo(client, mailbox):
    cohort_id = await open_cohort(client)
    _, _, registered = await preregister_and_register(
        client, mailbox, cohort_id, nationality="XK", country_of_residence="XK"
    )
    assert registered["applicant_id"]


async def test_an_amendment_cannot_make_the_record_untrue(client, mailbox, registration):
    cohort_id = await open_cohort(client)
    _, _, registered = await preregister_and_register(client, mailbox, cohort_id)
    url = f"/applicants/{registered['applicant_id']}/amendments"
    before = app_of(registration).recorder.max_notification_id()
    far_ahead = {
        "institution": "HUST",
        "level": "bachelor",
        "status": "enrolled",
        "field_of_study": "Computer Science",
        "graduation_date": "2060-06-30",
    }
    for changes, field in [
        ({"date_of_birth": "2040-01-01"}, "changes.date_of_birth"),
        ({"education": far_ahead}, "changes.education.graduation_date"),
    ]:
        body = {"changes": changes, "reason": "as the applicant asked"}
        refused = await client.post(url, json=body, headers=STAFF)
        assert refused.status_code == 422 and field in error_fields(refused), refused.text
    assert app_of(registration).recorder.max_notification_id() == before


async def test_the_inquiry_form_refuses_simplified_chinese_and_accepts_japanese_names(client):
    tag = uuid.uuid4().hex[:6]
    for name in ("张伟", "龙", "李这们"):
        refused = await client.post("/inquiries", json=inquiry_form(name=name))
        assert refused.status_code == 422 and "name" in error_fields(refused), name
    refused = await client.post("/inquiries", json=inquiry_form(text=f"我们这里 ({tag})"))
    assert refused.status_code == 422 and "text" in error_fields(refused)
    for name in ("髙橋 健一", "山﨑 花子", "渡邊 太郎", "Nguyễn Văn Đức"):
        accepted = await client.post(
            "/inquiries", json=inquiry_form(name=name, text=f"申し込めますか ({tag} {name})")
        )
        assert accepted.status_code == 202, (name, accepted.text)
