"""A cohort matched on the running services, as the office and host companies do it:
four selected candidates and three registered companies (a fourth refused as not an
SME), both sides' lists, a round, each company's decision with its own access, a second
round for the candidate a company declined (without that company), and the agreements
signed by each party as itself. The refusals a user meets on the way name the field and
the reason. An auditor runs the first round again from its recorded inputs, through
matching's command line, and gets the same pairs."""

import asyncio
import json
import os
import subprocess
import sys
import uuid
from typing import Any

import httpx

from events import topics
from infra import InfraSettings
from tests.e2e.conftest import processes_env
from tests.e2e.forms import PDF
from tests.e2e.journey import open_cohort, register_with_token, screen_and_select
from tests.matching_steps import a_registration, register_host, run_round, state_lists
from tests.support import IDENTITY, STAFF, Mailbox, eventually, read_topic

OFFICE = {"Authorization": f"Bearer {IDENTITY.staff('matcher', 'mt-rounds')}"}
COURSES = [
    {"code": "A", "name": "In Japan", "mode": "in_person", "daily_allowance_yen": 1000},
    {"code": "B", "name": "Online", "mode": "online", "daily_allowance_yen": 1000},
    # A visiting course this cohort signs per pair of parties, as it configured.
    {
        "code": "C",
        "name": "Visiting",
        "mode": "visiting",
        "daily_allowance_yen": 3000,
        "agreement_structure": "per_pair",
    },
]


def user_of(company_id: uuid.UUID) -> dict[str, str]:
    return {"Authorization": f"Bearer {IDENTITY.company(company_id)}"}


async def a_selected_candidate(
    http: httpx.AsyncClient,
    processes: dict[str, str],
    infra: InfraSettings,
    mailbox: Mailbox,
    cohort_id: str,
    courses: list[str],
    language: str = "en",
) -> tuple[str, dict[str, str]]:
    """An applicant registered through the form, screened and selected by the office,
    once matching has them in its pool: (their id, their own headers)."""
    applicant_id, address, me = await register_with_token(
        http,
        processes["registration"],
        mailbox,
        cohort_id,
        course_preferences=courses,
        language=language,
    )
    ADDRESS_OF[applicant_id] = address

    # Every document the call asks of them.
    async def outstanding() -> list[str] | None:
        r = await http.get(f"{processes['registration']}/applicants/me/status", headers=me)
        return r.json()["outstanding_documents"] if r.status_code == 200 else None

    kinds = await eventually(outstanding, what="the applicant's status")
    files = {kind: (f"{kind}.pdf", PDF + kind.encode(), "application/pdf") for kind in kinds}
    r = await http.post(
        f"{processes['registration']}/applicants/me/documents", headers=me, files=files
    )
    assert r.status_code == 201, r.text
    await screen_and_select(http, infra, processes["screening"], applicant_id, STAFF)

    async def in_pool() -> bool:
        r = await http.get(f"{processes['matching']}/candidates/{applicant_id}", headers=OFFICE)
        return r.status_code == 200

    await eventually(in_pool, timeout=90, what="the candidate in matching's pool")
    return applicant_id, me


#: Each candidate's e-mail address.
ADDRESS_OF: dict[str, str] = {}
#: Each candidate's match, as the rounds named it.
MATCH_OF: dict[str, str] = {}


async def proposal_of(
    http: httpx.AsyncClient, infra: InfraSettings, matching: str, applicant_id: str
) -> dict[str, Any]:
    """The candidate's match, as the office reads it (with its standing proposal)."""
    match_id = MATCH_OF[applicant_id]
    return (await http.get(f"{matching}/matches/{match_id}", headers=OFFICE)).json()  # type: ignore[no-any-return]


async def a_round(http: httpx.AsyncClient, matching: str, cohort_id: str) -> dict[str, Any]:
    """The office runs the cohort's next round; each pair's match is noted."""
    round_ = await run_round(http, matching, OFFICE, cohort_id)
    MATCH_OF.update({m["applicant_id"]: m["match_id"] for m in round_["matches"]})
    return round_


async def board_if(read: Any, accept: Any) -> dict[str, Any] | None:
    return accept(await read())  # type: ignore[no-any-return]


async def decide(
    http: httpx.AsyncClient,
    matching: str,
    match: dict[str, Any],
    company: dict[str, str],
    **body: Any,
) -> httpx.Response:
    return await http.post(
        f"{matching}/matches/{match['match_id']}/decision", json=body, headers=company
    )


async def test_a_cohort_goes_through_two_rounds_the_companies_decisions_and_the_signatures(
    processes, infra: InfraSettings, mailbox: Mailbox
):
    matching = processes["matching"]
    async with httpx.AsyncClient(timeout=60) as http:
        cohort_id = await open_cohort(http, processes["registration"], courses=COURSES)
        (ana, ana_me), (ben, ben_me), (cho, _), (dan, _) = await asyncio.gather(
            a_selected_candidate(http, processes, infra, mailbox, cohort_id, ["A", "B"], "ja"),
            a_selected_candidate(http, processes, infra, mailbox, cohort_id, ["B"]),
            a_selected_candidate(http, processes, infra, mailbox, cohort_id, ["C", "B"]),
            a_selected_candidate(http, processes, infra, mailbox, cohort_id, ["B"]),
        )

        # Host companies: three SMEs, and a large retailer refused with its reason.
        # Tokyo's contact is written to in Japanese, Kyoto's in English.
        tokyo_hr, kyoto_hr = (f"hr-{uuid.uuid4().hex[:8]}@{c}.example.jp" for c in "tk")
        tokyo = await register_host(
            http,
            matching,
            OFFICE,
            cohort_id,
            courses=["A", "B"],
            capacity=2,
            contacts=[{"name": "加藤 花子", "email": tokyo_hr, "language": "ja"}],
        )
        osaka = await register_host(http, matching, OFFICE, cohort_id, courses=["B", "C"])
        kyoto = await register_host(
            http,
            matching,
            OFFICE,
            cohort_id,
            courses=["B"],
            capacity=2,
            contacts=[{"name": "Ken Mori", "email": kyoto_hr, "language": "en"}],
        )
        large = uuid.uuid4()
        refused = await http.put(
            f"{matching}/companies/{large}",
            headers=OFFICE,
            json={
                **a_registration(cohort_id),
                "industry": "retail",
                "capital_yen": 900_000_000,
                "regular_employees": 900,
            },
        )
        assert refused.status_code == 422
        assert "not an eligible host" in refused.json()["detail"]
        listing_large = await http.put(
            f"{matching}/candidates/{ana}/preferences",
            json={"companies": [str(tokyo), str(large)]},
            headers=ana_me,
        )
        assert listing_large.status_code == 422
        assert listing_large.json()["errors"][0]["field"] == "companies.1"

        # Both sides' lists: the candidates their own, the companies through the office
        # and (tokyo) its own user.
        for applicant_id, me, ranked in (
            (ana, ana_me, [tokyo, osaka]),
            (ben, ben_me, [tokyo, kyoto]),
        ):
            r = await http.put(
                f"{matching}/candidates/{applicant_id}/preferences",
                json={"companies": [str(c) for c in ranked]},
                headers=me,
            )
            assert r.status_code == 200, r.text
        await state_lists(
            http,
            matching,
            OFFICE,
            {cho: [osaka, tokyo], dan: [kyoto]},
            {osaka: [ana, cho], kyoto: [ben, dan]},
        )
        r = await http.put(
            f"{matching}/companies/{tokyo}/preferences",
            json={"candidates": [ben, ana, cho]},
            headers=user_of(tokyo),
        )
        assert r.status_code == 200, r.text

        # -- round 1 -----------------------------------------------------------------
        first = await a_round(http, matching, cohort_id)
        pairs = {(m["applicant_id"], m["company_id"], m["course"]) for m in first["matches"]}
        assert pairs == {
            (ana, str(tokyo), "A"),
            (ben, str(tokyo), "B"),
            (cho, str(osaka), "C"),
            (dan, str(kyoto), "B"),
        }
        assert (first["blocking_pairs"], first["capacity_violations"]) == (0, 0)
        assert first["algorithm"]["version"] >= 1 and first["inputs_digest"].startswith("sha256:")

        # Signing before the company confirmed is refused.
        ana_match = await proposal_of(http, infra, matching, ana)
        assert ana_match["proposal"]["company_id"] == str(tokyo)
        early = await http.post(
            f"{matching}/matches/{ana_match['match_id']}/agreements/{uuid.uuid4()}/signatures",
            json={"party": "office"},
            headers=OFFICE,
        )
        assert early.status_code == 409 and "not confirmed" in early.json()["errors"][0]["reason"]

        # -- the companies' decisions, each by its own user -----------------------------
        ben_match = await proposal_of(http, infra, matching, ben)
        declined = await decide(
            http,
            matching,
            ben_match,
            user_of(tokyo),
            decision="decline",
            reason_code="interview_not_passed",
        )
        assert declined.status_code == 201, declined.text
        for applicant_id, company in ((ana, tokyo), (cho, osaka), (dan, kyoto)):
            match = await proposal_of(http, infra, matching, applicant_id)
            confirmed = await decide(http, matching, match, user_of(company), decision="confirm")
            assert confirmed.status_code == 201, confirmed.text
        # Confirming someone never proposed to it: refused, naming the company.
        never = await http.post(
            f"{matching}/matches",
            json={"applicant_id": ben, "company_id": str(osaka)},
            headers=user_of(osaka),
        )
        assert never.status_code == 409
        assert never.json()["errors"][0]["field"] == "company_id"
        assert "never proposed" in never.json()["errors"][0]["reason"]

        # -- round 2: the declined candidate, without the company that declined --------
        second = await a_round(http, matching, cohort_id)
        assert second["round_number"] == first["round_number"] + 1
        assert [c["id"] for c in second["inputs"]["candidates"]] == [ben]
        assert [(m["applicant_id"], m["company_id"]) for m in second["matches"]] == [
            (ben, str(kyoto))
        ]
        why = {(p["applicant_id"], p["company_id"]): p["reasons"] for p in second["excluded_pairs"]}
        assert why[(ben, str(tokyo))] == ["declined_before"]
        ben_match = await proposal_of(http, infra, matching, ben)
        assert (
            await decide(http, matching, ben_match, user_of(kyoto), decision="confirm")
        ).status_code == 201

        # -- the agreements, each party signing as itself -----------------------------------
        ana_match = (
            await http.get(f"{matching}/matches/{ana_match['match_id']}", headers=OFFICE)
        ).json()
        assert ana_match["agreement_structure"] == "three_way"
        [agreement] = ana_match["agreements"]
        url = (
            f"{matching}/matches/{ana_match['match_id']}"
            f"/agreements/{agreement['agreement_id']}/signatures"
        )
        signers = {"intern": ana_me, "company": user_of(tokyo), "office": OFFICE}
        for party in ("intern", "company", "office"):
            r = await http.post(url, json={"party": party}, headers=signers[party])
            assert r.status_code == 201, r.text
        assert r.json()["agreement_signed"] is True
        twice = await http.post(url, json={"party": "intern"}, headers=ana_me)
        assert twice.status_code == 409 and twice.json()["errors"][0]["field"] == "party"
        # Course C is visiting (three-way by default), and this cohort signs it per pair.
        cho_match = await proposal_of(http, infra, matching, cho)
        assert (cho_match["course"], cho_match["agreement_structure"]) == ("C", "per_pair")
        ben_read = (
            await http.get(f"{matching}/matches/{ben_match['match_id']}", headers=OFFICE)
        ).json()
        assert ben_read["agreement_structure"] == "per_pair" and len(ben_read["agreements"]) == 3

        # Once matched, a candidate cannot withdraw.
        withdrawal = await http.post(f"{matching}/candidates/{ana}/withdrawal", headers=ana_me)
        assert withdrawal.status_code == 409
        assert "cannot withdraw" in withdrawal.json()["errors"][0]["reason"]

        # -- the matching board, live and rebuilt from the log ------------------------
        async def board() -> dict[str, Any]:
            r = await http.get(f"{matching}/cohorts/{cohort_id}/board", headers=OFFICE)
            assert r.status_code == 200, r.text
            return r.json()  # type: ignore[no-any-return]

        def settled(found: dict[str, Any]) -> dict[str, Any] | None:
            signed = {c["applicant_id"]: c["agreements_signed"] for c in found["candidates"]}
            return found if len(found["rounds"]) == 2 and signed.get(ana) == 1 else None

        live = await eventually(lambda: board_if(board, settled), what="the board up to date")
        status = {c["applicant_id"]: (c["status"], c["company_id"]) for c in live["candidates"]}
        assert status == {
            ana: ("confirmed", str(tokyo)),
            ben: ("confirmed", str(kyoto)),
            cho: ("confirmed", str(osaka)),
            dan: ("confirmed", str(kyoto)),
        }
        by_company = {c["company_id"]: c for c in live["companies"]}
        assert (by_company[str(tokyo)]["confirmed"], by_company[str(tokyo)]["places_open"]) == (
            [ana],
            1,
        )
        assert by_company[str(kyoto)]["places_open"] == 0
        assert next(c for c in live["candidates"] if c["applicant_id"] == ben)["declined_by"] == [
            str(tokyo)
        ]
        assert [r["round_number"] for r in live["rounds"]] == [
            first["round_number"],
            second["round_number"],
        ]
        rebuilt = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "services.matching", "rebuild-read-models"],
            env={**os.environ, **processes_env["matching"]},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert rebuilt.returncode == 0, rebuilt.stderr
        assert "rebuilt matching_board" in rebuilt.stdout
        assert await eventually(
            lambda: board_if(board, lambda b: b if b == live else None), what="the rebuilt board"
        )

        # -- every party heard of each step once, in order, in their language -----------
        def in_order(address: str, expected: list[str]) -> list[str]:
            """The subjects of `address`'s mails that name one of the expected steps,
            in the order they arrived."""
            subjects = [str(m["Subject"]) for m in mailbox.messages_to(address)]
            return [s for s in subjects if any(e in s for e in expected)]

        tokyo_steps = [
            "受入企業としてのご登録完了のお知らせ",
            "研修生候補者のご推薦",
            "研修生候補者のご推薦",
            "受入れ決定のご連絡の受領",
            "インターンシップ協定書へのご署名のお願い",
            "インターンシップ協定書の締結のお知らせ",
        ]
        await mailbox.wait_for(tokyo_hr, "協定書の締結のお知らせ", timeout=60)
        got = in_order(tokyo_hr, sorted(set(tokyo_steps)))
        assert [next(e for e in tokyo_steps if e in s) for s in got] == tokyo_steps, got
        kyoto_steps = [
            "is registered as a host company",
            "a candidate is proposed to you",
            "the match with your candidate is confirmed",
            "agreement is ready to sign",
            "a candidate is proposed to you",
            "the match with your candidate is confirmed",
            "agreement is ready to sign",
        ]
        await mailbox.wait_for(kyoto_hr, "agreement is ready to sign", count=2, timeout=60)
        got = in_order(kyoto_hr, sorted(set(kyoto_steps)))
        steps = [next(e for e in kyoto_steps if e in s) for s in got]
        # Each once, in English; about two candidates whose events are read from
        # different partitions, so only each candidate's own order is promised: never a
        # confirmation before a proposal, nor an agreement before a confirmation.
        assert sorted(steps) == sorted(kyoto_steps), got
        assert steps[0] == "is registered as a host company"
        for n in range(len(steps)):
            seen = steps[: n + 1]
            assert seen.count(kyoto_steps[2]) <= seen.count(kyoto_steps[1]), got
            assert seen.count(kyoto_steps[3]) <= seen.count(kyoto_steps[2]), got
        # The applicant who chose Japanese hears of every step of her whole path in it,
        # once each, in order (the registration link goes before she chose).
        ana_steps = [
            "Your JIP registration link",
            "ご応募を受け付けました",
            "応募資格の審査結果のお知らせ",
            "提出書類が揃いました",
            "を受理しました",
            "を受理しました",
            "を受理しました",
            "一次面接のご案内",
            "一次面接合格のお知らせ",
            "二次面接のご案内",
            "二次面接合格のお知らせ",
            "最終選考結果のお知らせ",
            "受入企業へのご推薦のお知らせ",
            "受入企業決定のお知らせ",
            "インターンシップ協定書へのご署名のお願い",
            "インターンシップ協定書の締結のお知らせ",
        ]
        await mailbox.wait_for(ADDRESS_OF[ana], "協定書の締結のお知らせ", timeout=60)
        subjects = [str(m["Subject"]) for m in mailbox.messages_to(ADDRESS_OF[ana])]
        assert len(subjects) == len(ana_steps), subjects
        # The eligibility assessment (screening, on registration) and her upload of the
        # documents happen at about the same time, in either order: its news goes
        # between her welcome and the first interview; every other step in order.
        eligibility = next(i for i, s in enumerate(subjects) if ana_steps[2] in s)
        assert 1 < eligibility < subjects.index(next(s for s in subjects if ana_steps[7] in s))
        others = [s for i, s in enumerate(subjects) if i != eligibility]
        expected = [step for i, step in enumerate(ana_steps) if i != 2]
        assert all(step in subject for step, subject in zip(expected, others, strict=True)), (
            subjects
        )
        # (and a Japanese subject reads back as it was written, without a leading space)
        assert all(s.startswith("JIP") for s in subjects[1:]), subjects

        # -- an auditor runs round 1 again from its recorded inputs --------------------
        recorded = next(
            e
            for _, e in await read_topic(infra, topics.MATCHING)
            if e.get("event_type") == "MatchingRoundCompleted"
            and e["payload"]["round_id"] == first["round_id"]
        )
        rerun = subprocess.run(
            [sys.executable, "-m", "services.matching", "solve"],
            input=json.dumps(recorded["payload"]["inputs"]).encode(),
            capture_output=True,
            check=True,
        )
        again = json.loads(rerun.stdout)
        assert {(m["candidate"], m["host"]) for m in again["matches"]} == {
            (m["applicant_id"], m["company_id"]) for m in recorded["payload"]["matches"]
        }
        assert again["blocking_pairs"] == 0
