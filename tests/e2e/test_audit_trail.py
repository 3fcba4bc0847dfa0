"""End to end, what an auditor does with the audit service, on the five services run as
their own processes. A cohort: one applicant carried from registration to signed
agreements, and one turned down at each stage of screening (eligibility, documents,
first and second interview, selection), one of them erased afterwards. The auditor
reads each story from the command line (a table, and JSON that validates against the
published schema), re-runs the matching round from its recorded inputs, looks at the
board as it was before the company decided; every service's read models are rebuilt
from zero and equal the live ones; the log verifies, and then fails, naming the event,
on each kind of tampering: a stored event altered in a service's database and in the
audit's, a forged copy and a reordered pair published to a topic."""

import asyncio
import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import psycopg
from aiokafka import AIOKafkaProducer

from events import topics
from events.chain import event_hash
from events.envelope import derive_event_id
from infra import InfraSettings, kafka
from tests.e2e.conftest import processes_env
from tests.e2e.forms import PDF
from tests.e2e.journey import (
    accept_documents,
    open_cohort,
    pass_both_interviews,
    register_with_token,
    select,
    sign_every_agreement,
)
from tests.matching_steps import register_host, run_round, state_lists
from tests.support import IDENTITY, STAFF, Mailbox, database_of, eventually

SCHEMA = Path(__file__).resolve().parents[2] / "events" / "schemas" / "AuditHistory.report.v1.json"
AUDITOR = {"Authorization": f"Bearer {IDENTITY.staff('auditor', 'au-e2e')}"}
MATCHER = {"Authorization": f"Bearer {IDENTITY.staff('matcher', 'mt-audit')}"}
OFFICER = {"Authorization": f"Bearer {IDENTITY.staff('privacy_officer', 'po-audit')}"}
REASONS = {"reasons": [{"code": "office_decision", "text": "The office decided so."}]}


def cli(service: str, *args: str) -> subprocess.CompletedProcess[str]:
    """A service's command line, as an operator runs it beside the running service."""
    return subprocess.run(
        [sys.executable, "-m", f"services.{service}", *args],
        env={**os.environ, **processes_env[service], "COLUMNS": "220"},
        capture_output=True,
        text=True,
        timeout=600,
    )


def as_json(service: str, *args: str, codes: tuple[int, ...] = (0,)) -> Any:
    done = cli(service, *args, "--json")
    assert done.returncode in codes, done.stderr[-3000:]
    return json.loads(done.stdout)


#: `verify` exits 1 when it finds anything anywhere: other tests of the session publish
#: malformed and forged records on purpose; each check here looks at this cohort's.
FOUND_OR_NOT = (0, 1)


async def an_applicant(
    http: httpx.AsyncClient,
    processes: dict[str, str],
    mailbox: Mailbox,
    cohort_id: str,
    **changes: Any,
) -> tuple[str, str, dict[str, str]]:
    """Registered through the form, with every document the call asks uploaded."""
    registration = processes["registration"]
    applicant_id, address, me = await register_with_token(
        http, registration, mailbox, cohort_id, **changes
    )

    async def outstanding() -> list[str] | None:
        r = await http.get(f"{registration}/applicants/me/status", headers=me)
        return r.json()["outstanding_documents"] if r.status_code == 200 else None

    kinds = await eventually(outstanding, what="the applicant's status")
    files = {kind: (f"{kind}.pdf", PDF + kind.encode(), "application/pdf") for kind in kinds}
    r = await http.post(f"{registration}/applicants/me/documents", headers=me, files=files)
    assert r.status_code == 201, r.text
    return applicant_id, address, me


async def reject(http: httpx.AsyncClient, screening: str, applicant_id: str) -> None:
    r = await http.post(f"{screening}/cases/{applicant_id}/rejection", headers=STAFF, json=REASONS)
    assert r.status_code == 201, r.text


async def case_open(http: httpx.AsyncClient, screening: str, applicant_id: str) -> None:
    async def probe() -> bool:
        return (
            await http.get(f"{screening}/cases/{applicant_id}", headers=STAFF)
        ).status_code == 200

    await eventually(probe, timeout=60, what="the screening case")


async def history(http: httpx.AsyncClient, audit: str, applicant_id: str, last: str) -> dict:
    """The applicant's history over HTTP, once the audit has read `last` about them."""

    async def probe() -> dict | None:
        r = await http.get(f"{audit}/applicants/{applicant_id}/history", headers=AUDITOR)
        if r.status_code != 200:
            return None
        body: dict = r.json()
        return body if last in [e["event_type"] for e in body["events"]] else None

    return await eventually(probe, timeout=120, what=f"{last} in the audit")


def is_subsequence(wanted: list[str], found: list[str]) -> bool:
    it = iter(found)
    return all(any(w == f for f in it) for w in wanted)


def rows_of(infra: InfraSettings, service: str, query: str, *args: Any) -> list[tuple]:
    with psycopg.connect(infra.postgres_dsn(database_of(service))) as conn:
        return [tuple(r) for r in conn.execute(query, args).fetchall()]


def update(infra: InfraSettings, service: str, statement: str, *args: Any) -> int:
    with psycopg.connect(infra.postgres_dsn(database_of(service))) as conn:
        return conn.execute(statement, args).rowcount


async def settled(infra: InfraSettings, service: str, query: str, arg: Any) -> list[tuple]:
    """The rows once they stop changing (mails of the cohort may still be going out)."""
    previous: list[list[tuple]] = [rows_of(infra, service, query, arg)]

    async def still() -> list[tuple] | None:
        await asyncio.sleep(1.5)
        now = rows_of(infra, service, query, arg)
        same = now == previous[0]
        previous[0] = now
        return now if same else None

    return await eventually(still, timeout=120, what=f"{service}'s read model settled")


#: Each service's read models, as (query of this cohort's rows, its argument's kind).
READ_MODELS = {
    "registration": "SELECT * FROM applicant_status WHERE cohort_id = %s ORDER BY applicant_id",
    "screening": "SELECT * FROM screening_queue WHERE cohort_id = %s ORDER BY applicant_id",
    "matching": "SELECT * FROM matching_board WHERE cohort_id = %s ORDER BY key",
    "notifications": "SELECT * FROM notifications_view WHERE applicant_id = ANY(%s) "
    "ORDER BY notification_id",
    "audit": "SELECT * FROM audit_history WHERE %s = ANY(cohorts) ORDER BY event_id",
}


async def test_an_auditor_reads_every_story_reruns_the_round_and_proves_the_log_untouched(
    processes, infra: InfraSettings, mailbox: Mailbox, producer: AIOKafkaProducer
):
    registration, screening, matching, audit = (
        processes[s] for s in ("registration", "screening", "matching", "audit")
    )
    async with httpx.AsyncClient(timeout=60) as http:
        cohort_id = await open_cohort(http, registration)

        # -- the cohort ------------------------------------------------------------------
        (ana, _, ana_me), (ineligible, _, _), *others = await asyncio.gather(
            an_applicant(http, processes, mailbox, cohort_id),
            an_applicant(http, processes, mailbox, cohort_id, nationality="CN"),
            *(an_applicant(http, processes, mailbox, cohort_id) for _ in range(4)),
        )
        at_documents, at_first, at_second, at_selection = (o[0] for o in others)
        erased_address = others[0][1]

        async def carry(applicant_id: str, stages: tuple[str, ...], then_reject: bool) -> None:
            await case_open(http, screening, applicant_id)
            if stages or not then_reject:
                await pass_both_interviews(
                    http, infra, screening, applicant_id, STAFF, stages=stages
                )
            if then_reject:
                await reject(http, screening, applicant_id)
            else:
                await select(http, screening, applicant_id)

        async def only_documents_accepted() -> None:
            await case_open(http, screening, at_first)
            await accept_documents(http, screening, at_first)
            await reject(http, screening, at_first)

        await asyncio.gather(
            carry(ana, ("first", "second"), then_reject=False),
            carry(at_documents, (), then_reject=True),
            only_documents_accepted(),
            carry(at_second, ("first",), then_reject=True),
            carry(at_selection, ("first", "second"), then_reject=True),
        )

        async def in_pool() -> bool:
            r = await http.get(f"{matching}/candidates/{ana}", headers=MATCHER)
            return r.status_code == 200

        await eventually(in_pool, timeout=90, what="Ana in matching's pool")
        tokyo = await register_host(http, matching, MATCHER, cohort_id, capacity=1, courses=["B"])
        await state_lists(http, matching, MATCHER, {ana: [tokyo]}, {tokyo: [ana]})
        round_ = await run_round(http, matching, MATCHER, cohort_id)
        [pair] = round_["matches"]

        async def board_with_the_proposal() -> dict | None:
            # The board is a read model: it shows the round once its projector read it.
            r = await http.get(f"{matching}/cohorts/{cohort_id}/board", headers=MATCHER)
            board: dict = r.json()
            return board if {c["status"] for c in board["candidates"]} == {"proposed"} else None

        board_before = await eventually(board_with_the_proposal, what="the round on the board")
        before_the_decision = datetime.now(UTC)
        await asyncio.sleep(0.05)
        company = {"Authorization": f"Bearer {IDENTITY.company(tokyo)}"}
        r = await http.post(
            f"{matching}/matches/{pair['match_id']}/decision",
            headers=company,
            json={"decision": "confirm"},
        )
        assert r.status_code in (200, 201), r.text
        await sign_every_agreement(
            http,
            matching,
            pair["match_id"],
            {"intern": ana_me, "company": company, "office": MATCHER},
        )

        # The applicant turned down at the documents asks to be erased.
        r = await http.post(
            f"{registration}/privacy/subjects/{at_documents}/requests",
            headers=OFFICER,
            json={"right": "deletion", "identity_check": "passport seen at the office"},
        )
        assert r.status_code == 200 and r.json()["outcome"] == "done", r.text

        # -- Ana's story -----------------------------------------------------------------
        await history(http, audit, ana, "AgreementSigned")
        report = as_json("audit", "history", ana)
        jsonschema.Draft202012Validator(
            json.loads(SCHEMA.read_text()), format_checker=jsonschema.FormatChecker()
        ).validate(report)
        types = [e["event_type"] for e in report["events"]]
        assert is_subsequence(
            [
                "ApplicantPreregistered",
                "ApplicantRegistered",
                "ScreeningCaseOpened",
                "EligibilityAssessed",
                "DocumentReviewed",
                "InterviewScheduled",
                "InterviewPassed",
                "InterviewScheduled",
                "InterviewPassed",
                "CandidateSelected",
                "CandidateEnteredPool",
                "CandidatePreferencesStated",
                "MatchingRoundCompleted",
                "MatchProposed",
                "MatchConfirmed",
                "AgreementSignatureRecorded",
                "AgreementSigned",
            ],
            types,
        ), types
        assert types.index("DocumentsSubmitted") < types.index("DocumentReviewed")
        assert {e["producer"] for e in report["events"]} >= {
            "registration",
            "screening",
            "matching",
            "notifications",
        }
        # Causal order: nothing comes before what caused it.
        place = {e["event_id"]: i for i, e in enumerate(report["events"])}
        for i, e in enumerate(report["events"]):
            if e["causation_id"] in place:
                assert place[e["causation_id"]] < i, e["event_type"]
        # Who acted, and why each decision.
        by_type = {e["event_type"]: e for e in report["events"]}
        assessment = by_type["EligibilityAssessed"]["explanation"]
        assert assessment["kind"] == "eligibility" and assessment["rule"]["version"] >= 1
        assert assessment["checks"] and all(c["passed"] for c in assessment["checks"])
        assert all("saw" in c for c in assessment["checks"])
        passed = by_type["InterviewPassed"]
        assert passed["actor"]["kind"] == "staff" and passed["decision"]["scorecard"]
        assert by_type["CandidateSelected"]["explanation"]["kind"] == "selection"
        confirmed = by_type["MatchConfirmed"]
        assert confirmed["actor"] == {
            "kind": "company",
            "id": "hr-manager",
            "role": None,
            "company_id": str(tokyo),
        }
        rerun = confirmed["explanation"]["round"]
        assert rerun["round_id"] == round_["round_id"] and rerun["confirmed"], rerun
        assert rerun["inputs_digest"] == rerun["recomputed_digest"]
        assert report["state"]["matching"] == "confirmed"
        assert report["state"]["agreement_signed"] and report["state"]["selected"]
        # The readable table tells the same story, without the applicant's address.
        table = cli("audit", "history", ana)
        assert table.returncode == 0, table.stderr[-2000:]
        assert "matching round 1" in table.stdout and "agreement signed" in table.stdout
        assert "@example.org" not in table.stdout + json.dumps(report)

        # -- the round, re-run from its recorded inputs ----------------------------------
        again = as_json("audit", "rerun-round", round_["round_id"])
        assert again["same_result"] and again["digest_matches"] and again["blocking_pairs"] == 0

        # -- turned down at each stage ---------------------------------------------------
        for applicant_id, stage in (
            (ineligible, "eligibility"),
            (at_documents, "documents"),
            (at_first, "first_interview"),
            (at_second, "second_interview"),
            (at_selection, "selection"),
        ):
            await history(http, audit, applicant_id, "ApplicantRejected")
            story = as_json("audit", "history", applicant_id)
            rejected = [e for e in story["events"] if e["event_type"] == "ApplicantRejected"]
            assert [e["explanation"]["stage"] for e in rejected] == [stage], applicant_id
            assert story["state"]["rejected_at_stage"] == stage
            assert "CandidateSelected" not in [e["event_type"] for e in story["events"]]
        story = as_json("audit", "history", ineligible)
        [assessed] = [e for e in story["events"] if e["event_type"] == "EligibilityAssessed"]
        unmet = [c for c in assessed["explanation"]["checks"] if not c["passed"]]
        assert [c["rule"] for c in unmet] == ["nationality_not_excluded"], unmet
        assert all(c["reason"] and "saw" in c for c in unmet)

        # The erased applicant's story still reads, without their personal data.
        await history(http, audit, at_documents, "SubjectErased")
        erased = as_json("audit", "history", at_documents)
        assert erased["erased"] is True
        assert erased_address not in json.dumps(erased)
        registered = next(e for e in erased["events"] if e["event_type"] == "ApplicantRegistered")
        assert registered["payload"]["email"] == "[personal data]"

        # -- as of a moment ----------------------------------------------------------------
        then = before_the_decision.isoformat()
        board_then = (
            await http.get(
                f"{audit}/cohorts/{cohort_id}/board", headers=AUDITOR, params={"as_of": then}
            )
        ).json()
        live_then = {c["applicant_id"]: c for c in board_before["candidates"]}
        for candidate in board_then["candidates"]:
            live = live_then[candidate["applicant_id"]]
            assert (candidate["status"], candidate["company_id"]) == (
                live["status"],
                live.get("company_id"),
            )
        assert {c["applicant_id"]: c["status"] for c in board_then["candidates"]} == {
            ana: "proposed"
        }
        board_now = (await http.get(f"{audit}/cohorts/{cohort_id}/board", headers=AUDITOR)).json()
        assert [(c["status"], c["company_id"]) for c in board_now["candidates"]] == [
            ("confirmed", str(tokyo))
        ]
        ana_then = as_json("audit", "history", ana, "--as-of", then)
        assert ana_then["state"]["matching"] == "proposed"
        assert "MatchConfirmed" not in [e["event_type"] for e in ana_then["events"]]
        queue = as_json("audit", "queue", cohort_id)
        steps = {q["applicant_id"]: q["step"] for q in queue}
        assert steps[ana] == "selected" and steps[at_second] == "rejected at second_interview"

        company_story = as_json("audit", "history", str(tokyo), "--company")
        assert is_subsequence(
            ["CompanyRegistered", "MatchingRoundCompleted", "MatchProposed", "MatchConfirmed"],
            [e["event_type"] for e in company_story["events"]],
        )

        # -- every read model rebuilt from zero equals the live one -----------------------
        everyone = [ana, ineligible, *(o[0] for o in others)]
        argument = {"notifications": [uuid.UUID(a) for a in everyone]}
        for service, query in READ_MODELS.items():
            arg = argument.get(service, cohort_id)
            live = await settled(infra, service, query, arg)
            done = cli(service, "rebuild-read-models")
            assert done.returncode == 0, done.stderr[-2000:]
            assert rows_of(infra, service, query, arg) == live, service
            assert live, service

        # -- the log verifies, then fails on each kind of tampering -----------------------
        ours = {
            e["event_id"]: e
            for applicant_id in everyone
            for e in as_json("audit", "history", applicant_id)["events"]
        }

        def about_ours(findings: list[dict]) -> list[dict]:
            return [f for f in findings if f["event_id"] in ours]

        clean = as_json("audit", "verify", codes=FOUND_OR_NOT)["findings"]
        assert about_ours(clean) == []
        for service in ("registration", "screening", "matching", "notifications"):
            found = cli(service, "verify", "--json")
            assert found.returncode in (0, 1), found.stderr[-2000:]
            assert about_ours(json.loads(found.stdout)["findings"]) == [], service

        # 1. An event altered in screening's own store after it was published.
        passed_ana = next(e for e in report["events"] if e["event_type"] == "InterviewPassed")
        where = (passed_ana["aggregate_id"], passed_ana["aggregate_version"])
        altered = update(
            infra,
            "screening",
            "UPDATE screening_events SET state = convert_to(replace(convert_from(state, "
            "'UTF8'), '\"_data_\":\"20', '\"_data_\":\"19'), 'UTF8') "
            "WHERE originator_id = %s AND originator_version = %s",
            *where,
        )
        assert altered == 1
        try:
            found = as_json("screening", "verify", codes=(1,))["findings"]
        finally:
            update(
                infra,
                "screening",
                "UPDATE screening_events SET state = convert_to(replace(convert_from(state, "
                "'UTF8'), '\"_data_\":\"19', '\"_data_\":\"20'), 'UTF8') "
                "WHERE originator_id = %s AND originator_version = %s",
                *where,
            )
        assert [(f["kind"], f["where"]) for f in about_ours(found)] == [
            ("store_altered", passed_ana["where"])
        ]
        assert about_ours(found)[0]["event_id"] == passed_ana["event_id"]

        # 2. The audit's own copy of an event altered in its database.
        selected = by_type["CandidateSelected"]
        changed = update(
            infra,
            "audit",
            "UPDATE audit_events SET state = convert_to(replace(convert_from(state, 'UTF8'), "
            "'\"CandidateSelected\"', '\"CandidateRejected\"'), 'UTF8') "
            "WHERE originator_id = %s AND originator_version = 1",
            uuid.UUID(selected["event_id"]),
        )
        assert changed == 1
        try:
            found = about_ours(as_json("audit", "verify", codes=(1,))["findings"])
        finally:
            update(
                infra,
                "audit",
                "UPDATE audit_events SET state = convert_to(replace(convert_from(state, 'UTF8'),"
                " '\"CandidateRejected\"', '\"CandidateSelected\"'), 'UTF8') "
                "WHERE originator_id = %s AND originator_version = 1",
                uuid.UUID(selected["event_id"]),
            )
        # Its hash no longer holds, and (its type changed) neither does its id.
        assert {(f["where"], f["event_id"]) for f in found} == {
            (selected["where"], selected["event_id"])
        }
        assert "store_altered" in {f["kind"] for f in found}

        # 3. A forged copy of one of Ana's mails, and 4. a reordered pair of a fresh
        # notification's events, published to the notifications topic.
        sent = next(e for e in report["events"] if e["event_type"] == "NotificationSent")
        [(_, original)] = [
            (r, json.loads(r.value))
            for r in await kafka.read_all(infra, [topics.NOTIFICATIONS])
            if json.loads(r.value).get("event_id") == sent["event_id"]
        ]
        forged = {**original, "payload": {**original["payload"], "template": "match_confirmed"}}
        fresh = uuid.uuid4()
        first = {
            **original,
            "event_id": str(derive_event_id("notifications", "NotificationSent", fresh, 1)),
            "aggregate_id": str(fresh),
            "aggregate_version": 1,
            "previous_hash": None,
            "payload": {**original["payload"], "notification_id": str(fresh)},
        }
        second = {
            **first,
            "event_id": str(derive_event_id("notifications", "NotificationSent", fresh, 2)),
            "aggregate_version": 2,
            "previous_hash": event_hash(first),
        }
        positions = {}
        for name, value in (("forged", forged), ("second", second), ("first", first)):
            meta = await producer.send_and_wait(
                topics.NOTIFICATIONS,
                json.dumps(value).encode(),
                key=value["aggregate_id"].encode(),
            )
            positions[name] = f"{meta.topic}:{meta.partition}:{meta.offset}"
        ours.update({first["event_id"]: first, second["event_id"]: second})
        found = about_ours(as_json("audit", "verify", codes=(1,))["findings"])
        assert sorted((f["kind"], f["where"], f["event_id"]) for f in found) == sorted(
            [
                ("altered", positions["forged"], sent["event_id"]),
                ("reordered", positions["second"], second["event_id"]),
                ("reordered", positions["first"], first["event_id"]),
            ]
        )
