"""The stable matching, as an auditor would check it: on random instances (unequal list
lengths, pairs acceptable to one side only, capacities above one) it is the same as the
textbook algorithm run one proposal at a time, nobody would break it, no host takes more
than it can, and the same instance always gives the same answer and the same digest."""

from __future__ import annotations

import random
from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.matching.domain.stable_matching import (
    ALGORITHM,
    VERSION,
    InvalidInstance,
    canonical_json,
    check,
    input_digest,
    solve,
)


def reference(instance):
    """Candidate-proposing deferred acceptance, one proposal at a time, as in the
    textbooks: the matching `solve` must reproduce exactly. {candidate: host}."""
    hosts = {h["id"]: h for h in instance["hosts"]}
    rank = {h["id"]: {c: r for r, c in enumerate(h["preferences"])} for h in instance["hosts"]}
    options = {
        c["id"]: [h for h in c["preferences"] if c["id"] in rank[h]] for c in instance["candidates"]
    }
    next_choice = dict.fromkeys(options, 0)
    held: dict[str, list[str]] = {h: [] for h in hosts}
    free = deque(c["id"] for c in instance["candidates"])
    while free:
        candidate = free.popleft()
        if next_choice[candidate] == len(options[candidate]):
            continue
        host = options[candidate][next_choice[candidate]]
        next_choice[candidate] += 1
        held[host].append(candidate)
        held[host].sort(key=rank[host].__getitem__)
        if len(held[host]) > hosts[host]["capacity"]:
            free.append(held[host].pop())
    return {c: h for h, cs in held.items() for c in cs}


@st.composite
def instances(draw, max_candidates=9, max_hosts=6):
    """Random instances: each side lists any subset of the other in any order, so list
    lengths differ and many listings are not returned; capacities from 0 to 3."""
    candidates = [f"c{i}" for i in range(draw(st.integers(0, max_candidates)))]
    hosts = [f"h{i}" for i in range(draw(st.integers(0, max_hosts)))]

    def ranked(of):
        chosen = draw(st.permutations(of))
        return chosen[: draw(st.integers(0, len(chosen)))]

    return {
        "candidates": [{"id": c, "preferences": ranked(hosts)} for c in candidates],
        "hosts": [
            {"id": h, "capacity": draw(st.integers(0, 3)), "preferences": ranked(candidates)}
            for h in hosts
        ],
    }


def blocking_pairs_by_hand(instance, matches):
    """Every acceptable pair checked one by one: the definition, for testing `check`."""
    host_of = dict(matches)
    held: dict[str, list[str]] = {}
    for c, h in matches:
        held.setdefault(h, []).append(c)
    count = 0
    for host in instance["hosts"]:
        for c in host["preferences"]:
            candidate = next(x for x in instance["candidates"] if x["id"] == c)
            prefs = candidate["preferences"]
            if host["id"] not in prefs or host_of.get(c) == host["id"]:
                continue
            mine = host_of.get(c)
            candidate_wants = mine is None or prefs.index(host["id"]) < prefs.index(mine)
            holding = held.get(host["id"], [])
            host_wants = len(holding) < host["capacity"] or any(
                host["preferences"].index(c) < host["preferences"].index(x) for x in holding
            )
            count += candidate_wants and host_wants
    return count


@settings(max_examples=400, deadline=None)
@given(instances())
def test_the_matching_is_the_textbook_candidate_optimal_one(instance):
    matching = solve(instance)

    assert dict(matching.matches) == reference(instance)
    matched = {c for c, _ in matching.matches}
    assert set(matching.unmatched_candidates) == {c["id"] for c in instance["candidates"]} - matched


@settings(max_examples=300, deadline=None)
@given(instances())
def test_nobody_would_break_the_matching_and_no_host_takes_more_than_it_can(instance):
    matching = solve(instance)

    verdict = check(instance, matching.matches)
    assert verdict.blocking_pairs == 0
    assert verdict.capacity_violations == 0
    assert verdict.unacceptable_matches == 0 and verdict.candidates_matched_twice == 0
    assert verdict.stable
    acceptable = {
        (c["id"], h["id"])
        for c in instance["candidates"]
        for h in instance["hosts"]
        if h["id"] in c["preferences"] and c["id"] in h["preferences"]
    }
    assert set(matching.matches) <= acceptable


@settings(max_examples=200, deadline=None)
@given(instances(), st.randoms(use_true_random=False))
def test_the_same_instance_in_any_order_gives_the_same_matching_and_digest(instance, rnd):
    shuffled = {
        "hosts": rnd.sample(instance["hosts"], len(instance["hosts"])),
        "candidates": rnd.sample(instance["candidates"], len(instance["candidates"])),
    }

    assert solve(shuffled) == solve(instance) == solve(instance)
    assert input_digest(shuffled) == input_digest(instance)


@settings(max_examples=300, deadline=None)
@given(instances(), st.randoms(use_true_random=False))
def test_the_checker_counts_what_breaks_any_matching(instance, rnd):
    # Any assignment at all, within the lists or not, capacities or not.
    hosts = [h["id"] for h in instance["hosts"]]
    matches = [
        (c["id"], rnd.choice(hosts)) for c in instance["candidates"] if hosts and rnd.random() < 0.7
    ]
    listed = {
        (c["id"], h["id"])
        for c in instance["candidates"]
        for h in instance["hosts"]
        if h["id"] in c["preferences"] and c["id"] in h["preferences"]
    }
    acceptable_only = [m for m in matches if m in listed]

    verdict = check(instance, acceptable_only)

    assert verdict.blocking_pairs == blocking_pairs_by_hand(instance, acceptable_only)
    capacity = {h["id"]: h["capacity"] for h in instance["hosts"]}
    over = sum(1 for h in capacity if sum(1 for _, x in acceptable_only if x == h) > capacity[h])
    assert verdict.capacity_violations == over
    assert check(instance, matches).unacceptable_matches == len(matches) - len(acceptable_only)


def test_the_issues_example():
    instance = {
        "candidates": [
            {"id": "c1", "preferences": ["h1", "h2"]},
            {"id": "c2", "preferences": ["h1"]},
        ],
        "hosts": [
            {"id": "h1", "capacity": 1, "preferences": ["c1", "c2"]},
            {"id": "h2", "capacity": 1, "preferences": []},
        ],
    }

    matching = solve(instance)

    assert matching.matches == (("c1", "h1"),)
    assert matching.unmatched_candidates == ("c2",)


def test_a_pair_listed_by_one_side_only_is_never_matched_even_with_places_free():
    instance = {
        "candidates": [{"id": "c1", "preferences": ["h1"]}, {"id": "c2", "preferences": []}],
        "hosts": [{"id": "h1", "capacity": 5, "preferences": ["c2"]}],
    }

    assert solve(instance).matches == ()
    assert check(instance, [("c1", "h1")]).unacceptable_matches == 1


def test_a_host_with_several_places_keeps_its_best_and_the_candidates_get_their_best():
    instance = {
        "candidates": [
            {"id": "ana", "preferences": ["big", "small"]},
            {"id": "bo", "preferences": ["big", "small"]},
            {"id": "cy", "preferences": ["big", "small"]},
            {"id": "di", "preferences": ["small", "big"]},
        ],
        "hosts": [
            {"id": "big", "capacity": 2, "preferences": ["cy", "di", "ana", "bo"]},
            {"id": "small", "capacity": 1, "preferences": ["ana", "bo", "cy", "di"]},
        ],
    }

    matching = solve(instance)

    # small prefers bo to di, so di goes to big, who then drops ana; ana displaces bo
    # at small; bo has nowhere left.
    assert matching.matches == (("ana", "small"), ("cy", "big"), ("di", "big"))
    assert matching.unmatched_candidates == ("bo",)
    assert check(instance, matching.matches).stable


def test_an_empty_instance_and_a_host_without_places_match_nobody():
    assert solve({"candidates": [], "hosts": []}).matches == ()
    closed = {
        "candidates": [{"id": "c1", "preferences": ["h1"]}],
        "hosts": [{"id": "h1", "capacity": 0, "preferences": ["c1"]}],
    }
    assert solve(closed).unmatched_candidates == ("c1",)
    assert check(closed, []).blocking_pairs == 0


def test_the_checker_finds_a_blocking_pair_and_a_host_over_capacity():
    instance = {
        "candidates": [{"id": "c1", "preferences": ["h1"]}, {"id": "c2", "preferences": ["h1"]}],
        "hosts": [{"id": "h1", "capacity": 1, "preferences": ["c1", "c2"]}],
    }

    assert check(instance, [("c2", "h1")]).blocking_pairs == 1  # h1 and c1 prefer each other
    assert check(instance, [("c1", "h1"), ("c2", "h1")]).capacity_violations == 1
    assert check(instance, []).blocking_pairs == 2
    assert check(instance, [("c1", "h1"), ("c1", "h1")]).candidates_matched_twice == 1


def test_a_large_random_instance_is_stable_and_equal_to_the_textbook_matching():
    rng = random.Random(7)
    hosts = [f"h{i}" for i in range(300)]
    candidates = [f"c{i}" for i in range(3000)]
    applied: dict[str, list[str]] = {h: [] for h in hosts}
    instance = {"candidates": [], "hosts": []}
    for c in candidates:
        chosen = rng.sample(hosts, rng.randint(1, 12))
        instance["candidates"].append({"id": c, "preferences": chosen})
        for h in chosen:
            applied[h].append(c)
    for h in hosts:
        ranked = rng.sample(applied[h], min(len(applied[h]), rng.randint(5, 40)))
        ranked += rng.sample(candidates, 3)  # some who never applied
        ranked = list(dict.fromkeys(ranked))
        instance["hosts"].append({"id": h, "capacity": rng.randint(1, 4), "preferences": ranked})

    matching = solve(instance)

    assert dict(matching.matches) == reference(instance)
    assert check(instance, matching.matches).stable


def test_the_digest_names_the_instance_and_the_algorithm_its_version():
    one = {
        "candidates": [{"id": "c1", "preferences": ["h1", "h2"]}],
        "hosts": [
            {"id": "h1", "capacity": 1, "preferences": ["c1"]},
            {"id": "h2", "capacity": 1, "preferences": ["c1"]},
        ],
    }
    other_order = {
        "candidates": [{"id": "c1", "preferences": ["h2", "h1"]}],
        "hosts": one["hosts"],
    }

    # Recorded in rounds' events: a change of the canonical form breaks every audit.
    assert canonical_json(one) == (
        b'{"candidates":[{"id":"c1","preferences":["h1","h2"]}],"hosts":['
        b'{"capacity":1,"id":"h1","preferences":["c1"]},'
        b'{"capacity":1,"id":"h2","preferences":["c1"]}]}'
    )
    assert input_digest(one) == (
        "sha256:5b7cd78aa41cbb1f9dd4a91aa9cc2de6f8f43f6ec5eeff9465a992aef37d42e1"
    )
    assert input_digest(one) != input_digest(other_order)  # a ranking is part of it
    assert ALGORITHM == "deferred-acceptance/candidate-proposing" and VERSION == 1


def test_ids_in_any_script_are_matched_and_digested():
    instance = {
        "candidates": [{"id": "候補者", "preferences": ["株式会社"]}],
        "hosts": [{"id": "株式会社", "capacity": 1, "preferences": ["候補者"]}],
    }

    assert solve(instance).matches == (("候補者", "株式会社"),)
    assert canonical_json(instance).isascii()
    assert input_digest(instance).startswith("sha256:")


def valid():
    return {
        "candidates": [{"id": "c1", "preferences": ["h1"]}, {"id": "c2", "preferences": []}],
        "hosts": [{"id": "h1", "capacity": 1, "preferences": ["c2", "c1"]}],
    }


def broken(change):
    instance = valid()
    change(instance)
    return instance


@pytest.mark.parametrize(
    ("instance", "field", "reason"),
    [
        ([], "instance", "must be an object"),
        ({"candidates": []}, "hosts", "is missing"),
        ({**valid(), "rounds": 2}, "rounds", "is not expected"),
        ({**valid(), "hosts": {}}, "hosts", "must be a list"),
        (broken(lambda i: i["candidates"].append("c3")), "candidates[2]", "must be an object"),
        (broken(lambda i: i["candidates"][1].pop("id")), "candidates[1].id", "is missing"),
        (broken(lambda i: i["hosts"][0].update(rank=1)), "hosts[0].rank", "is not expected"),
        (broken(lambda i: i["candidates"][1].update(id=2)), "candidates[1].id", "a string"),
        (broken(lambda i: i["candidates"][1].update(id="c1")), "candidates[1].id", "two"),
        (broken(lambda i: i["hosts"][0].update(capacity=-1)), "hosts[0].capacity", "0 or more"),
        (broken(lambda i: i["hosts"][0].update(capacity=True)), "hosts[0].capacity", "whole"),
        (broken(lambda i: i["hosts"][0].update(capacity=1.5)), "hosts[0].capacity", "whole"),
        (
            broken(lambda i: i["candidates"][0].update(preferences="h1")),
            "candidates[0].preferences",
            "list",
        ),
        (
            broken(lambda i: i["candidates"][0].update(preferences=["h9"])),
            "candidates[0].preferences[0]",
            "'h9' is not a host",
        ),
        (
            broken(lambda i: i["hosts"][0].update(preferences=["c1", "c3"])),
            "hosts[0].preferences[1]",
            "'c3' is not a candidate",
        ),
        (
            broken(lambda i: i["hosts"][0].update(preferences=["c1", 3])),
            "hosts[0].preferences[1]",
            "a string",
        ),
        (
            broken(lambda i: i["hosts"][0].update(preferences=["c1", ["c2"]])),
            "hosts[0].preferences[1]",
            "a string",
        ),
        (
            broken(lambda i: i["candidates"][0].update(preferences=["h1", "h1"])),
            "candidates[0].preferences[1]",
            "listed twice",
        ),
        (
            broken(lambda i: i["hosts"][0].update(preferences=["c2", "c1", "c2"])),
            "hosts[0].preferences[2]",
            "listed twice",
        ),
    ],
)
def test_an_instance_that_cannot_be_matched_is_refused_naming_the_entry(instance, field, reason):
    with pytest.raises(InvalidInstance) as refused:
        solve(instance)

    assert refused.value.field == field
    assert reason in refused.value.reason
