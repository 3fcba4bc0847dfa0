"""The main job: start the stack and every service, then carry a sample cohort through
the pipeline as far as the services go, printing what happened at each step.

Every step goes through the services' public HTTP APIs, as applicants and office staff
would; every effect shown is read back from where its users would see it: e-mails from
the SMTP server's mailbox, events from Kafka with an independent consumer.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
from rich.console import Console
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
    def __init__(self, infra: InfraSettings, urls: dict[str, str]) -> None:
        self.infra = infra
        self.urls = urls
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
        console.print(f"[bold cyan]▸[/] {text}")

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
            reason = next(line for line in body.splitlines() if "not eligible" in line)
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

        courses = iter(["A", "B"] * len(APPLICANTS))
        for journey, (_, _, _, _, second_ok, matched) in zip(journeys, APPLICANTS, strict=True):
            if not second_ok:
                continue
            candidate_url = self.urls["matching"] + f"/candidates/{journey['applicant_id']}"
            self.wait_until(
                lambda u=candidate_url: self.http.get(u, headers=self.matcher).status_code == 200,
                "the candidate to enter the matching pool",
            )
            journey["reached"].append("in the candidate pool")
            me = {"Authorization": f"Bearer {journey['access_token']}"}
            if not matched:
                # A candidate no company took (yet) may withdraw, with their own access.
                self.post(
                    "matching", f"/candidates/{journey['applicant_id']}/withdrawal", headers=me
                )
                journey["reached"].append("withdrew from the pool")
                continue
            # The host company's own user records its decision; a user of another
            # company could not (403).
            company_id = uuid.uuid4()
            company_user = supervisor.development_headers(
                self.infra, "hr-manager", company_id=company_id
            )
            course = next(courses)
            decision = {
                "applicant_id": journey["applicant_id"],
                "company_id": str(company_id),
                "course": course,
            }
            other_company = supervisor.development_headers(
                self.infra, "someone-else", company_id=uuid.uuid4()
            )
            refused = self.http.post(
                self.urls["matching"] + "/matches", json=decision, headers=other_company
            )
            assert refused.status_code == 403, refused.text
            match = self.post("matching", "/matches", headers=company_user, json=decision).json()
            journey["reached"].append(f"matched with a company (course {course})")
            # Once matched, the applicant cannot withdraw.
            refused = self.http.post(
                self.urls["matching"] + f"/candidates/{journey['applicant_id']}/withdrawal",
                headers=me,
            )
            assert refused.status_code == 409, refused.text
            self.sign_every_agreement(match["match_id"], me, company_user)
            journey["reached"].append(
                "three-way agreement signed by each party"
                if course == "A"
                else "three per-pair agreements signed by each party"
            )
        self.step(
            "Two companies' own users recorded their choice of a candidate (another company's "
            "user was refused); neither candidate could withdraw any more, and each party "
            "signed its agreements under its own identity: the intern, the company's user "
            "and the office's matcher (course A: one three-way agreement; online course B: "
            "one per pair). A candidate no company took withdrew from the pool."
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
        self.erase(next(j for j, a in zip(journeys, APPLICANTS, strict=True) if a[4] is None))
        self.report(journeys)

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
        Demo(infra, {s.name: s.base_url for s in running}).run()
    finally:
        supervisor.stop(running)
        console.print(
            f"Services stopped; logs in {infra.log_dir}. The infrastructure keeps "
            "running (`make down` stops it)."
        )
    console.print(f"Done in {time.monotonic() - started:.0f}s.")
