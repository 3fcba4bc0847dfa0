"""Host companies on the running matching service (real Kafka and PostgreSQL): a cohort
opens on `jip.registration.v1` as registration publishes it, the office or a company's
own user registers the company over HTTP, and what matching publishes is read back from
`jip.matching.v1` by an independent consumer."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from events import topics
from infra import InfraSettings
from services.matching.application.service import MatchingApplication
from services.matching.bootstrap import bootstrap, build_application
from services.matching.domain.company import corporate_number_check_digit
from services.matching.domain.courses import CohortCourses, cohort_courses_id_for
from services.matching.settings import MatchingSettings
from tests import envelopes
from tests.support import (
    IDENTITY,
    OFFICER,
    eventually,
    found_in_clear,
    running,
    service_env,
    wait_for_event,
)

MATCHER = {"Authorization": f"Bearer {IDENTITY.staff('matcher', 'staff-017')}"}
AUDITOR = {"Authorization": f"Bearer {IDENTITY.staff('auditor', 'staff-031')}"}


def a_corporate_number() -> str:
    base = f"{random.randint(0, 10**12 - 1):012d}"
    return f"{corporate_number_check_digit(base)}{base}"


@dataclass
class Matching:
    http: httpx.AsyncClient
    store: MatchingApplication
    producer: AIOKafkaProducer
    infra: InfraSettings

    async def an_open_cohort(self) -> str:
        """A new cohort (courses A and B, as the golden sample's), once matching learnt
        of its opening."""
        cohort_id = f"FY2025-{uuid.uuid4().hex[:8].upper()}"
        opened = envelopes.cohort_opened(cohort_id)
        await self.producer.send_and_wait(
            topics.REGISTRATION,
            opened.model_dump_json().encode(),
            key=str(opened.aggregate_id).encode(),
        )

        def learnt() -> bool:
            return self.store.find(cohort_courses_id_for(cohort_id), CohortCourses) is not None

        await eventually(lambda: asyncio.to_thread(learnt), what="the cohort's courses learnt")
        return cohort_id

    async def register(
        self,
        company_id: uuid.UUID,
        cohort_id: str,
        headers: dict[str, str] = MATCHER,
        **changes: Any,
    ) -> httpx.Response:
        return await self.http.put(
            f"/companies/{company_id}", json=a_registration(cohort_id, **changes), headers=headers
        )

    async def published(self, event_type: str, company_id: uuid.UUID) -> dict[str, Any]:
        return await wait_for_event(
            self.infra,
            topics.MATCHING,
            event_type,
            lambda e: e["payload"].get("company_id") == str(company_id),
        )


def a_registration(cohort_id: str, **changes: Any) -> dict[str, Any]:
    return {
        "cohort_id": cohort_id,
        "legal_name": "Kato Seiki Co., Ltd.",
        "corporate_number": a_corporate_number(),
        "organisation_kind": "company",
        "industry": "manufacturing",
        "prefecture": "aichi",
        "capital_yen": 30_000_000,
        "regular_employees": 45,
        "courses": ["A", "B"],
        "plan": {
            "content": "Quality control of machined parts, with a mentor.",
            "required_languages": {"jlpt": "N3"},
            "skills": ["CAD"],
        },
        "contacts": [{"name": "Hanako Kato", "email": "hanako.kato@example.jp"}],
        **changes,
    }


@pytest.fixture(scope="module")
async def matching(infra: InfraSettings, producer: AIOKafkaProducer) -> AsyncIterator[Matching]:
    with pytest.MonkeyPatch.context() as env:
        for name, value in service_env("matching", infra).items():
            env.setenv(name, value)
        settings = MatchingSettings()
    store = build_application(settings)
    try:
        async with (
            running(await bootstrap(settings)) as base_url,
            httpx.AsyncClient(base_url=base_url, timeout=30) as http,
        ):
            yield Matching(http, store, producer, infra)
    finally:
        store.close()


async def test_the_office_registers_an_sme_and_its_contacts_stay_sealed(
    matching: Matching,
) -> None:
    # given a cohort matching knows, and a manufacturer of 45 people
    cohort_id, company_id = await matching.an_open_cohort(), uuid.uuid4()
    name, address = f"Hanako{company_id.hex[:6]}", f"{company_id.hex[:10]}@example.jp"
    contacts = [{"name": name, "email": address, "phone": "+81 52 123 4567"}]

    details = {"contacts": contacts, "capacity": 2, "corporate_number": a_corporate_number()}

    # when a matcher registers it, twice
    registered = await matching.register(company_id, cohort_id, **details)
    repeated = await matching.register(company_id, cohort_id, **details)

    # then it is registered once, naming the rule that found it eligible
    assert registered.status_code == 201, registered.text
    assert (repeated.status_code, repeated.json()["registered"]) == (200, False)
    event = await matching.published("CompanyRegistered", company_id)
    assert event["payload"]["eligibility"]["rule_id"] == "sme_basic_act_article_2"
    assert event["payload"]["capacity"] == 2
    assert event["payload"]["courses"] == ["A", "B"]
    assert event["actor"]["role"] == "matcher"
    # its contacts travel and are stored sealed with the company's own key
    assert event["payload"]["contacts"].startswith(f"sealed:v1:{company_id}:")
    assert (
        await asyncio.to_thread(found_in_clear, matching.infra, "matching", [name, address]) == []
    )
    # and read opened by the office, not by an auditor
    seen = (await matching.http.get(f"/companies/{company_id}", headers=MATCHER)).json()
    assert seen["status"] == "registered" and seen["contacts"][0]["email"] == address
    audited = (await matching.http.get(f"/companies/{company_id}", headers=AUDITOR)).json()
    assert audited["contacts"] is None and audited["legal_name"] == "Kato Seiki Co., Ltd."
    listed = await matching.http.get(f"/cohorts/{cohort_id}/companies", headers=AUDITOR)
    assert [c["company_id"] for c in listed.json()["companies"]] == [str(company_id)]
    # and the privacy officer's disclosure of the company opens them
    held = await matching.http.get(f"/privacy/subjects/{company_id}/records", headers=OFFICER)
    assert address in held.text

    # a different registration of a registered company is a conflict, recorded nowhere
    changed = await matching.register(company_id, cohort_id, **{**details, "capacity": 3})
    assert changed.status_code == 409
    assert changed.json()["errors"][0]["field"] == "company_id"


async def test_a_company_registers_itself_under_its_own_id(matching: Matching) -> None:
    cohort_id, company_id = await matching.an_open_cohort(), uuid.uuid4()
    own = {"Authorization": f"Bearer {IDENTITY.company(company_id, 'hr-kato')}"}

    registered = await matching.register(company_id, cohort_id, own)
    elsewhere = await matching.register(uuid.uuid4(), cohort_id, own)

    assert registered.status_code == 201, registered.text
    assert elsewhere.status_code == 403
    event = await matching.published("CompanyRegistered", company_id)
    assert event["actor"] == {
        "kind": "company",
        "id": "hr-kato",
        "role": None,
        "company_id": str(company_id),
    }
    mine = await matching.http.get(f"/companies/{company_id}", headers=own)
    assert mine.status_code == 200 and mine.json()["contacts"] is not None


async def test_a_large_retailer_is_refused_with_its_reasons_and_may_register_again(
    matching: Matching,
) -> None:
    cohort_id, company_id = await matching.an_open_cohort(), uuid.uuid4()
    number = a_corporate_number()
    too_large = {"industry": "retail", "capital_yen": 80_000_000, "regular_employees": 120}

    refused = await matching.register(company_id, cohort_id, corporate_number=number, **too_large)

    assert refused.status_code == 422
    [error] = refused.json()["errors"]
    assert error["field"] == "capital_yen"
    assert "50,000,000 yen" in error["reason"] and "retail" in error["reason"]
    event = await matching.published("CompanyRefused", company_id)
    [reason] = event["payload"]["reasons"]
    assert reason["code"] == "not_an_sme"
    assert reason["saw"] == {
        "industry": "retail",
        "capital_yen": 80_000_000,
        "regular_employees": 120,
        "capital_limit_yen": 50_000_000,
        "employees_limit": 50,
    }
    assert event["payload"]["eligibility"]["rule_version"] == 1
    seen = (await matching.http.get(f"/companies/{company_id}", headers=MATCHER)).json()
    assert seen["status"] == "refused" and seen["refusals"][0]["code"] == "not_an_sme"

    # when it registers again with the figures corrected, it is accepted
    corrected = {**too_large, "regular_employees": 48}
    again = await matching.register(company_id, cohort_id, corporate_number=number, **corrected)
    assert again.status_code == 201, again.text
    await matching.published("CompanyRegistered", company_id)


@pytest.mark.parametrize("kind", ["government_body", "ngo", "association"])
async def test_a_host_that_is_not_a_company_is_refused(matching: Matching, kind: str) -> None:
    cohort_id, company_id = await matching.an_open_cohort(), uuid.uuid4()

    refused = await matching.register(company_id, cohort_id, organisation_kind=kind)

    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["organisation_kind"]
    event = await matching.published("CompanyRefused", company_id)
    assert event["payload"]["reasons"][0]["code"] == "not_a_company"


async def test_one_company_takes_one_registration_per_cohort(matching: Matching) -> None:
    cohort_id, number = await matching.an_open_cohort(), a_corporate_number()

    first = await matching.register(uuid.uuid4(), cohort_id, corporate_number=number)
    second = await matching.register(uuid.uuid4(), cohort_id, corporate_number=number)

    assert first.status_code == 201
    assert second.status_code == 409
    assert second.json()["errors"][0]["field"] == "corporate_number"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"corporate_number": "5180001234567"}, "corporate_number"),
        ({"corporate_number": "418000123456"}, "corporate_number"),
        ({"prefecture": "kyushu"}, "prefecture"),
        ({"courses": ["A", "Z"]}, "courses.1"),
        ({"capacity": 0}, "capacity"),
        ({"industry": "mining"}, "industry"),
        ({"contacts": []}, "contacts"),
        ({"contacts": [{"name": "K", "email": "not an address"}]}, "contacts.0.email"),
        ({"plan": {"content": "x", "required_languages": {"jlpt": "N6"}}}, None),
    ],
)
async def test_bad_input_is_refused_naming_the_field_and_nothing_is_recorded(
    matching: Matching, changes: dict[str, Any], field: str | None
) -> None:
    cohort_id, company_id = await matching.an_open_cohort(), uuid.uuid4()

    response = await matching.register(company_id, cohort_id, **changes)

    assert response.status_code == 422
    fields = [e["field"] for e in response.json()["errors"]]
    assert fields == [field] if field else fields[0].startswith("plan.required_languages")
    gone = await matching.http.get(f"/companies/{company_id}", headers=MATCHER)
    assert gone.status_code == 404


async def test_a_cohort_matching_never_heard_of_is_refused(matching: Matching) -> None:
    response = await matching.register(uuid.uuid4(), "FY2025-NEVER")

    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "cohort_id"
