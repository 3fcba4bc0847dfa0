"""The main job: start the stack and every service, then carry a sample cohort through
the pipeline as far as the services go, printing what happened at each step.

Every step goes through the services' public HTTP APIs, as applicants and office staff
would; every effect shown is read back from where its users would see it: e-mails from
the SMTP server's mailbox, events from Kafka with an independent consumer.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from infra import kafka, postgres
from infra import services as supervisor
from infra.cohorts import preset
from infra.settings import InfraSettings
from infra.smtp import read_messages
from infra.stack import up

console = Console(highlight=False)
PDF = b"%PDF-1.4\n% JIP demo document\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PASSING = {"motivation": 4, "communication": 4, "language": 3, "fit_with_program": 4}
FAILING = {"motivation": 3, "communication": 2, "language": 2, "fit_with_program": 2}

APPLICANTS = [
    # given, family, nationality, education status, second interview passes?, matched?
    ("Linh", "Nguyen", "VN", "graduated", True, True),
    ("Budi", "Santoso", "ID", "enrolled", True, True),
    ("Priya", "Sharma", "IN", "graduated", True, False),
    ("Sokha", "Chan", "KH", "enrolled", False, False),
    ("Amara", "Okafor", "NG", "graduated", None, False),  # registers, documents pending
    # A national the call excludes: screening rejects her at registration, and says why.
    ("Wei", "Zhang", "CN", "graduated", None, False),
]


def corporate_number(base: str) -> str:
    """A valid corporate number (法人番号) of a 12-digit base: its check digit first."""
    total = sum(int(d) * (1 if n % 2 else 2) for n, d in enumerate(reversed(base), start=1))
    return f"{9 - total % 9}{base}"


def me_of(journey: dict[str, Any]) -> dict[str, str]:
    """The applicant's own access."""
    return {"Authorization": f"Bearer {journey['access_token']}"}


def demo_cohort(today: date) -> dict[str, Any]:
    """The FY2025 call's terms (`infra/cohorts/fy2025.json`) for this fiscal year's
    cohort, whose window contains today, the same all day: re-running the demo finds it
    already open instead of clashing with it."""
    fiscal_year = today.year if today.month >= 4 else today.year - 1
    opens = datetime(today.year, today.month, 1, tzinfo=UTC) - timedelta(days=31)
    # Within the fiscal year (1 April to 31 March, JST), as registration requires.
    closes = min(opens + timedelta(days=120), datetime(fiscal_year + 1, 3, 31, 14, tzinfo=UTC))
    terms = preset("fy2025")
    return {
        **terms,
        "cohort_id": f"FY{fiscal_year}",
        "applications_open_at": opens.isoformat(),
        "applications_close_at": closes.isoformat(),
        "age_reference_date": f"{fiscal_year}-08-25",
        "results_by": (closes + timedelta(days=1)).date().isoformat(),
        "rules": {**terms["rules"], "rule_set_id": f"jip-fy{fiscal_year}"},
    }


class Demo:
    def __init__(
        self,
        infra: InfraSettings,
        urls: dict[str, str],
        environments: dict[str, dict[str, str]] | None = None,
    ) -> None:
        self.infra = infra
        self.urls = urls
        #: Each service's environment, for running its commands as an operator would.
        self.environments = environments or {}
        # Each member of the office acts in their own role, with their own token.
        self.admin = supervisor.development_headers(infra, "demo-admin", role="admin")
        self.screener = supervisor.development_headers(infra, "demo-screener", role="screener")
        self.interviewer = supervisor.development_headers(
            infra, "demo-interviewer", role="interviewer"
        )
        self.matcher = supervisor.development_headers(infra, "demo-matcher", role="matcher")
        self.http = httpx.Client(timeout=30)
        self.run_id = uuid.uuid4().hex[:6]

    def step(self, text: str) -> None:
        # Escaped: the text quotes the services ("[erased]"), which is not markup.
        console.print(f"[bold cyan]▸[/] {escape(text)}")

    def post(self, service: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self.http.post(self.urls[service] + path, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"{service} {path}: {response.status_code} {response.text}")
        return response

    def wait_for_mail(self, address: str, subject: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in read_messages(self.infra.mail_dir):
                if address in str(message["To"]) and subject in str(message["Subject"]):
                    body = message.get_body(preferencelist=("plain",))
                    return str(body.get_content()) if body else ""
            time.sleep(0.2)
        raise RuntimeError(f"no '{subject}' mail arrived for an applicant within {timeout}s")

    def wait_until(self, probe: Any, what: str, timeout: float = 30) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = probe()
            if result:
                return result
            time.sleep(0.3)
        raise RuntimeError(f"timed out waiting for {what}")

    def run(self) -> None:
        cohort = demo_cohort(datetime.now(UTC).date())
        cohort_id = cohort["cohort_id"]
        for call in range(2, 100):
            response = self.http.post(
                self.urls["registration"] + "/cohorts", json=cohort, headers=self.admin
            )
            if response.status_code != 409:
                break
            # This fiscal year's cohort was opened by an earlier demo on other terms (an
            # older version of the code, a store kept since): open a further call of
            # the year instead, the same one on every later run.
            cohort_id = cohort["cohort_id"] = f"FY{cohort_id[2:6]}-D{call}"
        if response.status_code >= 400:
            raise RuntimeError(f"registration /cohorts: {response.status_code} {response.text}")
        opened = response.json()
        self.step(
            f"Office opened cohort {cohort_id}" + ("" if opened["opened"] else " (already open)")
        )
        journeys = []
        for given, family, country, status, second_ok, _matched in APPLICANTS:
            address = f"{given.lower()}.{self.run_id}@applicants.example"
            journey = {"name": f"{given} {family}", "address": address, "reached": []}
            journeys.append(journey)
            self.post(
                "registration", f"/cohorts/{cohort_id}/preregistrations", json={"email": address}
            )
            body = self.wait_for_mail(address, "registration link")
            link = re.search(r"(http://\S+/registration\?token=\S+)", body)
            assert link is not None
            token = parse_qs(urlparse(link.group(1)).query)["token"][0]
            journey["reached"].append("pre-registered")
            form = {
                "token": token,
                "given_name": given,
                "family_name": family,
                "date_of_birth": "1999-03-15",
                "nationality": country,
                "country_of_residence": country,
                "education": {
                    "institution": "National University",
                    "level": "bachelor",
                    "status": status,
                    "field_of_study": "Engineering",
                    "graduation_date": "2025-06-30",
                },
                "languages": {"jlpt": "N3", "ielts": 6.5},
                "course_preferences": ["B", "A"],
                "period_preferences": [],
                "internship_interests": ["manufacturing"],
                "previous_participation_years": [],
                "declares_no_final_job_commitment": True,
                "privacy_policy_consent": True,
            }
            registered = self.post("registration", "/registrations", json=form).json()
            journey["applicant_id"] = registered["applicant_id"]
            journey["access_token"] = registered["access_token"]
            journey["reached"].append("registered")
            if second_ok is None:
                journey["outstanding"] = registered["outstanding_documents"]
                continue
            me = {"Authorization": f"Bearer {registered['access_token']}"}
            files = {
                kind: (f"{kind}.pdf", PDF + kind.encode(), "application/pdf")
                for kind in registered["outstanding_documents"]
            }
            self.post("registration", "/applicants/me/documents", files=files, headers=me)
            journey["reached"].append("documents complete")
        self.step(
            f"{len(journeys)} applicants pre-registered through their e-mailed links "
            "and registered; 4 uploaded all their documents"
        )

        for journey, (_, _, country, *_rest) in zip(journeys, APPLICANTS, strict=True):
            if country != "CN":
                continue
            body = self.wait_for_mail(journey["address"], "the outcome of your application")
            reason = next(line for line in body.splitlines() if line.strip().startswith("- "))
            journey["reached"].append(f"rejected for eligibility ({reason.strip(' -')})")
        self.step(
            "Screening assessed every registration against the cohort's rule set "
            "(each rule with what it saw, the rule set's version) and rejected the one "
            "applicant the call excludes; notifications told her why"
        )

        for journey, (_, _, _, _, second_ok, _matched) in zip(journeys, APPLICANTS, strict=True):
            if second_ok is None:
                continue
            case_url = f"/cases/{journey['applicant_id']}"

            def documents_in(u: str = case_url) -> dict[str, Any] | None:
                r = self.http.get(self.urls["screening"] + u, headers=self.screener)
                if r.status_code != 200:
                    return None
                documents: dict[str, Any] = r.json()["documents"]
                return (
                    documents if set(documents["required"]) <= set(documents["received"]) else None
                )

            documents = self.wait_until(documents_in, "screening to receive the documents")
            journey["reached"].append("screening case opened")
            for item in documents["items"]:
                if item["state"] == "awaiting_review":
                    self.post(
                        "screening",
                        f"{case_url}/documents/{item['document_id']}/review",
                        headers=self.screener,
                        json={"decision": "accepted"},
                    )
            journey["reached"].append("documents accepted")
            for stage, passed in (("first", True), ("second", second_ok)):
                now = datetime.now(UTC)
                scheduled = self.post(
                    "screening",
                    f"{case_url}/interviews",
                    headers=self.screener,
                    json={
                        "stage": stage,
                        "slot": {
                            "scheduled_at": (now - timedelta(minutes=30)).isoformat(),
                            "duration_minutes": 30,
                            "interviewer": "demo-interviewer",
                            "language": "english" if stage == "first" else "japanese",
                            "mode": "online",
                        },
                    },
                ).json()
                self.post(
                    "screening",
                    f"{case_url}/interviews/{scheduled['interview_id']}/result",
                    headers=self.interviewer,
                    json={
                        "interviewed_at": now.isoformat(),
                        # The default scorecard: four criteria of 0-5, passed with 12.
                        "scores": PASSING if passed else FAILING,
                    },
                )
                journey["reached"].append(f"{stage} interview {'passed' if passed else 'failed'}")
                if not passed:
                    break
        self.step(
            "Screening accepted the documents, scheduled and scored the interviews of the "
            "applicants with complete documents"
        )

        for journey, (_, _, _, _, second_ok, _matched) in zip(journeys, APPLICANTS, strict=True):
            if not second_ok:
                continue
            self.post(
                "screening",
                f"/cases/{journey['applicant_id']}/selection",
                headers=self.admin,
                json={},
            )
            journey["reached"].append("selected by the office")
        self.step("The office selected the candidates who passed both interviews")

        selected = [
            (journey, matched)
            for journey, (_, _, _, _, second_ok, matched) in zip(journeys, APPLICANTS, strict=True)
            if second_ok
        ]
        for journey, _ in selected:
            candidate_url = self.urls["matching"] + f"/candidates/{journey['applicant_id']}"
            self.wait_until(
                lambda u=candidate_url: self.http.get(u, headers=self.matcher).status_code == 200,
                "the candidate to enter the matching pool",
            )
            journey["reached"].append("in the candidate pool")
        self.step("Matching put the selected candidates in the cohort's pool")

        # Host companies, registered by the office: three SMEs, and a large retailer
        # refused with its reason.
        hosts = {
            name: self.register_host(cohort_id, name, courses)
            for name, courses in (
                ("Kato Seiki", ["A", "B"]),
                ("Sakura Web", ["A"]),
                ("Yamato Logistics", ["B"]),
            )
        }
        refused = self.register_host(cohort_id, "Daikoku Stores", ["B"], large=True)
        self.step(
            "The office registered three host companies as SMEs; a retailer of 900 employees "
            f"and 900 million yen was refused: {refused}"
        )
        (linh, _), (budi, _), (priya, _) = selected
        users = {
            name: supervisor.development_headers(self.infra, "hr-manager", company_id=company)
            for name, company in hosts.items()
        }
        # A candidate no company will take (yet) may withdraw, with their own access.
        self.post(
            "matching", f"/candidates/{priya['applicant_id']}/withdrawal", headers=me_of(priya)
        )
        priya["reached"].append("withdrew from the pool")
        # Both sides' ranked lists: each candidate with their own access, each company
        # with its own user's.
        for journey, ranked in (
            (linh, ["Kato Seiki", "Sakura Web"]),
            (budi, ["Kato Seiki", "Yamato Logistics"]),
        ):
            self.put(
                "matching",
                f"/candidates/{journey['applicant_id']}/preferences",
                headers=me_of(journey),
                json={"companies": [str(hosts[n]) for n in ranked]},
            )
            journey["reached"].append("ranked " + " > ".join(ranked))
        for name, ranked in (
            ("Kato Seiki", [budi, linh]),
            ("Sakura Web", [linh]),
            ("Yamato Logistics", [budi]),
        ):
            self.put(
                "matching",
                f"/companies/{hosts[name]}/preferences",
                headers=users[name],
                json={"candidates": [j["applicant_id"] for j in ranked]},
            )
        first = self.run_round(cohort_id, journeys)
        names = {str(c): n for n, c in hosts.items()}
        people = {j["applicant_id"]: j for j, _ in selected}
        for pair in first["matches"]:
            people[pair["applicant_id"]]["reached"].append(
                f"round {first['round_number']}: proposed to {names[pair['company_id']]} "
                f"(course {pair['course']})"
            )
        self.step(
            f"Round {first['round_number']}: stable matching ({first['algorithm']['id']} "
            f"v{first['algorithm']['version']}) proposed "
            + ", ".join(
                f"{people[m['applicant_id']]['name']} to {names[m['company_id']]}"
                for m in first["matches"]
            )
            + f"; inputs {first['inputs_digest'][:19]}..., blocking pairs "
            f"{first['blocking_pairs']}"
        )
        # Kato Seiki interviews Budi and declines; another company's user could not.
        budi_match = self.match_of(budi)
        other_company = supervisor.development_headers(
            self.infra, "someone-else", company_id=uuid.uuid4()
        )
        decline = {"decision": "decline", "reason_code": "interview_not_passed"}
        url = self.urls["matching"] + f"/matches/{budi_match['match_id']}/decision"
        assert self.http.post(url, json=decline, headers=other_company).status_code == 403
        self.post(
            "matching",
            f"/matches/{budi_match['match_id']}/decision",
            headers=users["Kato Seiki"],
            json=decline,
        )
        budi["reached"].append("declined by Kato Seiki after its interview")
        linh_match = self.match_of(linh)
        self.post(
            "matching",
            f"/matches/{linh_match['match_id']}/decision",
            headers=users["Sakura Web"],
            json={"decision": "confirm"},
        )
        linh["reached"].append("confirmed by Sakura Web")
        second = self.run_round(cohort_id, journeys)
        budi_match = self.match_of(budi)
        budi_host = names[budi_match["proposal"]["company_id"]]
        budi["reached"].append(f"round {second['round_number']}: proposed to {budi_host}")
        self.post(
            "matching",
            f"/matches/{budi_match['match_id']}/decision",
            headers=users[budi_host],
            json={"decision": "confirm"},
        )
        budi["reached"].append(f"confirmed by {budi_host}")
        self.step(
            "Kato Seiki declined Budi after its own interview (another company's user was "
            f"refused); Sakura Web confirmed Linh. Round {second['round_number']} proposed "
            f"Budi to {budi_host}, without Kato Seiki, and {budi_host} confirmed"
        )
        for journey, company in ((linh, "Sakura Web"), (budi, budi_host)):
            match = self.match_of(journey)
            # Once matched, the applicant cannot withdraw.
            refused_withdrawal = self.http.post(
                self.urls["matching"] + f"/candidates/{journey['applicant_id']}/withdrawal",
                headers=me_of(journey),
            )
            assert refused_withdrawal.status_code == 409, refused_withdrawal.text
            self.sign_every_agreement(match["match_id"], me_of(journey), users[company])
            journey["reached"].append(
                "three-way agreement signed by each party"
                if match["agreement_structure"] == "three_way"
                else "three per-pair agreements signed by each party"
            )
        self.step(
            "Neither matched candidate could withdraw any more, and each party signed its "
            "agreements under its own identity: the intern, the company's user and the "
            "office's matcher (course A: one three-way agreement; online course B: one per "
            "pair)"
        )

        for journey, (_, _, _, _, second_ok, matched) in zip(journeys, APPLICANTS, strict=True):
            last_mail = (
                "received your application"
                if second_ok is None
                else "the result of your second interview"
                if not second_ok
                else "a host company has chosen you"
                if matched
                else "you passed the second interview"
            )
            self.wait_for_mail(journey["address"], last_mail)
        erased = next(j for j, a in zip(journeys, APPLICANTS, strict=True) if a[4] is None)
        self.erase(erased)
        self.audit(linh, erased, first)
        self.verify()
        self.report(journeys)

    def audit(
        self, journey: dict[str, Any], erased: dict[str, Any], round_: dict[str, Any]
    ) -> None:
        """An auditor replays an applicant's history from the audit service (every
        event about them from every service, in causal order, each decision explained),
        re-runs the first matching round from its recorded inputs, and reads the erased
        applicant's trail, which holds no personal data any more."""
        auditor = supervisor.development_headers(self.infra, "demo-auditor", role="auditor")
        base = self.urls["audit"]

        def history_of(applicant_id: str, last: str) -> Any:
            def probe() -> Any:
                r = self.http.get(f"{base}/applicants/{applicant_id}/history", headers=auditor)
                if r.status_code != 200:
                    return None
                body = r.json()
                return body if last in [e["event_type"] for e in body["events"]] else None

            return self.wait_until(probe, f"the audit to read {last}", timeout=60)

        story = history_of(journey["applicant_id"], "AgreementSigned")
        table = Table(title=f"The auditor's view: {journey['name']}'s history (from the log)")
        for column in ("UTC", "service", "what happened", "who", "why"):
            table.add_column(column, overflow="fold")
        for e in story["events"]:
            if e["event_type"] == "NotificationSent":
                continue  # the mails are counted below, not listed
            actor = e["actor"]
            why = ""
            x = e["explanation"]
            if x and x.get("rule"):
                why = f"{x['rule']['id']} v{x['rule']['version']}"
            if x and x.get("round"):
                why += " · re-run: " + ("same result" if x["round"]["confirmed"] else "DIFFERS")
            who = {
                "applicant": "the applicant",
                "staff": f"{actor.get('role')} {actor['id']}",
                "company": f"company user {actor['id']}",
            }.get(actor["kind"], f"{actor['id']} (system)")
            table.add_row(e["occurred_at"][11:19], e["producer"], escape(e["what"]), who, why)
        console.print(table)
        mails = sum(e["event_type"] == "NotificationSent" for e in story["events"])
        rerun = self.http.get(f"{base}/rounds/{round_['round_id']}/rerun", headers=auditor).json()
        trail = history_of(erased["applicant_id"], "SubjectErased")
        self.step(
            f"An auditor read {len(story['events'])} events about {journey['name']} from four "
            f"services ({mails} e-mails among them); round {rerun['round_number']} re-run "
            f"from its recorded inputs: same inputs {rerun['digest_matches']}, same matching "
            f"{rerun['same_result']}, blocking pairs {rerun['blocking_pairs']}. "
            f"{erased['name']}'s trail still reads ({len(trail['events'])} events, erased "
            f"{trail['erased']}), with every personal value shown as [personal data]"
        )

    def verify(self) -> None:
        """Every service's `verify` command, as an operator runs it (all at once): its
        topic's hash chains and its store against its topic; the audit's, every topic
        and its copy of the log."""
        commands = {
            name: subprocess.Popen(  # noqa: S603 (our own interpreter and module)
                [sys.executable, "-m", f"services.{name}", "verify", "--json"],
                env={**os.environ, **environment},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name, environment in self.environments.items()
        }
        table = Table(title="Tamper evidence: python -m services.<service> verify")
        for column in ("service", "checked", "findings"):
            table.add_column(column, overflow="fold")
        for name, command in commands.items():
            out, err = command.communicate(timeout=300)
            if command.returncode not in (0, 1):
                raise RuntimeError(f"{name} verify failed: {err[-2000:]}")
            found = json.loads(out)
            kinds = Counter(f["kind"] for f in found["findings"])
            table.add_row(
                name,
                found["checked"],
                ", ".join(f"{n} {k}" for k, n in kinds.items()) or "[green]none[/]",
            )
        console.print(table)

    def put(self, service: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self.http.put(self.urls[service] + path, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"{service} {path}: {response.status_code} {response.text}")
        return response

    def register_host(
        self, cohort_id: str, name: str, courses: list[str], large: bool = False
    ) -> Any:
        """A host company registered by the office: its id, or (a large one) the reason
        it was refused."""
        company_id = uuid.uuid4()
        base = f"{uuid.uuid4().int % 10**12:012d}"
        body = {
            "cohort_id": cohort_id,
            "legal_name": f"{name} Co., Ltd.",
            "corporate_number": corporate_number(base),
            "organisation_kind": "company",
            "industry": "retail" if large else "manufacturing",
            "prefecture": "aichi",
            "capital_yen": 900_000_000 if large else 30_000_000,
            "regular_employees": 900 if large else 45,
            "courses": courses,
            "plan": {"content": f"An internship at {name}, with a mentor."},
            "contacts": [{"name": "Hanako Kato", "email": "hr@company.example"}],
        }
        url = self.urls["matching"] + f"/companies/{company_id}"
        response = self.wait_until(
            lambda: (
                (r := self.http.put(url, json=body, headers=self.matcher)).status_code != 409 and r
            ),
            "matching to learn the cohort's courses",
        )
        if large:
            assert response.status_code == 422, response.text
            return response.json()["errors"][0]["reason"]
        assert response.status_code in (200, 201), response.text
        return company_id

    def run_round(self, cohort_id: str, journeys: list[dict[str, Any]]) -> dict[str, Any]:
        """The cohort's next round; each proposed candidate's journey learns its match."""
        round_ = self.post("matching", f"/cohorts/{cohort_id}/rounds", headers=self.matcher).json()
        for pair in round_["matches"]:
            for journey in journeys:
                if journey.get("applicant_id") == pair["applicant_id"]:
                    journey["match_id"] = pair["match_id"]
        return round_  # type: ignore[no-any-return]

    def match_of(self, journey: dict[str, Any]) -> dict[str, Any]:
        """The candidate's match (its standing proposal, or the confirmed match)."""
        match_id = journey["match_id"]
        response = self.http.get(
            self.urls["matching"] + f"/matches/{match_id}", headers=self.matcher
        )
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def sign_every_agreement(
        self, match_id: str, intern: dict[str, str], company: dict[str, str]
    ) -> None:
        """Each party signs each agreement of the match it is party to, as itself."""
        url = self.urls["matching"] + f"/matches/{match_id}"
        # The agreements follow from the course, learnt from the cohort's opening.
        match = self.wait_until(
            lambda: (
                (m := self.http.get(url, headers=self.matcher).json())["agreement_structure"] and m
            ),
            "the match's agreements to be drawn up",
        )
        signers = {"intern": intern, "company": company, "office": self.matcher}
        for agreement in match["agreements"]:
            for party in agreement["parties"]:
                self.post(
                    "matching",
                    f"/matches/{match_id}/agreements/{agreement['agreement_id']}/signatures",
                    headers=signers[party],
                    json={"party": party},
                )

    def erase(self, journey: dict[str, Any]) -> None:
        """The applicant who never sent documents asks for the deletion of their data
        (the privacy policy's right): their key is destroyed, so every copy of their
        personal values, in every store and on Kafka, reads as erased."""
        me = {"Authorization": f"Bearer {journey['access_token']}"}
        answer = self.post(
            "registration", "/privacy/requests", json={"right": "deletion"}, headers=me
        ).json()
        refused = self.http.get(self.urls["registration"] + "/applicants/me/status", headers=me)
        journey["reached"].append("erased at their request")
        self.step(
            f"{journey['name']} asked for the deletion of their data: {answer['outcome']}; "
            f"their token is now refused ({refused.status_code}), and their name, address "
            "and date of birth read as [erased] everywhere"
        )

    def report(self, journeys: list[dict[str, Any]]) -> None:
        mails = read_messages(self.infra.mail_dir)
        table = Table(title="Sample cohort: where each applicant got to")
        for column in ("applicant", "furthest step", "e-mails received"):
            table.add_column(column)
        for journey in journeys:
            subjects = [str(m["Subject"]) for m in mails if journey["address"] in str(m["To"])]
            table.add_row(journey["name"], journey["reached"][-1], "\n".join(subjects))
        console.print(table)

        counts = asyncio.run(count_events(self.infra))
        events = Table(title="Events on Kafka (whole log, read back by an independent consumer)")
        events.add_column("topic")
        events.add_column("event type")
        events.add_column("count", justify="right")
        for (topic, event_type), count in sorted(counts.items()):
            events.add_row(topic, event_type, str(count))
        console.print(events)


async def count_events(infra: InfraSettings) -> Counter[tuple[str, str]]:
    from events.topics import ALL_TOPICS

    counts: Counter[tuple[str, str]] = Counter()
    for record in await kafka.read_all(infra, ALL_TOPICS):
        try:
            counts[(record.topic, json.loads(record.value)["event_type"])] += 1
        except (ValueError, KeyError, TypeError):
            counts[(record.topic, "(unreadable)")] += 1
    return counts


def main() -> None:
    infra = InfraSettings()
    started = time.monotonic()
    console.print("[bold]JIP event backbone — demo[/]")
    new_broker = not infra.kafka_data_dir.exists()
    asyncio.run(up(infra, report=lambda c, m, s: console.print(f"  {c:<10} {m} ({s:.1f}s)")))
    if new_broker:
        # A new broker (a fresh clone, or var/ removed) on a PostgreSQL cluster that
        # outlives it: the services' databases remember positions in the old broker's
        # topics and would pass over the new one's first records. Start them afresh.
        for name in supervisor.SERVICES:
            if postgres.drop_database(infra, f"jip_{name}"):
                postgres.ensure_database(infra, f"jip_{name}")
                console.print(f"  reset      jip_{name} (it tracked a broker that is gone)")
    environments = {
        name: supervisor.service_environment(
            infra,
            name,
            port=supervisor.DEFAULT_PORTS[name],
            database=f"jip_{name}",
            identity=supervisor.development_identity(infra, name),
        )
        for name in supervisor.SERVICES
    }
    running = supervisor.start(infra, environments)
    console.print("  services   " + ", ".join(f"{s.name} {s.base_url}" for s in running))
    try:
        Demo(infra, {s.name: s.base_url for s in running}, environments).run()
    finally:
        supervisor.stop(running)
        console.print(
            f"Services stopped; logs in {infra.log_dir}. The infrastructure keeps "
            "running (`make down` stops it)."
        )
    console.print(f"Done in {time.monotonic() - started:.0f}s.")
