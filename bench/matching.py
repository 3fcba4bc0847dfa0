"""The stable matching at national scale (issue 9), beside the `matching` package from
PyPI on the same instances. No stack: the solver is a pure function.

Instances: every candidate ranks 10 to 20 hosts drawn at random; every host ranks 10 to
20 of the candidates who ranked it (all of them when fewer did), in random order, so
each host listing is an acceptable pair; a host takes 1 intern (3 in 5), 2 or 3. The
solver is timed on a freshly parsed copy of the JSON each time (as the command line
gets it: no id's hash computed yet), the best and the median of the repetitions kept.
"""

from __future__ import annotations

import heapq
import json
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any

from bench import ui
from bench.results import REPO_ROOT, Figure
from services.matching.domain.stable_matching import (
    ALGORITHM,
    VERSION,
    Instance,
    check,
    input_digest,
    solve,
)

#: (candidates, hosts): the national scale of the issue, and the size the package is
#: compared at (it needs seconds to about 30 s there; at national scale, hours: building
#: its game checks every hospital against every resident).
NATIONAL = (100_000, 10_000)
COMPARED = (10_000, 1_000)
COMPARED_QUICK = (2_000, 200)


def an_instance(candidates: int, hosts: int, seed: int, every_applicant: bool = False) -> Instance:
    """A random instance (see the module's docstring); with `every_applicant`, each host
    ranks all who ranked it (about 150 each at national scale), a harder instance."""
    rng = random.Random(seed)
    host_ids = [f"h{i}" for i in range(hosts)]
    applied: list[list[int]] = [[] for _ in range(hosts)]
    ranked = []
    for c in range(candidates):
        chosen = rng.sample(range(hosts), min(hosts, rng.randint(10, 20)))
        ranked.append({"id": f"c{c}", "preferences": [host_ids[h] for h in chosen]})
        for h in chosen:
            applied[h].append(c)
    offering = []
    for h in range(hosts):
        pool = applied[h]
        size = len(pool) if every_applicant else min(len(pool), rng.randint(10, 20))
        listed = rng.sample(pool, size)
        capacity = rng.choice((1, 1, 1, 2, 3))
        offering.append(
            {"id": host_ids[h], "capacity": capacity, "preferences": [f"c{c}" for c in listed]}
        )
    return {"candidates": ranked, "hosts": offering}  # type: ignore[typeddict-item]


def time_solver(text: str, repeat: int) -> tuple[list[float], list[float], Any]:
    """Wall and CPU seconds of `solve` on `repeat` fresh parses of `text`."""
    walls, cpus = [], []
    matching = None
    for _ in range(repeat):
        instance = json.loads(text)
        wall, cpu = time.perf_counter(), time.process_time()
        matching = solve(instance)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return walls, cpus, matching


def package_matching(instance: Instance) -> tuple[dict[str, str], float, float]:
    """The `matching` package's resident-optimal matching of the same instance:
    {candidate: host}, the seconds to build its game and to solve it.

    The package wants hospitals to rank exactly the residents who rank them, so it gets
    the acceptable pairs only (the same game: other listings can never be matched);
    residents with none are left out (it would fail on an empty list; they stay
    unmatched anyway). Its game deep-copies the players, which recurses through their
    preference lists: the recursion limit is raised, and it runs in a thread with a
    large stack so that the deep recursion cannot overflow the C stack."""
    listed_by = {h["id"]: set(h["preferences"]) for h in instance["hosts"]}
    resident_prefs = {
        c["id"]: [h for h in c["preferences"] if c["id"] in listed_by[h]]
        for c in instance["candidates"]
    }
    resident_prefs = {c: hs for c, hs in resident_prefs.items() if hs}
    applied = {h["id"]: set() for h in instance["hosts"]}  # type: ignore[var-annotated]
    for c, hs in resident_prefs.items():
        for h in hs:
            applied[h].add(c)
    hospital_prefs = {
        h["id"]: [c for c in h["preferences"] if c in applied[h["id"]]] for h in instance["hosts"]
    }
    capacities = {h["id"]: h["capacity"] for h in instance["hosts"]}
    outcome: dict[str, Any] = {}

    def run() -> None:
        from matching.games import HospitalResident

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            started = time.perf_counter()
            game = HospitalResident.create_from_dictionaries(
                resident_prefs, hospital_prefs, capacities
            )
            built = time.perf_counter()
            solved = game.solve(optimal="resident")
            outcome["seconds"] = (built - started, time.perf_counter() - built)
        outcome["matching"] = {
            resident.name: hospital.name
            for hospital, residents in solved.items()
            for resident in residents
        }

    limit = sys.getrecursionlimit()
    stack = threading.stack_size()
    sys.setrecursionlimit(1_000_000)
    threading.stack_size(1 << 30)
    try:
        worker = threading.Thread(target=run, name="matching-package")
        worker.start()
        worker.join()
    finally:
        threading.stack_size(stack)
        sys.setrecursionlimit(limit)
    build, solve_seconds = outcome["seconds"]
    return outcome["matching"], build, solve_seconds


def textbook_matching(instance: Instance) -> dict[str, str]:
    """Candidate-proposing deferred acceptance one proposal at a time, in plain Python
    (each host keeps a heap of those it holds, worst on top): the matching the solver
    must give, at a scale the package cannot reach. {candidate: host}."""
    rank = {h["id"]: {c: r for r, c in enumerate(h["preferences"])} for h in instance["hosts"]}
    capacity = {h["id"]: h["capacity"] for h in instance["hosts"]}
    options = {
        c["id"]: [h for h in c["preferences"] if c["id"] in rank[h]] for c in instance["candidates"]
    }
    next_choice = dict.fromkeys(options, 0)
    held: dict[str, list[tuple[int, str]]] = {h: [] for h in capacity}
    free = [c for c, hs in options.items() if hs]
    while free:
        candidate = free.pop()
        choice = next_choice[candidate]
        if choice == len(options[candidate]):
            continue
        next_choice[candidate] = choice + 1
        host = options[candidate][choice]
        heapq.heappush(held[host], (-rank[host][candidate], candidate))
        if len(held[host]) > capacity[host]:
            free.append(heapq.heappop(held[host])[1])
    return {c: h for h, queue in held.items() for _, c in queue}


def command_line_seconds(text: str) -> float:
    """Wall seconds of `python -m services.matching solve < instance.json`, start to end
    (the interpreter, the imports, parsing, solving, checking, writing)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
        file.write(text)
    path = Path(file.name)
    try:
        with path.open("rb") as stdin:
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "services.matching", "solve"],
                stdin=stdin,
                capture_output=True,
                cwd=REPO_ROOT,
                check=True,
            )
            seconds = time.perf_counter() - started
        result = json.loads(done.stdout)
        assert result["blocking_pairs"] == 0 and result["capacity_violations"] == 0
        return seconds
    finally:
        path.unlink()


def _label(size: tuple[int, int]) -> str:
    return f"{size[0]:,} x {size[1]:,}"


def run(quick: bool = False) -> list[Figure]:
    figures: list[Figure] = []
    repeat = 3 if quick else 7

    # National scale: ours alone (the package would need hours).
    ui.console.print(f"[bold]matching[/] generating {_label(NATIONAL)} …")
    national = an_instance(*NATIONAL, seed=9)
    text = json.dumps(national)
    walls, cpus, matching = time_solver(text, repeat)
    started = time.perf_counter()
    verdict = check(national, matching.matches)
    check_seconds = time.perf_counter() - started
    assert verdict.stable, verdict
    started = time.perf_counter()
    digest = input_digest(national)
    digest_seconds = time.perf_counter() - started
    acceptable = sum(len(h["preferences"]) for h in national["hosts"])
    started = time.perf_counter()
    textbook = textbook_matching(national)
    textbook_seconds = time.perf_counter() - started
    same = textbook == dict(matching.matches)
    figures.append(
        Figure(
            "matching",
            f"solve, {_label(NATIONAL)}",
            statistics.median(walls),
            "s",
            limit="textbook deferred acceptance in plain Python, same instance",
            limit_value=textbook_seconds,
            target="< 1 s, same matching",
            details={
                "same_matching_as_textbook": same,
                "summary": f"best {min(walls):.2f} s, CPU {statistics.median(cpus):.2f} s; "
                f"check {check_seconds:.2f} s, digest {digest_seconds:.2f} s; "
                f"same matching as the textbook loop: {'yes' if same else 'NO'}",
                "wall_seconds": [round(s, 3) for s in walls],
                "cpu_seconds": [round(s, 3) for s in cpus],
                "check_seconds": round(check_seconds, 3),
                "digest_seconds": round(digest_seconds, 3),
                "matched": len(matching.matches),
                "places": sum(h["capacity"] for h in national["hosts"]),
                "acceptable_pairs": acceptable,
                "candidate_listings": sum(len(c["preferences"]) for c in national["candidates"]),
                "blocking_pairs": verdict.blocking_pairs,
                "capacity_violations": verdict.capacity_violations,
                "algorithm": f"{ALGORITHM} v{VERSION}",
                "input_digest": digest,
            },
        )
    )
    ui.say("matching", f"solve {_label(NATIONAL)}: {statistics.median(walls):.2f} s", sum(walls))
    cli_seconds = command_line_seconds(text)
    figures.append(
        Figure(
            "matching",
            f"python -m services.matching solve, {_label(NATIONAL)}",
            cli_seconds,
            "s",
            details={
                "summary": "start to end: interpreter, imports, parse, solve, check, write",
                "input_megabytes": round(len(text) / 1e6, 1),
            },
        )
    )
    ui.say("matching", "the command line", cli_seconds)

    harder = an_instance(*NATIONAL, seed=9, every_applicant=True)
    walls, cpus, matching = time_solver(json.dumps(harder), max(repeat // 2, 1))
    started = time.perf_counter()
    same = textbook_matching(harder) == dict(matching.matches)
    textbook_seconds = time.perf_counter() - started
    figures.append(
        Figure(
            "matching",
            f"solve, {_label(NATIONAL)}, hosts ranking all who applied",
            statistics.median(walls),
            "s",
            limit="textbook deferred acceptance in plain Python, same instance",
            limit_value=textbook_seconds,
            details={
                "same_matching_as_textbook": same,
                "summary": f"CPU {statistics.median(cpus):.2f} s; "
                f"{sum(len(h['preferences']) for h in harder['hosts']):,} acceptable pairs; "
                f"same matching as the textbook loop: {'yes' if same else 'NO'}",
                "wall_seconds": [round(s, 3) for s in walls],
                "cpu_seconds": [round(s, 3) for s in cpus],
                "matched": len(matching.matches),
            },
        )
    )
    ui.say("matching", "hosts ranking all who applied", sum(walls))
    del national, harder, text

    # Beside the package, on the same instances: hosts ranking 10 to 20, and hosts
    # ranking all who applied (the package's time then comes close to the 29 s).
    size = COMPARED_QUICK if quick else COMPARED
    for every_applicant in (False, True):
        instance = an_instance(*size, seed=10, every_applicant=every_applicant)
        walls, cpus, matching = time_solver(json.dumps(instance), repeat)
        ours = statistics.median(walls)
        hosts_rank = "all who applied" if every_applicant else "10 to 20"
        ui.console.print(f"[bold]matching[/] the matching package on {_label(size)} …")
        theirs, build, solve_seconds = package_matching(instance)
        same = theirs == dict(matching.matches)
        figures.append(
            Figure(
                "matching",
                f"solve, {_label(size)}, hosts ranking {hosts_rank}",
                ours,
                "s",
                limit="matching package (PyPI), same instance",
                limit_value=build + solve_seconds,
                target="≤ 1/100 of the package's, same matching",
                details={
                    "summary": f"package {build:.1f} s to build its game + "
                    f"{solve_seconds:.1f} s to solve; {(build + solve_seconds) / ours:,.0f}x "
                    f"faster; same matching: {'yes' if same else 'NO'}",
                    "wall_seconds": [round(s, 3) for s in walls],
                    "cpu_seconds": [round(s, 3) for s in cpus],
                    "package_build_seconds": round(build, 3),
                    "package_solve_seconds": round(solve_seconds, 3),
                    "same_matching": same,
                    "matched": len(matching.matches),
                    "acceptable_pairs": sum(len(h["preferences"]) for h in instance["hosts"]),
                },
            )
        )
        ui.say(
            "matching",
            f"package on {_label(size)}, hosts ranking {hosts_rank} (same matching: {same})",
            build + solve_seconds,
        )
    return figures
