"""A stable matching of candidates with host companies, as a pure function.

The instance has the shape of the command line's input (`python -m services.matching
solve`): candidates, each with the hosts it ranks, best first; hosts, each with a
capacity and the candidates it ranks, best first. A pair is *acceptable* when each
lists the other; nobody is ever matched outside an acceptable pair.

`solve` runs candidate-proposing deferred acceptance (Gale and Shapley, with the
capacities of Roth's hospitals/residents problem) and returns the candidate-optimal
stable matching: no candidate and host would both rather have each other than what
they got, no host takes more than its capacity, and each candidate gets the best host
it can have in any stable matching. That matching is unique, so the result depends only
on the instance, never on the order in which proposals happen to be processed.

`check` is written apart from `solve` (its own join of the two sides, its own notion of
who prefers whom) so that it really checks a matching, ours or anybody's.

`input_digest` is the SHA-256 of a canonical JSON form of the instance: a round records
it beside `ALGORITHM` and `VERSION` so that an auditor holding the same instance can run
the same algorithm and get the same matching.

What is refused (`InvalidInstance`, naming the entry): a field missing, of the wrong
type or not expected; an id given to two candidates (or two hosts); a capacity below
zero; a preference naming an id the instance does not have; the same id twice in one
list (its rank would be ambiguous). The round that builds an instance leaves out whoever
is no longer in it, rather than the solver guessing that a name is stale.

National scale (100,000 candidates, 10,000 hosts, 10 to 20 preferences each) is solved
in well under a second: the ids are mapped to numbers once, then every round of
proposals is a handful of numpy operations over all the free candidates at once (see
`_defer_acceptance`).
"""

from __future__ import annotations

import hashlib
import json
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any, Final, TypedDict

import numpy as np
import numpy.typing as npt

from kernel.rules import RuleViolation

#: The algorithm a round records, with its version: a change that could alter any
#: result (not merely its speed) takes a new version.
ALGORITHM: Final = "deferred-acceptance/candidate-proposing"
VERSION: Final = 1

Ints = npt.NDArray[np.int64]


class CandidateEntry(TypedDict):
    """A candidate and the hosts they rank, best first."""

    id: str
    preferences: list[str]


class HostEntry(TypedDict):
    """A host company, how many interns it takes, and the candidates it ranks, best first."""

    id: str
    capacity: int
    preferences: list[str]


class Instance(TypedDict):
    """The input of a matching, exactly as the command line reads it."""

    candidates: list[CandidateEntry]
    hosts: list[HostEntry]


class InvalidInstance(RuleViolation):
    """The instance cannot be matched as given; `field` names the entry at fault, as a
    path into the JSON (e.g. `hosts[3].preferences[5]`)."""


@dataclass(frozen=True)
class Matching:
    """Who goes where. Both lists are sorted by candidate id, so that the same instance
    always gives the same matching, byte for byte."""

    #: (candidate id, host id) pairs.
    matches: tuple[tuple[str, str], ...]
    #: Candidates left without a host.
    unmatched_candidates: tuple[str, ...]


@dataclass(frozen=True)
class Check:
    """What is wrong with a matching of an instance; all zero for a stable one."""

    #: Acceptable pairs, not matched together, who both would rather have each other:
    #: the candidate is unmatched or prefers that host, and the host has a free place
    #: or prefers that candidate to one it holds.
    blocking_pairs: int
    #: Hosts holding more candidates than their capacity.
    capacity_violations: int
    #: Matched pairs that are not acceptable (one side does not list the other, or an
    #: id is not in the instance).
    unacceptable_matches: int
    #: Candidates matched more than once.
    candidates_matched_twice: int

    @property
    def stable(self) -> bool:
        return not (
            self.blocking_pairs
            or self.capacity_violations
            or self.unacceptable_matches
            or self.candidates_matched_twice
        )


# --- solving ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Numbered:
    """The instance with ids replaced by their positions in the input."""

    candidate_ids: list[str]
    host_ids: list[str]
    capacity: Ints
    #: Every candidate's preference entries, flattened in input order: whose, and which host.
    by_candidate: Ints
    candidate_choice: Ints
    #: The same for the hosts' lists, with the candidate's rank (0 is best).
    by_host: Ints
    host_choice: Ints
    host_rank: Ints


def solve(instance: Instance) -> Matching:
    """The candidate-optimal stable matching of `instance` (see the module's docstring).

    Raises `InvalidInstance` naming the first entry at fault."""
    numbered = _number(instance)
    held_by = _defer_acceptance(numbered)
    candidate_ids, host_ids = numbered.candidate_ids, numbered.host_ids
    by_id = np.array(sorted(range(len(candidate_ids)), key=candidate_ids.__getitem__), np.int64)
    matched = by_id[held_by[by_id] >= 0]
    unmatched = by_id[held_by[by_id] < 0]
    return Matching(
        matches=tuple(
            zip(
                map(candidate_ids.__getitem__, matched.tolist()),
                map(host_ids.__getitem__, held_by[matched].tolist()),
                strict=True,
            )
        ),
        unmatched_candidates=tuple(map(candidate_ids.__getitem__, unmatched.tolist())),
    )


def _defer_acceptance(instance: _Numbered) -> Ints:
    """For each candidate, the position of the host it ends with (-1 for none).

    Deferred acceptance in parallel rounds: in each round every free candidate who has an
    acceptable host left proposes to the next one on their list; each host keeps its
    best `capacity` among those it held and those who just proposed, by its own ranking,
    and rejects the rest, who become free. It ends when no free candidate has a host left
    to propose to. The order in which proposals are processed does not change the result
    (the candidate-optimal stable matching is unique), so processing a whole round at
    once gives the same matching as the textbook one-proposal-at-a-time loop.
    """
    n_candidates = len(instance.candidate_ids)
    n_hosts = len(instance.host_ids)
    held_by = np.full(n_candidates, -1, dtype=np.int64)
    if n_candidates == 0 or n_hosts == 0:
        return held_by

    # The acceptable pairs, as each candidate ranks them: a candidate's entry is kept when
    # the host lists that candidate too, and takes that host's rank of the candidate.
    # Pairs are numbered candidate * n_hosts + host and joined by a sorted search.
    host_side = instance.host_choice * n_hosts + instance.by_host
    by_key = np.argsort(host_side)
    host_keys = host_side[by_key]
    candidate_side = instance.by_candidate * n_hosts + instance.candidate_choice
    found = np.searchsorted(host_keys, candidate_side)
    found[found == host_keys.size] = 0
    acceptable = host_keys[found] == candidate_side if host_keys.size else found < 0
    option_host = instance.candidate_choice[acceptable]
    option_rank = instance.host_rank[by_key[found[acceptable]]]
    # Entries stay grouped by candidate in their order of preference: each candidate's
    # acceptable hosts are option_host[end[c] - options[c]:end[c]], best first.
    options = np.bincount(instance.by_candidate[acceptable], minlength=n_candidates)
    end = np.cumsum(options)
    next_option = end - options

    # The host's rank of the candidate it holds (meaningful where held_by >= 0).
    held_rank = np.zeros(n_candidates, dtype=np.int64)
    # Ranks are below the longest list, so host * span + rank orders by host then rank.
    span = int(instance.host_rank.max(initial=0)) + 1
    # A proposal can only succeed with a rank below its host's cutoff: anyone while the
    # host has a free place, then better than the worst it holds. Most proposals to a
    # full host are turned down here, without joining the sort below.
    cutoff = np.where(instance.capacity > 0, span, 0)
    touched = np.zeros(n_hosts, dtype=bool)
    free = np.flatnonzero(options > 0)
    while free.size:
        proposal = next_option[free]
        next_option[free] += 1
        to_host = option_host[proposal]
        rank = option_rank[proposal]
        hopeful = rank < cutoff[to_host]
        turned_down = free[~hopeful]
        free, to_host, rank = free[hopeful], to_host[hopeful], rank[hopeful]
        # Those already held by the hosts proposed to compete with the newcomers.
        touched[to_host] = True
        holding = np.flatnonzero(held_by >= 0)
        holding = holding[touched[held_by[holding]]]
        touched[to_host] = False
        who = np.concatenate((holding, free))
        where = np.concatenate((held_by[holding], to_host))
        how_good = np.concatenate((held_rank[holding], rank))
        order = np.argsort(where * span + how_good)
        who, where, how_good = who[order], where[order], how_good[order]
        # Position of each in its host's queue: 0 for the host's favourite among them.
        first_of_host = np.ones(where.size, dtype=bool)
        first_of_host[1:] = where[1:] != where[:-1]
        starts = np.flatnonzero(first_of_host)
        place = np.arange(where.size) - np.repeat(starts, np.diff(np.append(starts, where.size)))
        kept = place < instance.capacity[where]
        held_by[who[kept]] = where[kept]
        held_rank[who[kept]] = how_good[kept]
        last_place = place == instance.capacity[where] - 1
        cutoff[where[last_place]] = how_good[last_place]
        rejected = np.concatenate((who[~kept], turned_down))
        held_by[rejected] = -1
        free = rejected[next_option[rejected] < end[rejected]]
    return held_by


def _number(instance: Instance) -> _Numbered:
    """Map the ids to their positions, checking the instance on the way.

    The checks run fast over the whole instance at once and only say *that* something
    is wrong; `_explain` then walks the instance entry by entry to say *what*."""
    try:
        numbered = _number_quickly(instance)
    except (KeyError, TypeError, AttributeError, ValueError, OverflowError):
        numbered = None
    if numbered is None:
        _explain(instance)
        raise InvalidInstance("instance", "is not a valid matching instance")  # pragma: no cover
    return numbered


def _number_quickly(instance: Any) -> _Numbered | None:
    if not isinstance(instance, Mapping) or set(instance) != {"candidates", "hosts"}:
        return None
    candidates: list[Any] = instance["candidates"]
    hosts: list[Any] = instance["hosts"]
    if type(candidates) is not list or type(hosts) is not list:
        return None
    # Checked a whole list at a time (map runs in C): 100,000 entries in milliseconds.
    if not (_all_of_type(candidates, dict) and _all_of_type(hosts, dict)):
        return None
    # Exactly the fields expected: as many as expected, and each found below (a missing
    # one raises KeyError).
    if not (_all_of_length(candidates, len(_CANDIDATE_FIELDS))):
        return None
    if not (_all_of_length(hosts, len(_HOST_FIELDS))):
        return None
    candidate_ids = list(map(_ID, candidates))
    host_ids = list(map(_ID, hosts))
    capacities = list(map(_CAPACITY, hosts))
    candidate_lists = list(map(_PREFERENCES, candidates))
    host_lists = list(map(_PREFERENCES, hosts))
    if not (
        _all_of_type(candidate_ids, str)
        and _all_of_type(host_ids, str)
        and _all_of_type(capacities, int)
        and min(capacities, default=0) >= 0
        and _all_of_type(candidate_lists, list)
        and _all_of_type(host_lists, list)
    ):
        return None
    candidate_index = dict(zip(candidate_ids, range(len(candidate_ids)), strict=True))
    host_index = dict(zip(host_ids, range(len(host_ids)), strict=True))
    if len(candidate_index) != len(candidate_ids) or len(host_index) != len(host_ids):
        return None
    # An id that is not in the instance (or not a string) raises KeyError or TypeError.
    candidate_lengths = np.fromiter(map(len, candidate_lists), np.int64, len(candidate_lists))
    candidate_choice = _positions(host_index, candidate_lists, int(candidate_lengths.sum()))
    host_lengths = np.fromiter(map(len, host_lists), np.int64, len(host_lists))
    host_choice = _positions(candidate_index, host_lists, int(host_lengths.sum()))
    by_candidate = np.repeat(np.arange(len(candidate_ids), dtype=np.int64), candidate_lengths)
    by_host = np.repeat(np.arange(len(host_ids), dtype=np.int64), host_lengths)
    if _repeats(by_candidate, candidate_choice, len(host_ids)) or _repeats(
        by_host, host_choice, len(candidate_ids)
    ):
        return None
    starts = np.repeat(np.cumsum(host_lengths) - host_lengths, host_lengths)
    return _Numbered(
        candidate_ids=candidate_ids,
        host_ids=host_ids,
        capacity=np.array(capacities, dtype=np.int64),
        by_candidate=by_candidate,
        candidate_choice=candidate_choice,
        by_host=by_host,
        host_choice=host_choice,
        host_rank=np.arange(by_host.size, dtype=np.int64) - starts,
    )


_CANDIDATE_FIELDS: Final = {"id", "preferences"}
_HOST_FIELDS: Final = {"id", "capacity", "preferences"}
_ID: Final = operator.itemgetter("id")
_CAPACITY: Final = operator.itemgetter("capacity")
_PREFERENCES: Final = operator.itemgetter("preferences")


def _all_of_length(values: list[Any], length: int) -> bool:
    return set(map(len, values)) <= {length}


def _all_of_type(values: list[Any], kind: type) -> bool:
    """Is every value exactly of `kind` (not a subclass: True is not a capacity)?"""
    return set(map(type, values)) <= {kind}


def _positions(index: dict[str, int], lists: list[list[str]], count: int) -> Ints:
    return np.fromiter(map(index.__getitem__, chain.from_iterable(lists)), np.int64, count)


def _repeats(owner: Ints, choice: Ints, choices: int) -> bool:
    """Does any list name the same id twice?"""
    pairs = np.sort(owner * choices + choice)
    return bool(np.any(pairs[1:] == pairs[:-1]))


def _explain(instance: Any) -> None:
    """Raise `InvalidInstance` for the first entry at fault, in input order."""
    if not isinstance(instance, Mapping):
        raise InvalidInstance("instance", "must be an object with candidates and hosts")
    for name in instance:
        if name not in ("candidates", "hosts"):
            raise InvalidInstance(str(name), "is not expected (only candidates and hosts)")
    for name in ("candidates", "hosts"):
        if name not in instance:
            raise InvalidInstance(name, "is missing")
        if type(instance[name]) is not list:
            raise InvalidInstance(name, "must be a list")
    candidate_ids = _explain_entries(instance["candidates"], "candidates", _CANDIDATE_FIELDS)
    host_ids = _explain_entries(instance["hosts"], "hosts", _HOST_FIELDS)
    for i, host in enumerate(instance["hosts"]):
        capacity = host["capacity"]
        if type(capacity) is not int or capacity < 0:
            raise InvalidInstance(f"hosts[{i}].capacity", "must be a whole number, 0 or more")
    _explain_lists(instance["candidates"], "candidates", host_ids, "host")
    _explain_lists(instance["hosts"], "hosts", candidate_ids, "candidate")


def _explain_entries(entries: list[Any], side: str, fields: set[str]) -> set[str]:
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        where = f"{side}[{i}]"
        if type(entry) is not dict:
            raise InvalidInstance(where, f"must be an object with {', '.join(sorted(fields))}")
        for name in entry:
            if name not in fields:
                raise InvalidInstance(f"{where}.{name}", "is not expected")
        for name in sorted(fields):
            if name not in entry:
                raise InvalidInstance(f"{where}.{name}", "is missing")
        if type(entry["id"]) is not str:
            raise InvalidInstance(f"{where}.id", "must be a string")
        if entry["id"] in seen:
            raise InvalidInstance(f"{where}.id", f"{entry['id']!r} is given to two {side}")
        seen.add(entry["id"])
    return seen


def _explain_lists(entries: list[Any], side: str, known: set[str], other: str) -> None:
    for i, entry in enumerate(entries):
        where = f"{side}[{i}].preferences"
        preferences = entry["preferences"]
        if type(preferences) is not list:
            raise InvalidInstance(where, f"must be a list of {other} ids")
        listed: set[str] = set()
        for j, name in enumerate(preferences):
            if type(name) is not str:
                raise InvalidInstance(f"{where}[{j}]", f"must be a {other} id (a string)")
            if name not in known:
                raise InvalidInstance(f"{where}[{j}]", f"{name!r} is not a {other} here")
            if name in listed:
                raise InvalidInstance(f"{where}[{j}]", f"{name!r} is listed twice")
            listed.add(name)


# --- checking ----------------------------------------------------------------------


def check(instance: Instance, matches: Sequence[tuple[str, str]]) -> Check:
    """What is wrong with `matches` (candidate id, host id) as a matching of `instance`,
    which must be valid (as `solve` accepts it).

    Independent of `solve`: it joins the two sides by sorting both together, and judges
    each acceptable pair against what each side holds."""
    candidate_at = {c["id"]: i for i, c in enumerate(instance["candidates"])}
    host_at = {h["id"]: i for i, h in enumerate(instance["hosts"])}
    n_candidates, n_hosts = len(candidate_at), len(host_at)
    capacity = np.array([h["capacity"] for h in instance["hosts"]], dtype=np.int64)

    # Every listing as (candidate, host, rank given by the lister), from both sides.
    c_lists = [c["preferences"] for c in instance["candidates"]]
    h_lists = [h["preferences"] for h in instance["hosts"]]
    c_len = np.array([len(p) for p in c_lists], dtype=np.int64)
    h_len = np.array([len(p) for p in h_lists], dtype=np.int64)
    c_who = np.repeat(np.arange(n_candidates, dtype=np.int64), c_len)
    c_what = np.array([host_at[h] for h in chain.from_iterable(c_lists)], dtype=np.int64)
    c_rank = np.arange(c_who.size, dtype=np.int64) - np.repeat(np.cumsum(c_len) - c_len, c_len)
    h_who = np.repeat(np.arange(n_hosts, dtype=np.int64), h_len)
    h_what = np.array([candidate_at[c] for c in chain.from_iterable(h_lists)], dtype=np.int64)
    h_rank = np.arange(h_who.size, dtype=np.int64) - np.repeat(np.cumsum(h_len) - h_len, h_len)

    # A pair is acceptable when it is listed from both sides: sorted together by pair,
    # the two listings of an acceptable pair sit side by side (a list names an id once).
    pair = np.concatenate((c_who * n_hosts + c_what, h_what * n_hosts + h_who))
    from_host = np.concatenate((np.zeros(c_who.size, bool), np.ones(h_who.size, bool)))
    rank = np.concatenate((c_rank, h_rank))
    order = np.lexsort((from_host, pair))
    pair, from_host, rank = pair[order], from_host[order], rank[order]
    both = np.flatnonzero((pair[1:] == pair[:-1]) & ~from_host[:-1] & from_host[1:])
    acceptable = pair[both]
    rank_by_candidate, rank_by_host = rank[both], rank[both + 1]
    cand, host = acceptable // max(n_hosts, 1), acceptable % max(n_hosts, 1)

    # The matching, as the ranks each side gives its partners.
    worse_than_any = np.iinfo(np.int64).max
    times_matched = np.zeros(n_candidates, dtype=np.int64)
    held = np.zeros(n_hosts, dtype=np.int64)
    partner_rank = np.full(n_candidates, worse_than_any, dtype=np.int64)  # unmatched: any is better
    worst_held = np.full(n_hosts, -1, dtype=np.int64)  # nobody held: nobody is worse
    matched_pairs = set()
    unacceptable = 0
    acceptable_at = {int(k): i for i, k in enumerate(acceptable.tolist())}
    for candidate_id, host_id in matches:
        c, h = candidate_at.get(candidate_id), host_at.get(host_id)
        if c is None or h is None:
            unacceptable += 1
            continue
        times_matched[c] += 1
        held[h] += 1
        matched_pairs.add(c * n_hosts + h)
        i = acceptable_at.get(c * n_hosts + h)
        if i is None:
            unacceptable += 1
            # Held outside the lists: the host would rather have anyone it listed.
            worst_held[h] = worse_than_any
            continue
        partner_rank[c] = min(int(partner_rank[c]), int(rank_by_candidate[i]))
        worst_held[h] = max(int(worst_held[h]), int(rank_by_host[i]))

    not_together = ~np.isin(acceptable, np.fromiter(matched_pairs, np.int64, len(matched_pairs)))
    candidate_wants = rank_by_candidate < partner_rank[cand]
    host_wants = (held[host] < capacity[host]) | (rank_by_host < worst_held[host])
    return Check(
        blocking_pairs=int(np.count_nonzero(not_together & candidate_wants & host_wants)),
        capacity_violations=int(np.count_nonzero(held > capacity)),
        unacceptable_matches=unacceptable,
        candidates_matched_twice=int(np.count_nonzero(times_matched > 1)),
    )


# --- the digest --------------------------------------------------------------------


def canonical_json(instance: Instance) -> bytes:
    """The instance in one canonical JSON form: candidates and hosts sorted by id (their
    order in the input does not change the matching), each list of preferences in its
    own order, keys sorted, no spaces, non-ASCII characters escaped."""
    candidates = sorted(instance["candidates"], key=lambda c: c["id"])
    hosts = sorted(instance["hosts"], key=lambda h: h["id"])
    canonical = {
        "candidates": [{"id": c["id"], "preferences": c["preferences"]} for c in candidates],
        "hosts": [
            {"id": h["id"], "capacity": h["capacity"], "preferences": h["preferences"]}
            for h in hosts
        ],
    }
    # ASCII, with \u escapes: any string JSON can carry has exactly one such form.
    return json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode("ascii")


def input_digest(instance: Instance) -> str:
    """`sha256:<hex>` of `canonical_json(instance)`: what a round records so that the
    instance it matched can be recognised later."""
    return "sha256:" + hashlib.sha256(canonical_json(instance)).hexdigest()
