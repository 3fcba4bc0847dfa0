"""Matching on the real Kafka and PostgreSQL: screening's results go in on
`jip.screening.v1` as screening would publish them, office staff record companies'
decisions over HTTP, each party signs its agreements with its own token, and what
matching publishes is read back from `jip.matching.v1` by an independent consumer."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.structs import RecordMetadata

from events import topics
from events.envelope import Envelope
from infra import InfraSettings
from runtime.inbox import QuarantinedMessage
from runtime.privacy import PersonalData
from services.matching.application.service import MatchingApplication
from services.matching.bootstrap import bootstrap, build_application
from services.matching.domain.courses import CohortCourses, cohort_courses_id_for
from services.matching.settings import MatchingSettings
from tests import envelopes
from tests.matching_steps import register_host
from tests.support import (
    IDENTITY,
    OFFICER,
    STAFF_TOKEN,
    eventually,
    found_in_clear,
    read_topic,
    running,
    service_env,
    wait_for_event,
)

THREE_PARTIES = ["office", "intern", "company"]
PAIRS = [["office", "intern"], ["office", "company"], ["intern", "company"]]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Matching:
    http: httpx.AsyncClient
    store: MatchingApplication
    producer: AIOKafkaProducer
    infra: InfraSettings

    async def publish(self, key: uuid.UUID, value: Envelope | bytes) -> RecordMetadata:
        """As screening publishes: keyed by aggregate id, one record per event."""
        raw = value if isinstance(value, bytes) else value.model_dump_json().encode()
        return await self.producer.send_and_wait(topics.SCREENING, raw, key=str(key).encode())

    async def publish_registration(self, key: uuid.UUID, value: Envelope) -> RecordMetadata:
        """As registration publishes a person's restrictions and erasure."""
        raw = value.model_dump_json().encode()
        return await self.producer.send_and_wait(topics.REGISTRATION, raw, key=str(key).encode())

    async def candidate(self, applicant_id: uuid.UUID) -> dict[str, Any] | None:
        response = await self.http.get(f"/candidates/{applicant_id}")
        return response.json() if response.status_code == 200 else None

    async def a_candidate(self, course: str = "B") -> uuid.UUID:
        """A candidate the office selected, asking for this course."""
        applicant_id = uuid.uuid4()
        selected = envelopes.candidate_selected(applicant_id, course_preferences=[course])
        await self.publish(applicant_id, selected)
        await eventually(lambda: self.candidate(applicant_id), what="a candidate in the pool")
        return applicant_id

    async def a_company(self, **registration: Any) -> uuid.UUID:
        """A host company registered for the cohort (courses A and B)."""
        return await register_host(self.http, "", {}, "FY2025", **registration)

    async def confirm(
        self, applicant_id: uuid.UUID, company_id: uuid.UUID | None = None
    ) -> httpx.Response:
        """The company confirms the candidate after a round proposed them to it, as far
        as a round does (a candidate it cannot place is not proposed: the confirmation
        then says why). A new host company when none is given."""
        company_id = company_id or await self.a_company()
        await self.http.put(
            f"/candidates/{applicant_id}/preferences", json={"companies": [str(company_id)]}
        )
        await self.http.put(
            f"/companies/{company_id}/preferences", json={"candidates": [str(applicant_id)]}
        )
        await self.http.post("/cohorts/FY2025/rounds")
        body = {"applicant_id": str(applicant_id), "company_id": str(company_id)}
        return await self.http.post("/matches", json=body)

    async def a_match(self, course: str) -> dict[str, Any]:
        """A candidate a company took on this course; the match as the office reads it."""
        applicant_id = await self.a_candidate(course)
        confirmed = await self.confirm(applicant_id)
        assert confirmed.status_code == 201, confirmed.text
        return confirmed.json()  # type: ignore[no-any-return]

    async def sign(
        self, match: dict[str, Any], parties: list[str], party: str, as_: str | None = None
    ) -> httpx.Response:
        """`party` signs the match's agreement of `parties`, with the token of `as_`
        (the party itself unless told): the intern's own, the company's user's, the
        office's."""
        [agreement] = [a for a in match["agreements"] if a["parties"] == parties]
        token = {
            "intern": IDENTITY.applicant(match["applicant_id"]),
            "company": IDENTITY.company(uuid.UUID(match["company_id"])),
            "office": IDENTITY.staff("matcher"),
        }[as_ or party]
        return await self.http.post(
            f"/matches/{match['match_id']}/agreements/{agreement['agreement_id']}/signatures",
            json={"party": party},
            headers=bearer(token),
        )

    async def published(self, event_type: str, **payload: str) -> dict[str, Any]:
        return await wait_for_event(
            self.infra,
            topics.MATCHING,
            event_type,
            lambda e: all(e["payload"].get(k) == v for k, v in payload.items()),
        )


@pytest.fixture(scope="module")
async def matching(infra: InfraSettings, producer: AIOKafkaProducer) -> AsyncIterator[Matching]:
    with pytest.MonkeyPatch.context() as env:
        for name, value in service_env("matching", infra).items():
            env.setenv(name, value)
        settings = MatchingSettings()
    store = build_application(settings)
    headers = {"Authorization": f"Bearer {STAFF_TOKEN}"}
    try:
        async with (
            running(await bootstrap(settings)) as base_url,
            httpx.AsyncClient(base_url=base_url, headers=headers) as http,
        ):
            matching = Matching(http, store, producer, infra)
            # Registration opens the cohort: its courses decide what a match signs.
            opened = envelopes.cohort_opened()
            await matching.publish_registration(opened.aggregate_id, opened)
            cohort = cohort_courses_id_for(opened.payload.cohort_id)
            await eventually(
                lambda: asyncio.to_thread(store.find, cohort, CohortCourses),
                what="the cohort's courses known to matching",
            )
            yield matching
    finally:
        store.close()


async def test_the_offices_selection_puts_the_applicant_in_the_pool(
    matching: Matching,
) -> None:
    applicant_id = uuid.uuid4()
    second = envelopes.candidate_selected(applicant_id)

    # Passing the second interview alone no longer does.
    await matching.publish(
        applicant_id, envelopes.interview_passed(applicant_id, "second", version=10)
    )
    await matching.publish(applicant_id, second)
    await matching.publish(applicant_id, second)  # a relay may publish twice

    entered = await matching.published("CandidateEnteredPool", applicant_id=str(applicant_id))
    assert entered["causation_id"] == str(second.event_id)
    assert entered["correlation_id"] == str(second.correlation_id)
    candidate = await matching.candidate(applicant_id)
    assert candidate is not None
    assert (candidate["status"], candidate["match_id"]) == ("in_pool", None)
    # with what matching needs to place them
    assert candidate["course_preferences"] == ["A", "C"]
    assert candidate["internship_interests"] == ["manufacturing"]
    assert candidate["languages"]["jlpt"] == "N3"
    all_entries = [
        value
        for _, value in await read_topic(matching.infra, topics.MATCHING)
        if value.get("event_type") == "CandidateEnteredPool"
        and value["payload"]["applicant_id"] == str(applicant_id)
    ]
    assert len(all_entries) == 1


async def test_a_company_decision_is_final(matching: Matching) -> None:
    applicant_id, company_id = await matching.a_candidate(), await matching.a_company()

    confirmed = await matching.confirm(applicant_id, company_id)
    repeated = await matching.confirm(applicant_id, company_id)
    another_company = await matching.confirm(applicant_id)

    assert (confirmed.status_code, repeated.status_code) == (201, 200)
    assert repeated.json()["match_id"] == confirmed.json()["match_id"]
    assert another_company.status_code == 409
    assert another_company.json()["errors"][0]["field"] == "applicant_id"
    event = await matching.published("MatchConfirmed", applicant_id=str(applicant_id))
    assert event["payload"]["match_id"] == confirmed.json()["match_id"]
    assert event["payload"]["company_id"] == str(company_id)
    candidate = await matching.candidate(applicant_id)
    assert candidate is not None
    assert (candidate["status"], candidate["match_id"]) == ("matched", event["payload"]["match_id"])


async def test_only_candidates_in_the_pool_can_be_matched(matching: Matching) -> None:
    response = await matching.confirm(uuid.uuid4(), uuid.uuid4())

    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "applicant_id"


# -- the agreements: each party signs under its own identity ------------------------------
async def test_the_three_parties_each_sign_the_in_person_agreement_as_themselves(
    matching: Matching,
) -> None:
    # Given a match on course A, in Japan (in person): one three-way agreement
    match = await matching.a_match("A")
    assert match["agreement_structure"] == "three_way"
    assert [a["parties"] for a in match["agreements"]] == [THREE_PARTIES]

    # When the intern, the company's user and the office each sign
    answers = [await matching.sign(match, THREE_PARTIES, p) for p in ("intern", "company")]
    assert [a.json()["agreement_signed"] for a in answers] == [False, False]
    last = await matching.sign(match, THREE_PARTIES, "office")

    # Then the agreement is signed once all three are in, each signature as its signer's
    assert (last.status_code, last.json()["agreement_signed"]) == (201, True)
    agreement_id = last.json()["agreement"]["agreement_id"]
    signed = await matching.published("AgreementSigned", agreement_id=agreement_id)
    assert (signed["payload"]["structure"], signed["payload"]["parties"]) == (
        "three_way",
        THREE_PARTIES,
    )
    signatures = [
        value
        for _, value in await read_topic(matching.infra, topics.MATCHING)
        if value.get("event_type") == "AgreementSignatureRecorded"
        and value["payload"]["agreement_id"] == agreement_id
    ]
    assert [(e["payload"]["party"], e["actor"]["kind"]) for e in signatures] == [
        ("intern", "applicant"),
        ("company", "company"),
        ("office", "staff"),
    ]
    assert signatures[0]["actor"]["id"] == match["applicant_id"]
    assert signatures[1]["actor"]["company_id"] == match["company_id"]
    # and the intern reads their match with their own access
    read = await matching.http.get(
        f"/matches/{match['match_id']}", headers=bearer(IDENTITY.applicant(match["applicant_id"]))
    )
    [agreement] = read.json()["agreements"]
    assert agreement["signed_at"] is not None and set(agreement["signatures"]) == set(THREE_PARTIES)


async def test_the_online_course_signs_one_agreement_per_pair_of_parties(
    matching: Matching,
) -> None:
    match = await matching.a_match("B")
    assert match["agreement_structure"] == "per_pair"
    assert [a["parties"] for a in match["agreements"]] == PAIRS

    for parties in PAIRS:
        for party in parties:
            answer = await matching.sign(match, parties, party)
            assert answer.status_code == 201, answer.text

    for agreement in match["agreements"]:
        event = await matching.published("AgreementSigned", agreement_id=agreement["agreement_id"])
        assert event["payload"]["parties"] == agreement["parties"]
    read = (await matching.http.get(f"/matches/{match['match_id']}")).json()
    assert all(a["signed_at"] is not None for a in read["agreements"])


async def test_parties_signing_at_the_same_moment_complete_the_agreement_once(
    matching: Matching,
) -> None:
    match = await matching.a_match("A")

    answers = await asyncio.gather(
        *(matching.sign(match, THREE_PARTIES, party) for party in THREE_PARTIES)
    )

    assert [a.status_code for a in answers] == [201, 201, 201]
    assert [a.json()["agreement_signed"] for a in answers].count(True) == 1
    agreement_id = answers[0].json()["agreement"]["agreement_id"]
    await matching.published("AgreementSigned", agreement_id=agreement_id)
    on_kafka = [
        value["event_type"]
        for _, value in await read_topic(matching.infra, topics.MATCHING)
        if value.get("payload", {}).get("agreement_id") == agreement_id
    ]
    assert sorted(on_kafka) == ["AgreementSignatureRecorded"] * 3 + ["AgreementSigned"]


async def test_a_party_cannot_sign_the_same_agreement_twice(matching: Matching) -> None:
    match = await matching.a_match("A")
    assert (await matching.sign(match, THREE_PARTIES, "intern")).status_code == 201

    again = await matching.sign(match, THREE_PARTIES, "intern")

    assert again.status_code == 409
    [error] = again.json()["errors"]
    assert error["field"] == "party" and "already signed" in error["reason"]


@pytest.mark.parametrize(
    ("party", "as_"),
    [("intern", "company"), ("company", "intern"), ("office", "intern"), ("intern", "office")],
)
async def test_nobody_signs_for_another_party(matching: Matching, party: str, as_: str) -> None:
    match = await matching.a_match("A")

    refused = await matching.sign(match, THREE_PARTIES, party, as_=as_)

    assert refused.status_code == 403
    read = (await matching.http.get(f"/matches/{match['match_id']}")).json()
    assert read["agreements"][0]["signatures"] == {}


async def test_another_intern_or_company_cannot_sign_this_match(matching: Matching) -> None:
    match = await matching.a_match("A")
    [agreement] = match["agreements"]
    url = f"/matches/{match['match_id']}/agreements/{agreement['agreement_id']}/signatures"

    intern = await matching.http.post(
        url, json={"party": "intern"}, headers=bearer(IDENTITY.applicant(uuid.uuid4()))
    )
    company = await matching.http.post(
        url, json={"party": "company"}, headers=bearer(IDENTITY.company(uuid.uuid4()))
    )

    assert (intern.status_code, company.status_code) == (403, 403)


async def test_an_unknown_match_is_not_found(matching: Matching) -> None:
    url = f"/matches/{uuid.uuid4()}/agreements/{uuid.uuid4()}/signatures"
    response = await matching.http.post(url, json={"party": "office"})

    assert response.status_code == 404
    assert response.json()["errors"][0]["field"] == "match_id"


@pytest.mark.parametrize(("body", "field"), [({"party": "embassy"}, "party"), ({}, "party")])
async def test_a_bad_signature_is_refused_naming_the_field(
    matching: Matching, body: dict[str, Any], field: str
) -> None:
    url = f"/matches/{uuid.uuid4()}/agreements/{uuid.uuid4()}/signatures"
    response = await matching.http.post(url, json=body)

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]


# -- withdrawal ------------------------------------------------------------------------------
async def test_a_candidate_withdraws_themself_before_they_are_matched(matching: Matching) -> None:
    applicant_id = await matching.a_candidate()
    own = bearer(IDENTITY.applicant(applicant_id))

    withdrawn = await matching.http.post(f"/candidates/{applicant_id}/withdrawal", headers=own)
    again = await matching.http.post(f"/candidates/{applicant_id}/withdrawal", headers=own)

    assert (withdrawn.status_code, again.status_code) == (201, 200)
    assert withdrawn.json()["status"] == "withdrawn"
    event = await matching.published("CandidateWithdrawn", applicant_id=str(applicant_id))
    assert event["actor"] == {
        "kind": "applicant",
        "id": str(applicant_id),
        "role": None,
        "company_id": None,
    }
    assert str(applicant_id) not in await _pool(matching)
    refused = await matching.confirm(applicant_id)
    assert refused.status_code == 409 and "withdrew" in refused.json()["errors"][0]["reason"]


async def test_once_matched_a_candidate_cannot_withdraw(matching: Matching) -> None:
    match = await matching.a_match("A")
    applicant_id = match["applicant_id"]

    by_themself = await matching.http.post(
        f"/candidates/{applicant_id}/withdrawal", headers=bearer(IDENTITY.applicant(applicant_id))
    )
    by_the_office = await matching.http.post(f"/candidates/{applicant_id}/withdrawal")

    for refused in (by_themself, by_the_office):
        assert refused.status_code == 409
        [error] = refused.json()["errors"]
        assert error["field"] == "applicant_id"
        assert "once matched, an applicant cannot withdraw" in error["reason"]
    candidate = await matching.candidate(uuid.UUID(applicant_id))
    assert candidate is not None and candidate["status"] == "matched"


async def test_a_bad_match_request_is_refused_naming_the_field(matching: Matching) -> None:
    body = {"applicant_id": str(uuid.uuid4()), "company_id": "acme", "course": "B"}

    response = await matching.http.post("/matches", json=body)

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["company_id"]


async def test_staff_endpoints_need_the_staff_token(matching: Matching) -> None:
    response = await matching.http.get(f"/candidates/{uuid.uuid4()}", headers={"Authorization": ""})

    assert response.status_code == 401


async def test_malformed_records_are_quarantined_and_do_not_stop_the_consumer(
    matching: Matching,
) -> None:
    applicant_id = uuid.uuid4()
    second = envelopes.candidate_selected(applicant_id)

    # Same key, so the same partition: the valid event is read after the two bad ones.
    garbage = await matching.publish(applicant_id, b"not json")
    broken = await matching.publish(applicant_id, envelopes.with_broken_payload(second))
    await matching.publish(applicant_id, second)

    await matching.published("CandidateEnteredPool", applicant_id=str(applicant_id))
    for record in (garbage, broken):
        quarantined = await asyncio.to_thread(_quarantined, matching.store, record)
        assert quarantined is not None
        assert quarantined.offset == record.offset


def _quarantined(store: MatchingApplication, record: RecordMetadata) -> QuarantinedMessage | None:
    aggregate_id = QuarantinedMessage.id_for(record.topic, record.partition, record.offset)
    if aggregate_id not in store.repository:
        return None
    message: QuarantinedMessage = store.repository.get(aggregate_id)
    return message


# -- the rights a person exercised ------------------------------------------------------
async def _restrictions_recorded(matching: Matching, applicant_id: uuid.UUID, count: int) -> None:
    """Wait until matching recorded `count` events of the person's restrictions (what
    their disclosure shows)."""

    async def recorded() -> bool:
        held = await matching.http.get(f"/privacy/subjects/{applicant_id}/records", headers=OFFICER)
        return len(held.json()["records"]["restrictions"]) >= count

    await eventually(recorded, what=f"{count} restriction event(s) recorded")


async def _pool(matching: Matching) -> set[str]:
    answer = await matching.http.get("/cohorts/FY2025/pool")
    assert answer.status_code == 200, answer.text
    return {c["applicant_id"] for c in answer.json()["candidates"]}


async def test_a_suspended_candidate_is_not_matched_until_use_is_resumed(
    matching: Matching,
) -> None:
    applicant_id, company_id = await matching.a_candidate(), await matching.a_company()
    await matching.publish_registration(
        applicant_id, envelopes.processing_restricted(applicant_id, use_suspended=True)
    )
    await _restrictions_recorded(matching, applicant_id, 2)

    refused = await matching.confirm(applicant_id, company_id)

    assert refused.status_code == 409
    [error] = refused.json()["errors"]
    assert error["field"] == "applicant_id" and "use suspended" in error["reason"]
    assert str(applicant_id) not in await _pool(matching)

    await matching.publish_registration(
        applicant_id, envelopes.processing_restricted(applicant_id, use_suspended=False)
    )
    await _restrictions_recorded(matching, applicant_id, 3)
    assert (await matching.confirm(applicant_id, company_id)).status_code == 201


async def test_the_pool_offered_to_host_companies_leaves_out_a_stopped_provision(
    matching: Matching,
) -> None:
    offered, stopped = await matching.a_candidate(), await matching.a_candidate()
    assert {str(offered), str(stopped)} <= await _pool(matching)

    await matching.publish_registration(
        stopped, envelopes.processing_restricted(stopped, third_party_provision_stopped=True)
    )
    await _restrictions_recorded(matching, stopped, 2)

    pool = await _pool(matching)
    assert str(offered) in pool and str(stopped) not in pool
    # Nor does a round propose them to a host company: a proposal would provide them to
    # that third party.
    refused = await matching.confirm(stopped)
    assert refused.status_code == 409 and "never proposed" in refused.text
    assert (await matching.confirm(offered)).status_code == 201


async def test_an_erased_candidate_is_neither_matched_nor_offered_and_nothing_stays_in_clear(
    matching: Matching, vault: PersonalData
) -> None:
    applicant_id = await matching.a_candidate()
    # Registration's events about them pass by on the topic matching now reads.
    name, address = f"Mai{applicant_id.hex[:8]}", f"{applicant_id.hex[:12]}@example.org"
    registered = envelopes.applicant_registered(
        applicant_id, given_name=name, email=address, vault=vault
    )
    await matching.publish_registration(applicant_id, registered)

    await asyncio.to_thread(vault.erase, applicant_id)
    await matching.publish_registration(applicant_id, envelopes.subject_erased(applicant_id))
    await _restrictions_recorded(matching, applicant_id, 2)

    refused = await matching.confirm(applicant_id)
    assert refused.status_code == 409 and "erased" in refused.json()["errors"][0]["reason"]
    assert str(applicant_id) not in await _pool(matching)
    personal = [name, address]
    assert await asyncio.to_thread(found_in_clear, matching.infra, "matching", personal) == []
    assert await asyncio.to_thread(found_in_clear, matching.infra, "matching", [str(applicant_id)])
    held = await matching.http.get(f"/privacy/subjects/{applicant_id}/records", headers=OFFICER)
    assert held.json()["erased"] is True and held.json()["records"]["candidate"]
    # and the consumer goes on with the next candidate
    await matching.a_candidate()


# -- screening's decisions after the selection ------------------------------------------
async def test_a_referred_candidate_is_held_until_found_eligible_again(matching: Matching) -> None:
    applicant_id = await matching.a_candidate()

    # Given screening referred the selected candidate to the office (found ineligible)
    await matching.publish(applicant_id, envelopes.case_referred_to_office(applicant_id))

    async def held() -> dict[str, Any] | None:
        candidate = await matching.candidate(applicant_id)
        return candidate if candidate and candidate["status"] == "on_hold" else None

    candidate = await eventually(held, what="the candidate on hold")
    assert [r["code"] for r in candidate["on_hold_because"]] == ["nationality_not_excluded"]
    # Then the office cannot match them, and host companies are not offered them
    refused = await matching.confirm(applicant_id)
    assert refused.status_code == 409
    [error] = refused.json()["errors"]
    assert error["field"] == "applicant_id" and "on hold" in error["reason"]
    assert str(applicant_id) not in await _pool(matching)

    # When a new assessment finds them eligible, the hold is released
    await matching.publish(applicant_id, envelopes.eligibility_assessed(applicant_id, "eligible"))

    async def released() -> bool:
        candidate = await matching.candidate(applicant_id)
        return candidate is not None and candidate["status"] == "in_pool"

    await eventually(released, what="the hold released")
    assert str(applicant_id) in await _pool(matching)
    assert (await matching.confirm(applicant_id)).status_code == 201


async def test_a_candidate_the_office_rejects_leaves_the_pool_for_good(matching: Matching) -> None:
    applicant_id = await matching.a_candidate()

    await matching.publish(applicant_id, envelopes.case_referred_to_office(applicant_id))
    await matching.publish(applicant_id, envelopes.applicant_rejected(applicant_id, "selection"))
    await matching.publish(
        applicant_id, envelopes.eligibility_assessed(applicant_id, "eligible", version=17)
    )

    async def removed() -> bool:
        candidate = await matching.candidate(applicant_id)
        return candidate is not None and candidate["status"] == "removed"

    await eventually(removed, what="the candidate out of the pool")
    refused = await matching.confirm(applicant_id)
    assert refused.status_code == 409
    assert "rejected at selection" in refused.json()["errors"][0]["reason"]
    assert str(applicant_id) not in await _pool(matching)


# -- rounds and the company's decision over HTTP ----------------------------------------
async def test_a_round_proposes_and_the_company_declines_or_confirms_as_itself(
    matching: Matching,
) -> None:
    ana, ben = await matching.a_candidate("A"), await matching.a_candidate("A")
    tokyo = await matching.a_company(capacity=2)
    tokyo_user = bearer(IDENTITY.company(tokyo))
    other_user = bearer(IDENTITY.company(uuid.uuid4()))
    for applicant_id in (ana, ben):
        r = await matching.http.put(
            f"/candidates/{applicant_id}/preferences",
            json={"companies": [str(tokyo)]},
            headers=bearer(IDENTITY.applicant(applicant_id)),
        )
        assert r.status_code == 200, r.text
    # The company ranks its candidates with its own access.
    r = await matching.http.put(
        f"/companies/{tokyo}/preferences",
        json={"candidates": [str(ben), str(ana)]},
        headers=tokyo_user,
    )
    assert (r.status_code, r.json()["changed"]) == (200, True)

    ran = await matching.http.post("/cohorts/FY2025/rounds")
    assert ran.status_code == 201, ran.text
    round_ = ran.json()
    assert {(m["applicant_id"], m["company_id"], m["course"]) for m in round_["matches"]} >= {
        (str(ana), str(tokyo), "A"),
        (str(ben), str(tokyo), "A"),
    }
    assert (round_["blocking_pairs"], round_["capacity_violations"]) == (0, 0)
    again = await matching.http.get(f"/cohorts/FY2025/rounds/{round_['round_number']}")
    assert again.json() == round_
    proposed = await matching.published("MatchProposed", applicant_id=str(ana))
    assert proposed["payload"]["round_id"] == round_["round_id"]
    match_id = proposed["payload"]["match_id"]

    # Signing before the company confirmed is refused.
    read = (await matching.http.get(f"/matches/{match_id}")).json()
    assert read["proposal"]["company_id"] == str(tokyo) and read["confirmed_at"] is None
    early = await matching.http.post(
        f"/matches/{match_id}/agreements/{uuid.uuid4()}/signatures", json={"party": "office"}
    )
    assert early.status_code == 409 and "not confirmed" in early.text

    # Another company's user cannot decide; the company declines Ana in its own words.
    decision = {"decision": "decline", "reason_code": "interview_not_passed", "note": "Too shy."}
    url = f"/matches/{match_id}/decision"
    assert (await matching.http.post(url, json=decision, headers=other_user)).status_code == 403
    declined = await matching.http.post(url, json=decision, headers=tokyo_user)
    assert declined.status_code == 201, declined.text
    assert declined.json()["declined_by"] == [str(tokyo)]
    event = await matching.published("MatchDeclined", applicant_id=str(ana))
    assert event["payload"]["reason_code"] == "interview_not_passed"
    assert event["payload"]["note"].startswith("sealed:v1:")
    assert "Too shy" not in str(event)
    # ... and cannot confirm her after that.
    late = await matching.http.post(
        "/matches",
        json={"applicant_id": str(ana), "company_id": str(tokyo)},
        headers=tokyo_user,
    )
    assert late.status_code == 409 and late.json()["errors"][0]["field"] == "company_id"

    ben_match = (await matching.published("MatchProposed", applicant_id=str(ben)))["payload"]
    confirmed = await matching.http.post(
        f"/matches/{ben_match['match_id']}/decision",
        json={"decision": "confirm"},
        headers=tokyo_user,
    )
    assert confirmed.status_code == 201, confirmed.text
    assert confirmed.json()["confirmed_at"] is not None
    event = await matching.published("MatchConfirmed", applicant_id=str(ben))
    assert event["payload"]["proposal_id"] == ben_match["proposal_id"]


async def test_confirming_a_candidate_never_proposed_is_refused(matching: Matching) -> None:
    applicant_id, company_id = await matching.a_candidate(), await matching.a_company()

    refused = await matching.http.post(
        "/matches", json={"applicant_id": str(applicant_id), "company_id": str(company_id)}
    )

    assert refused.status_code == 409
    [error] = refused.json()["errors"]
    assert error["field"] == "company_id" and "never proposed" in error["reason"]


async def test_lists_are_refused_naming_the_entry_at_fault(matching: Matching) -> None:
    applicant_id, company_id = await matching.a_candidate(), await matching.a_company()

    unknown = await matching.http.put(
        f"/candidates/{applicant_id}/preferences",
        json={"companies": [str(company_id), str(uuid.uuid4())]},
    )
    stranger = await matching.http.put(
        f"/companies/{company_id}/preferences", json={"candidates": [str(uuid.uuid4())]}
    )

    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "companies.1"
    assert stranger.status_code == 422
    assert stranger.json()["errors"][0]["field"] == "candidates.0"


async def test_a_candidate_found_ineligible_after_selection_is_taken_out_of_the_round(
    matching: Matching,
) -> None:
    applicant_id, company_id = await matching.a_candidate(), await matching.a_company()
    await matching.http.put(
        f"/candidates/{applicant_id}/preferences", json={"companies": [str(company_id)]}
    )
    await matching.http.put(
        f"/companies/{company_id}/preferences", json={"candidates": [str(applicant_id)]}
    )
    ran = await matching.http.post("/cohorts/FY2025/rounds")
    assert ran.status_code == 201, ran.text
    proposed = await matching.published("MatchProposed", applicant_id=str(applicant_id))

    # When screening refers the selected candidate to the office (found ineligible)
    await matching.publish(applicant_id, envelopes.case_referred_to_office(applicant_id))

    # Then the proposal is withdrawn, and the office (and the company) are told why
    withdrawn = await matching.published("ProposalWithdrawn", applicant_id=str(applicant_id))
    assert withdrawn["payload"]["proposal_id"] == proposed["payload"]["proposal_id"]
    assert withdrawn["payload"]["reason_code"] == "candidate_on_hold"
    assert withdrawn["causation_id"] is not None
    refused = await matching.http.post(
        "/matches", json={"applicant_id": str(applicant_id), "company_id": str(company_id)}
    )
    assert refused.status_code == 409 and "on hold" in refused.text

    # and the board (a read model, a moment behind the log) shows the place open again
    async def place_open() -> bool:
        board = (await matching.http.get("/cohorts/FY2025/board")).json()
        company = next(c for c in board["companies"] if c["company_id"] == str(company_id))
        return company["proposed"] == [] and company["places_open"] == 1

    await eventually(place_open, what="the company's place open again on the board")


async def test_a_company_user_finds_the_candidates_proposed_to_it_and_decides(
    matching: Matching,
) -> None:
    applicant_id, company_id = await matching.a_candidate(), await matching.a_company()
    user = bearer(IDENTITY.company(company_id))
    await matching.http.put(
        f"/candidates/{applicant_id}/preferences", json={"companies": [str(company_id)]}
    )
    await matching.http.put(
        f"/companies/{company_id}/preferences", json={"candidates": [str(applicant_id)]}
    )
    assert (await matching.http.post("/cohorts/FY2025/rounds")).status_code == 201

    async def proposed() -> dict[str, Any] | None:
        r = await matching.http.get(f"/companies/{company_id}/proposals", headers=user)
        assert r.status_code == 200, r.text
        return r.json() if r.json()["proposed"] else None

    found = await eventually(proposed, what="the proposal on the company's list")
    [candidate] = found["proposed"]
    assert candidate["applicant_id"] == str(applicant_id) and candidate["decide_by"]
    other = bearer(IDENTITY.company(uuid.uuid4()))
    assert (
        await matching.http.get(f"/companies/{company_id}/proposals", headers=other)
    ).status_code == 403

    decided = await matching.http.post(
        f"/matches/{candidate['match_id']}/decision", json={"decision": "confirm"}, headers=user
    )
    assert decided.status_code == 201, decided.text

    async def confirmed() -> dict[str, Any] | None:
        r = (await matching.http.get(f"/companies/{company_id}/proposals", headers=user)).json()
        return r if r["confirmed"] else None

    after = await eventually(confirmed, what="the confirmation on the company's list")
    assert after["proposed"] == [] and after["places_open"] == 0
