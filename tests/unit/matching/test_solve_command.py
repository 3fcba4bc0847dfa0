"""`python -m services.matching solve`, run as a user runs it (nothing else needs to be
running): JSON in, JSON out, and a bad instance explained on standard error."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def run_solve(stdin: bytes, hash_seed: str = "0") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "services.matching", "solve"],
        input=stdin,
        cwd=ROOT,
        env={**os.environ, "PYTHONHASHSEED": hash_seed},
        capture_output=True,
        timeout=120,
        check=False,
    )


def test_an_instance_on_stdin_gives_its_stable_matching_on_stdout():
    instance = {
        "candidates": [
            {"id": "c1", "preferences": ["h1", "h2"]},
            {"id": "c2", "preferences": ["h1"]},
            {"id": "c3", "preferences": ["h1", "h2"]},
        ],
        "hosts": [
            {"id": "h1", "capacity": 2, "preferences": ["c3", "c2", "c1"]},
            {"id": "h2", "capacity": 1, "preferences": ["c1"]},
        ],
    }

    done = run_solve(json.dumps(instance).encode())

    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout) == {
        "matches": [
            {"candidate": "c1", "host": "h2"},
            {"candidate": "c2", "host": "h1"},
            {"candidate": "c3", "host": "h1"},
        ],
        "unmatched_candidates": [],
        "blocking_pairs": 0,
        "capacity_violations": 0,
    }


def test_the_issues_example_leaves_the_candidate_no_host_wants_unmatched():
    instance = {
        "candidates": [{"id": "c1", "preferences": ["h1"]}, {"id": "c2", "preferences": ["h1"]}],
        "hosts": [{"id": "h1", "capacity": 1, "preferences": ["c1", "c2"]}],
    }

    done = run_solve(json.dumps(instance).encode())

    assert json.loads(done.stdout) == {
        "matches": [{"candidate": "c1", "host": "h1"}],
        "unmatched_candidates": ["c2"],
        "blocking_pairs": 0,
        "capacity_violations": 0,
    }


def test_two_runs_give_the_same_bytes_whatever_the_order_of_python_sets_and_dicts():
    rng = random.Random(3)
    hosts = [f"h{i}" for i in range(40)]
    candidates = [f"c{i}" for i in range(400)]
    instance = {
        "candidates": [{"id": c, "preferences": rng.sample(hosts, 8)} for c in candidates],
        "hosts": [
            {"id": h, "capacity": rng.randint(1, 3), "preferences": rng.sample(candidates, 60)}
            for h in hosts
        ],
    }
    text = json.dumps(instance).encode()

    # Another hash seed gives sets and dicts of strings another iteration order.
    first, second = run_solve(text, hash_seed="1"), run_solve(text, hash_seed="2")

    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout
    assert json.loads(first.stdout)["matches"]


def test_a_bad_instance_is_explained_on_stderr_with_exit_code_2_and_nothing_on_stdout():
    unknown_host = {"candidates": [{"id": "c1", "preferences": ["h9"]}], "hosts": []}

    done = run_solve(json.dumps(unknown_host).encode())

    assert done.returncode == 2
    assert done.stdout == b""
    assert done.stderr.decode().strip() == "candidates[0].preferences[0]: 'h9' is not a host here"


def test_input_that_is_not_json_is_refused_the_same_way():
    done = run_solve(b'{"candidates": [')

    assert done.returncode == 2
    assert done.stdout == b""
    assert done.stderr.decode().startswith("instance: is not JSON")
