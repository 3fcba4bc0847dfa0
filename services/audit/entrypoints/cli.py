"""The audit's command line: `python -m services.audit [serve]` runs the service;
`history`, `explain`, `rerun-round`, `queue` and `board` answer an auditor from the
audit's history store (a readable table, or `--json`); `rebuild-read-models` rebuilds
that store's table from the audit's log."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from events.topics import ALL_TOPICS
from runtime.cli import service_cli
from runtime.rebuild import rebuild_and_close
from runtime.verify import print_findings, read_topics, verify_records
from services.audit.adapters.history_view import HistoryProjector
from services.audit.application.history import Audit, NotInTheLog
from services.audit.application.verification import verify_audit_store
from services.audit.bootstrap import MESSAGING, bootstrap, build_application, connect_view
from services.audit.settings import AuditSettings

T = TypeVar("T")


async def rebuild_history() -> str:
    """Clear the history table and replay the audit's log into it."""
    settings = AuditSettings()
    app = await asyncio.to_thread(build_application, settings)
    view = await connect_view(settings)
    return await rebuild_and_close(app, view, HistoryProjector, label="audit_history")


def verify(as_json: bool) -> int:
    """Every topic's chains, and the audit's copy of the log against the topics."""
    settings = AuditSettings()
    records = asyncio.run(read_topics(settings.kafka_bootstrap, ALL_TOPICS))
    app = build_application(settings)
    try:
        found = verify_records(records) + verify_audit_store(app, records)
        # A break on a topic is also one in the audit's faithful copy of it: once.
        findings = list({(f.kind, f.where, f.event_id): f for f in found}.values())
    finally:
        app.close()
    checked = f"{len(ALL_TOPICS)} topics ({len(records)} records) and the audit's store"
    return print_findings(findings, checked=checked, as_json=as_json)


cli = service_cli(
    MESSAGING,
    verify=verify,
    build=lambda: bootstrap(AuditSettings()),
    open_application=lambda: build_application(AuditSettings()),
    serves="the HTTP API, the Kafka inbox of every topic and the history table",
    rebuild_read_models=rebuild_history,
)
console = Console()


def _ask(question: Callable[[Audit], Awaitable[T]]) -> T:
    async def run() -> T:
        view = await connect_view(AuditSettings())
        try:
            return await question(Audit(view))
        finally:
            await view.pool.close()

    try:
        return asyncio.run(run())
    except NotInTheLog as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None


def _when(value: str | None) -> datetime | None:
    if value is None:
        return None
    when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if when.tzinfo is None:
        raise typer.BadParameter("give the moment with its offset, e.g. 2026-05-01T09:00:00Z")
    return when


AS_OF = typer.Option(None, "--as-of", help="Only what the log held then (RFC 3339).")
JSON = typer.Option(False, "--json", help="JSON (schema: AuditHistory.report.v1.json).")


def _short(value: Any, width: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"


@cli.command()
def history(
    subject_id: uuid.UUID,
    company: bool = typer.Option(False, "--company", help="A host company's history."),
    as_of: str | None = AS_OF,
    as_json: bool = JSON,
) -> None:
    """Every event about an applicant (or `--company`), in causal order, with who did it
    and why."""
    kind = "company" if company else "applicant"
    report = _ask(lambda audit: audit.history(kind, subject_id, as_of=_when(as_of)))
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
        return
    title = f"{kind} {subject_id}" + (" (erased)" if report.erased else "")
    table = Table(title=f"History of {title}" + (f" as of {as_of}" if as_of else ""))
    for column in ("#", "when (UTC)", "service", "what happened", "who", "why"):
        table.add_column(column, overflow="fold")
    for n, e in enumerate(report.events, start=1):
        who = e.actor.id if e.actor.role is None else f"{e.actor.id} ({e.actor.role})"
        why = ""
        if e.explanation is not None:
            x = e.explanation
            parts = [f"{x.rule.id} v{x.rule.version}" if x.rule else ""]
            parts += [
                f"{c.rule}: saw {_short(c.saw, 30)} {'✓' if c.passed else '✗'}" for c in x.checks
            ]
            parts += [r.code for r in x.reasons]
            if x.round is not None:
                parts.append(
                    f"round {x.round.round_number} re-run: "
                    + ("same result" if x.round.confirmed else "DIFFERS")
                )
            why = "\n".join(p for p in parts if p)
        flag = " [bold red](conflicting copy!)[/]" if e.conflicting_copies else ""
        table.add_row(
            str(n),
            e.occurred_at.strftime("%Y-%m-%d %H:%M:%S"),
            e.producer,
            e.what.replace("[", "\\[") + flag,
            f"{e.actor.kind}: {who}",
            why.replace("[", "\\["),
        )
    console.print(table)
    state = {k: v for k, v in report.state.items() if v not in (None, [], {}, False, 0)}
    console.print(
        "State: " + ", ".join(f"{k}={_short(v, 40)}" for k, v in state.items()).replace("[", "\\[")
    )


@cli.command()
def explain(event_id: uuid.UUID, as_json: bool = JSON) -> None:
    """One event, and why it was decided as it was (a match: its round re-run)."""
    event, explanation = _ask(lambda audit: audit.explain_event(event_id))
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "event": event.model_dump(mode="json"),
                    "explanation": explanation and explanation.model_dump(mode="json"),
                },
                indent=2,
            )
        )
        return
    console.print(
        f"[bold]{event.event_type}[/] {event.event_id} at {event.where}, "
        f"by {event.actor.kind} {event.actor.id}"
    )
    console.print(event.what.replace("[", "\\["))
    if explanation is None:
        console.print("(this event decides nothing)")
        return
    console.print_json(explanation.model_dump_json())


@cli.command("rerun-round")
def rerun_round(round_id: uuid.UUID, as_json: bool = JSON) -> None:
    """Solve a matching round again from the inputs it recorded; exit 1 if the result
    differs from what it recorded."""
    found = _ask(lambda audit: audit.rerun(round_id))
    if found is None:
        typer.echo(f"the log holds no matching round {round_id}", err=True)
        raise typer.Exit(2)
    if as_json:
        typer.echo(found.model_dump_json(indent=2))
    else:
        table = Table(title=f"Round {found.round_number} ({round_id}) re-run")
        table.add_column("check")
        table.add_column("result")
        table.add_row(
            "algorithm",
            f"{found.algorithm.id} v{found.algorithm.version}"
            + ("" if found.algorithm_known else " (unknown to the audit)"),
        )
        table.add_row("inputs digest recorded", found.inputs_digest)
        table.add_row("inputs digest recomputed", found.recomputed_digest)
        table.add_row("same inputs", "yes" if found.digest_matches else "NO")
        table.add_row("same matching", "yes" if found.same_result else "NO")
        table.add_row("blocking pairs", str(found.blocking_pairs))
        for d in found.differences:
            table.add_row(
                "differs", f"{d['applicant_id']}: recorded {d['recorded']}, re-run {d['rerun']}"
            )
        console.print(table)
    raise typer.Exit(0 if found.confirmed else 1)


@cli.command()
def queue(cohort_id: str, as_of: str | None = AS_OF, as_json: bool = JSON) -> None:
    """The screening queue of a cohort as it was (each applicant's last step)."""
    entries = _ask(lambda audit: audit.screening_queue(cohort_id, _when(as_of)))
    if as_json:
        typer.echo(json.dumps([asdict(q) for q in entries], default=str, indent=2))
        return
    table = Table(title=f"Screening queue of {cohort_id}" + (f" as of {as_of}" if as_of else ""))
    for column in ("applicant", "step", "since (UTC)"):
        table.add_column(column)
    for q in entries:
        table.add_row(q.applicant_id, q.step, q.since.strftime("%Y-%m-%d %H:%M:%S"))
    console.print(table)


@cli.command()
def board(cohort_id: str, as_of: str | None = AS_OF, as_json: bool = JSON) -> None:
    """The matching board of a cohort as it was."""
    found = _ask(lambda audit: audit.matching_board(cohort_id, _when(as_of)))
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "candidates": [asdict(c) for c in found.candidates.values()],
                    "companies": [
                        {**asdict(c), "places_open": c.places_open}
                        for c in found.companies.values()
                    ],
                    "rounds": found.rounds,
                },
                default=str,
                indent=2,
            )
        )
        return
    table = Table(title=f"Matching board of {cohort_id}" + (f" as of {as_of}" if as_of else ""))
    for column in ("candidate", "status", "company", "declined by"):
        table.add_column(column)
    for c in found.candidates.values():
        table.add_row(c.applicant_id, c.status, c.company_id or "", ", ".join(c.declined_by))
    console.print(table)
    places = Table(title="Companies")
    for column in ("company", "capacity", "proposed", "confirmed", "open"):
        places.add_column(column)
    for co in found.companies.values():
        places.add_row(
            co.company_id,
            str(co.capacity),
            str(len(co.proposed)),
            str(len(co.confirmed)),
            str(co.places_open),
        )
    console.print(places)
