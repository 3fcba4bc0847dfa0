"""End to end, the cases of eligibility that must be right, against the four services
run as their own processes: each applicant registers through the real form, screening
assesses them against their cohort's rule set, and the published `EligibilityAssessed`
says, rule by rule, what it saw and why. An ineligible applicant is rejected and told
by e-mail; an amendment of their nationality assesses them again, says why, and reopens
their case."""

import asyncio
import os
import re
import subprocess
import sys
import uuid
from typing import Any

import httpx
import pytest

from events import topics
from infra import InfraSettings
from tests.e2e.conftest import processes_env
from tests.e2e.forms import PDF
from tests.e2e.journey import open_cohort, pass_both_interviews, register_with_token, select
from tests.support import STAFF, Mailbox, body_of, eventually, read_topic, wait_for_event

#: An online slot in the first round, as a screener schedules it.
SLOT = {
    "scheduled_at": "2025-07-01T01:00:00Z",
    "duration_minutes": 30,
    "interviewer": "staff-017",
    "language": "english",
    "mode": "online",
}

#: Each registered applicant's address, by applicant id.
ADDRESSES: dict[str, str] = {}

#: Each case: the registration form's changes, the result, and the rule that fails.
#: The FY2025 call: 18 to 40 on 25 August 2025, the DAC list less China, JLPT N3 or an
#: accepted English score, no participation in FY2016 to FY2024, not residing in Japan.
FY2025_CASES: dict[str, tuple[dict[str, Any], str, str | None]] = {
    "exactly 18 on the reference date": ({"date_of_birth": "2007-08-25"}, "eligible", None),
    "one day short of 18": (
        {"date_of_birth": "2007-08-26"},
        "ineligible",
        "age_within_cohort_range",
    ),
    "40, the day before turning 41": ({"date_of_birth": "1984-08-26"}, "eligible", None),
    "41 on the reference date": (
        {"date_of_birth": "1984-08-25"},
        "ineligible",
        "age_within_cohort_range",
    ),
    "a DAC-list nationality": ({"nationality": "ID"}, "eligible", None),
    "China, excluded by the call": (
        {"nationality": "CN"},
        "ineligible",
        "nationality_not_excluded",
    ),
    "a nationality not on the DAC list": (
        {"nationality": "KR"},
        "ineligible",
        "nationality_on_recipient_list",
    ),
    "Kosovo, on the list without an ISO 3166-1 code": (
        {"nationality": "XK", "country_of_residence": "XK"},
        "eligible",
        None,
    ),
    "JLPT N3": ({"languages": {"jlpt": "N3"}}, "eligible", None),
    "JLPT N4 and no English": ({"languages": {"jlpt": "N4"}}, "ineligible", "language"),
    "JLPT N4 with an accepted English score": (
        {"languages": {"jlpt": "N4", "ielts": 6.0}},
        "eligible",
        None,
    ),
    "took part in FY2016": (
        {"previous_participation_years": [2016]},
        "ineligible",
        "no_earlier_participation",
    ),
    "took part in FY2024": (
        {"previous_participation_years": [2024]},
        "ineligible",
        "no_earlier_participation",
    ),
    "took part in FY2015": ({"previous_participation_years": [2015]}, "eligible", None),
    "a resident of Japan": ({"country_of_residence": "JP"}, "ineligible", "not_residing_in_japan"),
}

#: A cohort whose call lets residents of Japan apply and requires both JLPT N3 and
#: English (the variant of one FAQ).
BOTH_CASES: dict[str, tuple[dict[str, Any], str, str | None]] = {
    "a resident of Japan, where residents may apply": (
        {"country_of_residence": "JP", "languages": {"jlpt": "N2", "toeic": 700}},
        "eligible",
        None,
    ),
    "JLPT N3 without English, where both are required": (
        {"languages": {"jlpt": "N3"}},
        "ineligible",
        "language",
    ),
    "JLPT N3 and TOEIC, where both are required": (
        {"languages": {"jlpt": "N3", "toeic": 650}},
        "eligible",
        None,
    ),
}

#: A cohort whose reference date, 28 February 2025, is in a common year and whose
#: minimum age is 21: someone born on 29 February 2004 is 21 only on 1 March.
LEAP_CASES: dict[str, tuple[dict[str, Any], str, str | None]] = {
    "born on 29 February, not 21 on 28 February of a common year": (
        {"date_of_birth": "2004-02-29"},
        "ineligible",
        "age_within_cohort_range",
    ),
    "born on 28 February, 21 that day": ({"date_of_birth": "2004-02-28"}, "eligible", None),
}


async def register(
    http: httpx.AsyncClient, registration: str, mailbox: Mailbox, cohort_id: str, **changes: Any
) -> tuple[str, str]:
    """An applicant registered through the form with `changes`: (their id, address)."""
    applicant_id, address, _ = await register_with_token(
        http, registration, mailbox, cohort_id, **changes
    )
    return applicant_id, address


async def assessments(infra: InfraSettings, applicant_ids: set[str]) -> dict[str, list[dict]]:
    """Every applicant's published assessments, in order, once each has one."""

    async def probe() -> dict[str, list[dict]] | None:
        found: dict[str, list[dict]] = {a: [] for a in applicant_ids}
        for _, e in await read_topic(infra, topics.SCREENING):
            if e.get("event_type") == "EligibilityAssessed":
                applicant = e["payload"]["applicant_id"]
                if applicant in found:
                    found[applicant].append(e)
        return found if all(found.values()) else None

    return await eventually(probe, timeout=90, what="every applicant's assessment")


async def run_cases(
    http: httpx.AsyncClient,
    infra: InfraSettings,
    mailbox: Mailbox,
    registration: str,
    cohort_id: str,
    cases: dict[str, tuple[dict[str, Any], str, str | None]],
) -> dict[str, str]:
    """Registers one applicant per case and checks the assessment of each; returns
    the applicant ids by case."""
    registered = await asyncio.gather(
        *(
            register(http, registration, mailbox, cohort_id, **changes)
            for changes, *_ in cases.values()
        )
    )
    ids = {name: applicant for name, (applicant, _) in zip(cases, registered, strict=True)}
    ADDRESSES.update({applicant: address for applicant, address in registered})
    found = await assessments(infra, set(ids.values()))
    for name, (_, result, failing) in cases.items():
        assessment = found[ids[name]][-1]["payload"]
        failed = [c["rule"] for c in assessment["checks"] if not c["passed"]]
        assert (assessment["result"], failed) == (result, [failing] if failing else []), name
        assert assessment["cohort_id"] == cohort_id
        assert assessment["rule_set"]["version"] >= 1
        assert assessment["trigger"] in ("registered", "cohort_adopted")
    return ids


@pytest.fixture(scope="module")
async def client() -> Any:
    async with httpx.AsyncClient(timeout=60) as http:
        yield http


async def test_the_fy2025_call_decides_each_case_and_rejects_who_is_not_eligible(
    processes, infra: InfraSettings, mailbox: Mailbox, client: httpx.AsyncClient
):
    registration, screening = processes["registration"], processes["screening"]
    cohort_id = await open_cohort(client, registration, preset_name="fy2025")
    ids = await run_cases(client, infra, mailbox, registration, cohort_id, FY2025_CASES)

    # Every check says what it saw, and no check sees a name, an address or a birth date.
    records = [e for _, e in await read_topic(infra, topics.SCREENING)]
    mine = [
        e
        for e in records
        if e.get("event_type") == "EligibilityAssessed"
        and e["payload"]["applicant_id"] in ids.values()
    ]
    for e in mine:
        assert {c["rule"] for c in e["payload"]["checks"]} >= {
            "nationality_on_recipient_list",
            "age_within_cohort_range",
            "language",
        }
        for check in e["payload"]["checks"]:
            assert "saw" in check
        assert "date_of_birth" not in str(e["payload"]) and "@" not in str(e["payload"])

    # The ineligible are rejected at stage eligibility with the unmet rule as reason, and
    # their case can go no further.
    china = ids["China, excluded by the call"]
    rejected = await eventually(
        lambda: _first(records_now(infra), "ApplicantRejected", china), timeout=60
    )
    assert rejected["payload"]["stage"] == "eligibility"
    assert rejected["payload"]["reasons"][0]["code"] == "nationality_not_excluded"
    case = (await client.get(f"{screening}/cases/{china}", headers=STAFF)).json()
    assert case["status"] == "rejected"
    # and they are told why, by e-mail
    [told] = await mailbox.wait_for(ADDRESSES[china], "the outcome of your application", timeout=60)
    # (the rule, in plain words rather than screening's terse text)
    assert "citizens of your country cannot take part in this year's program" in body_of(told)
    # and can get no further: no interview is scheduled for them
    r = await client.post(
        f"{screening}/cases/{china}/interviews",
        headers=STAFF,
        json={"stage": "first", "slot": SLOT},
    )
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "eligibility"
    eligible = ids["JLPT N3"]
    case = (await client.get(f"{screening}/cases/{eligible}", headers=STAFF)).json()
    assert case["status"] == "open" and case["eligibility"]["result"] == "eligible"

    # The amendment of the nationality assesses them again and says why; eligible now,
    # their case is reopened.
    r = await client.post(
        f"{registration}/applicants/{china}/amendments",
        headers=STAFF,
        json={"changes": {"nationality": "VN"}, "reason": "nationality was mistyped"},
    )
    assert r.status_code in (200, 201), r.text

    async def reassessed() -> dict | None:
        for e in await records_now(infra):
            p = e.get("payload", {})
            mine = e.get("event_type") == "EligibilityAssessed" and p.get("applicant_id") == china
            if mine and p["trigger"] == "amended":
                return e
        return None

    again = await eventually(reassessed, timeout=60)
    assert again["payload"]["changed_fields"] == ["nationality"]
    assert (again["payload"]["previous_result"], again["payload"]["result"]) == (
        "ineligible",
        "eligible",
    )
    reopened = await eventually(
        lambda: _first(records_now(infra), "ScreeningCaseReopened", china), timeout=60
    )
    assert reopened["payload"]["cause_event_id"] == again["event_id"]
    case = (await client.get(f"{screening}/cases/{china}", headers=STAFF)).json()
    assert case["status"] == "open"


async def test_a_cohort_that_admits_residents_of_japan_and_requires_both_languages(
    processes, infra: InfraSettings, mailbox: Mailbox, client: httpx.AsyncClient
):
    cohort_id = await open_cohort(
        client,
        processes["registration"],
        preset_name="fy2025",
        rules={
            "residents_of_japan_may_apply": True,
            "language": {
                "rule": "jlpt_and_english",
                "min_jlpt": "N3",
                "english_minimums": {"ielts": 5.5, "toefl_ibt": 72, "toeic": 600, "cefr": "B2"},
            },
        },
    )
    await run_cases(client, infra, mailbox, processes["registration"], cohort_id, BOTH_CASES)


async def test_a_29_february_birthday_on_a_common_year_reference_date(
    processes, infra: InfraSettings, mailbox: Mailbox, client: httpx.AsyncClient
):
    cohort_id = await open_cohort(
        client,
        processes["registration"],
        preset_name="fy2025",
        age_reference_date="2025-02-28",
        min_age=21,
    )
    await run_cases(client, infra, mailbox, processes["registration"], cohort_id, LEAP_CASES)


async def records_now(infra: InfraSettings) -> list[dict]:
    return [e for _, e in await read_topic(infra, topics.SCREENING)]


async def _first(records: Any, event_type: str, applicant_id: str) -> dict | None:
    for e in await records:
        if e.get("event_type") == event_type and e["payload"]["applicant_id"] == applicant_id:
            return e
    return None


async def test_documents_before_interviews_a_corrected_date_and_a_selection_that_matching_holds(
    processes, infra: InfraSettings, mailbox: Mailbox, client: httpx.AsyncClient
):
    registration, screening, matching = (
        processes["registration"],
        processes["screening"],
        processes["matching"],
    )
    cohort_id = await open_cohort(client, registration)
    applicant_id, _, me = await register_with_token(client, registration, mailbox, cohort_id)

    async def upload(*kinds: str) -> None:
        files = {kind: (f"{kind}.pdf", PDF + kind.encode(), "application/pdf") for kind in kinds}
        r = await client.post(f"{registration}/applicants/me/documents", headers=me, files=files)
        assert r.status_code == 201, r.text

    # An interview is refused while a document is outstanding, naming what is missing.
    await upload("certificate_of_graduation")

    async def case_with_documents() -> dict | None:
        r = await client.get(f"{screening}/cases/{applicant_id}", headers=STAFF)
        return r.json() if r.status_code == 200 and r.json()["documents"]["received"] else None

    await eventually(case_with_documents, timeout=60)
    r = await client.post(
        f"{screening}/cases/{applicant_id}/interviews",
        headers=STAFF,
        json={"stage": "first", "slot": SLOT},
    )
    assert r.status_code == 409, r.text
    assert r.json()["errors"][0]["field"] == "documents"
    assert "letter_of_recommendation" in r.json()["errors"][0]["reason"]

    # With every document in and accepted, both rounds are held and passed.
    await upload("letter_of_recommendation", "language_score_certificate")
    await pass_both_interviews(client, infra, screening, applicant_id, STAFF)

    # A mistyped interview date is corrected by an event that says who, what and why.
    case = (await client.get(f"{screening}/cases/{applicant_id}", headers=STAFF)).json()
    [first] = [i for i in case["interviews"] if i["stage"] == "first"]
    typed = first["result"]["interviewed_at"]
    r = await client.post(
        f"{screening}/cases/{applicant_id}/interviews/{first['interview_id']}/corrections",
        headers=STAFF,
        json={"interviewed_at": "2025-07-01T01:30:00Z", "reason": "typed the wrong hour"},
    )
    assert r.status_code == 201, r.text
    corrected = await wait_for_event(
        infra,
        topics.SCREENING,
        "InterviewRecordCorrected",
        lambda e: e["payload"]["applicant_id"] == applicant_id,
        timeout=60,
    )
    change = corrected["payload"]["corrected"]["interviewed_at"]
    assert change["to"].startswith("2025-07-01T01:30:00")
    assert change["from"][:16] == typed[:16].replace("+00:00", "Z")[:16]
    assert corrected["actor"]["role"] == "admin"
    case = (await client.get(f"{screening}/cases/{applicant_id}", headers=STAFF)).json()
    [first] = [i for i in case["interviews"] if i["stage"] == "first"]
    assert first["result"]["interviewed_at"].startswith("2025-07-01T01:30:00")
    assert first["corrections"][0]["reason"] == "typed the wrong hour"

    # The interview results alone do not enter matching's pool; the selection does.
    await select(client, screening, applicant_id)
    selected = await wait_for_event(
        infra,
        topics.SCREENING,
        "CandidateSelected",
        lambda e: e["payload"]["applicant_id"] == applicant_id,
        timeout=60,
    )
    assert selected["payload"]["course_preferences"] == ["B"]
    assert set(selected["payload"]["interview_totals"]) == {"first", "second"}
    await wait_for_event(
        infra,
        topics.MATCHING,
        "CandidateEnteredPool",
        lambda e: e["payload"]["applicant_id"] == applicant_id,
        timeout=60,
    )

    # An amendment that makes the selected candidate ineligible puts the case in front
    # of the office, and matching holds them.
    r = await client.post(
        f"{registration}/applicants/{applicant_id}/amendments",
        headers=STAFF,
        json={"changes": {"nationality": "CN"}, "reason": "passport shows another nationality"},
    )
    assert r.status_code in (200, 201), r.text
    referred = await wait_for_event(
        infra,
        topics.SCREENING,
        "CaseReferredToOffice",
        lambda e: e["payload"]["applicant_id"] == applicant_id,
        timeout=60,
    )
    assert referred["payload"]["reasons"][0]["code"] == "nationality_not_excluded"

    async def held() -> httpx.Response | None:
        r = await client.post(
            f"{matching}/matches",
            headers=STAFF,
            json={"applicant_id": applicant_id, "company_id": str(uuid.uuid4()), "course": "B"},
        )
        return r if r.status_code == 409 else None

    refused = await eventually(held, timeout=60, what="matching's hold")
    assert "office" in refused.text


async def test_every_eligibility_decision_reruns_from_the_log_to_the_same_result(processes):
    # After the cases above (and whatever else the store holds), an auditor re-runs each
    # recorded assessment from the log alone: the facts as they stood, the rule-set
    # version it names.
    report = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "services.screening", "rerun-assessments"],
        env={**os.environ, **processes_env["screening"]},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert report.returncode == 0, report.stdout + report.stderr
    count = int(re.search(r"(\d+) assessments re-run from the log", report.stdout).group(1))
    assert count >= len(FY2025_CASES) + len(BOTH_CASES) + len(LEAP_CASES)
    assert "every one the same" in report.stdout
