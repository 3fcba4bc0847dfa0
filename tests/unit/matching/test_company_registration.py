"""Stories of a host company's registration in matching's application, with the event
store and the key store in memory: the cohort's courses learnt from its opening, what
is published for an accepted and a refused company, and the contacts sealed."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from events import matching as contract
from events import topics
from events.envelope import Envelope
from kernel import actor as acting
from kernel.rules import RuleViolation
from runtime.inbox import Inbox, ReceivedRecord
from runtime.privacy import PersonalData
from services.matching.application.publishing import to_integration_event
from services.matching.application.service import MatchingApplication
from services.matching.domain.company import CompanyRegistration, InternshipPlan
from tests import envelopes
from tests.in_memory import personal_data_in_memory

ACTOR = acting.staff("staff-017", role="matcher")
IN_MEMORY = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
CONTACTS = [{"name": "Hanako Kato", "email": "hanako.kato@example.jp"}]


@pytest.fixture
def app() -> MatchingApplication:
    return MatchingApplication(IN_MEMORY)


@pytest.fixture
def vault() -> PersonalData:
    return personal_data_in_memory()  # type: ignore[no-any-return]


def open_cohort(app: MatchingApplication, cohort_id: str = "FY2025", offset: int = 0) -> None:
    inbox = Inbox(app, accepts=MatchingApplication.consumed_event_types())
    value = envelopes.cohort_opened(cohort_id).model_dump_json().encode()
    inbox.receive(ReceivedRecord(topics.REGISTRATION, 0, offset, value))


def published(app: MatchingApplication) -> list[Envelope[Any]]:
    notifications = app.recorder.select_notifications(start=1, limit=1000)
    translated = (to_integration_event(app.mapper.to_domain_event(n)) for n in notifications)
    return [e for e in translated if e is not None]


def a_registration(**changes: Any) -> CompanyRegistration:
    values: dict[str, Any] = {
        "company_id": uuid.uuid4(),
        "cohort_id": "FY2025",
        "legal_name": "Kato Seiki Co., Ltd.",
        "corporate_number": "4180001234567",
        "organisation_kind": "company",
        "industry": "services",
        "prefecture": "tokyo",
        "capital_yen": 50_000_000,
        "regular_employees": 100,
        "courses": ("A", "B"),
        "plan": InternshipPlan("Front desk of a ryokan", {"jlpt": "N2"}, ("hospitality",)),
    }
    return CompanyRegistration(**{**values, **changes})


def test_a_cohort_opening_teaches_matching_its_courses_once(app: MatchingApplication) -> None:
    open_cohort(app, offset=0)
    open_cohort(app, offset=1)  # published twice by registration's relay

    assert app.cohort_courses("FY2025") == {"A": "in_person", "B": "online"}
    assert published(app) == []  # what matching learnt is its own


def test_an_sme_at_its_limits_is_registered_and_published_with_sealed_contacts(
    app: MatchingApplication, vault: PersonalData
) -> None:
    open_cohort(app)
    registration = a_registration()

    decided = app.register_company(registration, CONTACTS, vault, ACTOR)

    assert decided.new and decided.company.status == "registered"
    [event] = published(app)
    assert isinstance(event, contract.CompanyRegistered)
    assert event.payload.company_id == registration.company_id
    assert event.payload.eligibility.industry_group == "services"
    assert "hanako" not in event.model_dump_json().lower()
    assert vault.unseal(event.payload.contacts) == CONTACTS
    # sent again: nothing new; with other contacts: a conflict
    assert not app.register_company(registration, CONTACTS, vault, ACTOR).new
    other = [{"name": "Taro Kato", "email": "taro@example.jp"}]
    with pytest.raises(RuleViolation) as conflict:
        app.register_company(registration, other, vault, ACTOR)
    assert conflict.value.field == "company_id"


def test_one_over_both_limits_is_refused_and_the_refusal_published(
    app: MatchingApplication, vault: PersonalData
) -> None:
    open_cohort(app)

    decided = app.register_company(
        a_registration(capital_yen=50_000_001, regular_employees=101), CONTACTS, vault, ACTOR
    )

    assert decided.company.status == "refused"
    [event] = published(app)
    assert isinstance(event, contract.CompanyRefused)
    assert [r.code for r in event.payload.reasons] == ["not_an_sme"]
    assert event.payload.reasons[0].saw["employees_limit"] == 100


def test_nothing_is_recorded_for_a_course_the_cohort_lacks_or_a_cohort_unheard_of(
    app: MatchingApplication, vault: PersonalData
) -> None:
    with pytest.raises(RuleViolation) as unheard:
        app.register_company(a_registration(), CONTACTS, vault, ACTOR)
    open_cohort(app)
    with pytest.raises(RuleViolation) as lacking:
        app.register_company(a_registration(courses=("C",)), CONTACTS, vault, ACTOR)

    assert (unheard.value.field, unheard.value.conflict) == ("cohort_id", True)
    assert lacking.value.field == "courses.0"
    assert published(app) == []
    assert app.companies_of_cohort("FY2025") == []


def test_the_cohorts_companies_are_listed_in_the_order_they_registered(
    app: MatchingApplication, vault: PersonalData
) -> None:
    open_cohort(app)
    open_cohort(app, "FY2025-B", offset=1)
    first, refused, elsewhere = (
        a_registration(),
        a_registration(organisation_kind="ngo", corporate_number="8120009876543"),
        a_registration(cohort_id="FY2025-B"),
    )
    for registration in (first, refused, elsewhere):
        app.register_company(registration, CONTACTS, vault, ACTOR)

    listed = app.companies_of_cohort("FY2025")

    assert [(c.company_id, c.status) for c in listed] == [
        (first.company_id, "registered"),
        (refused.company_id, "refused"),
    ]
