"""A cohort's terms as the office opens and revises them: the rule set is versioned,
its recipients come from the DAC List edition it names, and terms that contradict one
another are refused, naming the field."""

import uuid
from datetime import date

import pytest

from events.reference import dac_list
from events.registration import CohortRules, CohortRulesRevised
from infra.cohorts import preset
from kernel import actor as acting
from kernel.rules import RuleViolation
from services.registration.adapters.http_api.cohorts import CohortSpec
from services.registration.application.publishing import to_integration_event
from tests.in_memory import registration_in_memory

OFFICE = acting.staff("staff-001", role="admin")


def spec_of(name: str, **changes) -> dict:
    """A preset as the office's endpoint hands it to the application."""
    spec = CohortSpec.model_validate({**preset(name), **changes})
    data = spec.model_dump(mode="python")
    data["courses"] = [c.model_dump(mode="json") for c in spec.courses]
    data["rules"] = spec.rules.given()
    return data


def opened(name: str = "fy2025", **changes):
    app = registration_in_memory()
    app.open_cohort(spec_of(name, **changes), OFFICE, uuid.uuid4())
    return app


def refused_field(name: str = "fy2025", **changes) -> str:
    with pytest.raises(RuleViolation) as refused:
        opened(name, **changes)
    return refused.value.field


@pytest.mark.parametrize(
    ("name", "edition", "version"),
    [("fy2025", "oecd-dac-2024-2025", 1), ("fy2021", "oecd-dac-2021", 1)],
)
def test_a_preset_opens_with_the_recipients_of_its_dac_list_edition(name, edition, version):
    rules = opened(name).get_cohort(preset(name)["cohort_id"]).rules
    assert rules["recipient_list"] == edition
    assert rules["recipient_countries"] == sorted(dac_list.edition(edition).codes)
    assert rules["rule_set_version"] == version
    assert CohortRules.model_validate(rules)  # as the contract publishes it


def test_the_fy2025_preset_holds_the_calls_terms():
    rules = opened().get_cohort("FY2025").rules
    assert rules["excluded_nationalities"] == ["CN"]
    assert rules["residents_of_japan_may_apply"] is False
    assert rules["earlier_participation_excluded"] == {"from_fy": 2016, "to_fy": 2024}
    assert rules["language"]["min_jlpt"] == "N3"
    assert rules["language"]["english_minimums"] == {
        "ielts": 5.5,
        "toefl_ibt": 72,
        "toeic": 600,
        "cefr": "B2",
    }


def test_the_fy2021_preset_lets_residents_of_japan_apply():
    cohort = opened("fy2021").get_cohort("FY2021")
    assert cohort.rules["residents_of_japan_may_apply"] is True
    assert (cohort.min_age, cohort.max_age, cohort.age_reference_date) == (
        20,
        40,
        date(2020, 10, 15),
    )
    assert cohort.rules["earlier_participation_excluded"] == {"from_fy": 2016, "to_fy": 2019}


def test_an_unknown_edition_of_the_list_is_refused_naming_the_field():
    rules = {**preset("fy2025")["rules"], "recipient_list": "oecd-dac-1999"}
    assert refused_field(rules=rules) == "rules.recipient_list"


def test_without_rules_a_cohort_uses_the_edition_in_force_for_its_fiscal_year():
    app = registration_in_memory()
    app.open_cohort({**spec_of("fy2025"), "rules": {}}, OFFICE, uuid.uuid4())
    defaulted = app.get_cohort("FY2025").rules
    assert defaulted["recipient_list"] == "oecd-dac-2024-2025"
    assert (defaulted["rule_set_id"], defaulted["rule_set_version"]) == ("jip-fy2025", 1)


def test_a_later_fiscal_year_keeps_the_latest_edition_until_the_dac_revises_it():
    assert dac_list.edition_for_year(2027).id == "oecd-dac-2024-2025"
    assert dac_list.edition_for_year(2021).id == "oecd-dac-2021"


# -- contradictory terms ---------------------------------------------------------------


def test_results_due_before_applications_close_are_refused():
    assert refused_field(results_by="2025-06-29") == "results_by"


def test_a_window_that_closes_before_it_opens_is_refused():
    assert (
        refused_field(
            applications_open_at="2025-06-01T00:00:00Z",
            applications_close_at="2025-05-01T00:00:00Z",
        )
        == "applications_close_at"
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        # FY2025 is 1 April 2025 to 31 March 2026 in Japan: 1 April 2026, 00:30 JST is FY2026.
        (
            {"applications_close_at": "2026-03-31T15:30:00Z", "results_by": "2026-04-30"},
            "applications_close_at",
        ),
        # A call may take applications in the year before (the 2021 call did), not earlier.
        ({"applications_open_at": "2024-03-31T14:00:00Z"}, "applications_open_at"),
    ],
)
def test_a_window_outside_the_cohorts_fiscal_year_is_refused(changes, field):
    assert refused_field(**changes) == field


def test_a_window_to_the_last_minute_of_the_fiscal_year_is_accepted():
    app = opened(applications_close_at="2026-03-31T14:59:00Z", results_by="2026-04-30")
    assert app.get_cohort("FY2025").applications_close_at.year == 2026


def test_an_inverted_age_range_is_refused():
    assert refused_field(min_age=41) == "max_age"


def test_excluding_participation_after_the_cohort_is_refused():
    rules = {
        **preset("fy2025")["rules"],
        "earlier_participation_excluded": {"from_fy": 2016, "to_fy": 2025},
    }
    assert refused_field(rules=rules) == "rules.earlier_participation_excluded.to_fy"


def test_a_cohort_opens_with_version_1_of_its_rule_set():
    rules = {**preset("fy2025")["rules"], "rule_set_version": 2}
    assert refused_field(rules=rules) == "rules.rule_set_version"


# -- revisions ---------------------------------------------------------------------------


def revision(app, version: int, **changes) -> dict:
    rules = {k: v for k, v in app.get_cohort("FY2025").rules.items() if k != "recipient_countries"}
    return {**rules, "rule_set_version": version, **changes}


def test_a_revision_is_the_next_version_and_is_published_whole():
    app = opened()
    english = {"ielts": 6.0, "toefl_ibt": 80, "toeic": 700, "cefr": "B2"}
    language = {"rule": "jlpt_and_english", "min_jlpt": "N3", "english_minimums": english}
    app.revise_cohort_rules("FY2025", revision(app, 2, language=language), OFFICE, uuid.uuid4())

    rules = app.get_cohort("FY2025").rules
    assert rules["rule_set_version"] == 2 and rules["language"]["rule"] == "jlpt_and_english"
    assert rules["recipient_countries"] == sorted(dac_list.edition("oecd-dac-2024-2025").codes)
    published = [
        to_integration_event(n)
        for n in app.notification_log.select(start=1, limit=10)
        for n in [app.mapper.to_domain_event(n)]
    ]
    revised = [e for e in published if isinstance(e, CohortRulesRevised)]
    assert len(revised) == 1
    assert revised[0].payload.cohort_id == "FY2025"
    assert revised[0].payload.rules.rule_set_version == 2
    assert revised[0].actor.role == "admin"


@pytest.mark.parametrize("version", [1, 3])
def test_a_revision_that_is_not_the_next_version_is_a_conflict_naming_the_version(version):
    app = opened()
    with pytest.raises(RuleViolation) as refused:
        app.revise_cohort_rules("FY2025", revision(app, version), OFFICE, uuid.uuid4())
    assert refused.value.field == "rule_set_version" and refused.value.conflict


def test_a_revision_cannot_rename_the_rule_set():
    app = opened()
    with pytest.raises(RuleViolation) as refused:
        app.revise_cohort_rules(
            "FY2025", revision(app, 2, rule_set_id="jip-other"), OFFICE, uuid.uuid4()
        )
    assert refused.value.field == "rule_set_id"


def test_reopening_with_the_terms_as_opened_is_no_change_after_a_revision():
    app = opened()
    app.revise_cohort_rules("FY2025", revision(app, 2), OFFICE, uuid.uuid4())
    assert app.open_cohort(spec_of("fy2025"), OFFICE, uuid.uuid4()) is False


def test_the_presets_parse_as_the_office_endpoint_takes_them():
    for name in ("fy2025", "fy2021"):
        assert CohortSpec.model_validate(preset(name)).cohort_id == name.upper()


@pytest.mark.parametrize("cohort_id", ["FY0000", "FY1999", "FY2101"])
def test_a_cohort_of_a_fiscal_year_the_program_cannot_have_is_refused(cohort_id):
    spec = {**spec_of("fy2025"), "cohort_id": cohort_id, "rules": {}}
    with pytest.raises(RuleViolation) as refused:
        registration_in_memory().open_cohort(spec, OFFICE, uuid.uuid4())
    assert refused.value.field == "cohort_id"
