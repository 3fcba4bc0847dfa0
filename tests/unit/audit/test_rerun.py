"""The audit's re-run of a matching round, written apart from matching's solver, agrees
with it on every instance, recomputes its digest, and tells a tampered round apart."""

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from services.audit.domain.rerun import blocking_pairs, deferred_acceptance, rerun_round
from services.matching.domain import stable_matching


@st.composite
def instances(draw: st.DrawFn) -> dict:
    candidates = [str(uuid.UUID(int=i + 1)) for i in range(draw(st.integers(0, 12)))]
    hosts = [str(uuid.UUID(int=1000 + i)) for i in range(draw(st.integers(0, 6)))]
    return {
        "candidates": [
            {
                "id": c,
                "preferences": draw(
                    st.permutations(hosts).map(lambda p: p[: draw(st.integers(0, len(p)))])
                ),
            }
            for c in candidates
        ],
        "hosts": [
            {
                "id": h,
                "capacity": draw(st.integers(0, 3)),
                "preferences": draw(
                    st.permutations(candidates).map(lambda p: p[: draw(st.integers(0, len(p)))])
                ),
            }
            for h in hosts
        ],
    }


@settings(max_examples=300, deadline=None)
@given(instances())
def test_the_audits_deferred_acceptance_finds_the_matching_that_matching_found(instance):
    theirs = dict(stable_matching.solve(instance).matches)
    ours = deferred_acceptance(instance)
    assert ours == theirs
    assert blocking_pairs(instance, ours) == 0


def a_round(instance: dict) -> dict:
    matches = stable_matching.solve(instance).matches
    return {
        "round_id": str(uuid.uuid4()),
        "round_number": 1,
        "algorithm": {"id": stable_matching.ALGORITHM, "version": stable_matching.VERSION},
        "inputs_digest": stable_matching.input_digest(instance),
        "inputs": instance,
        "matches": [{"applicant_id": c, "company_id": h, "course": "B"} for c, h in matches],
    }


ANA, BEN, CHO = (str(uuid.UUID(int=i)) for i in (1, 2, 3))
TOKYO, OSAKA = (str(uuid.UUID(int=100 + i)) for i in (1, 2))
INSTANCE = {
    "candidates": [
        {"id": ANA, "preferences": [TOKYO, OSAKA]},
        {"id": BEN, "preferences": [TOKYO]},
        {"id": CHO, "preferences": [OSAKA, TOKYO]},
    ],
    "hosts": [
        {"id": TOKYO, "capacity": 1, "preferences": [BEN, ANA]},
        {"id": OSAKA, "capacity": 1, "preferences": [ANA, CHO]},
    ],
}


def test_a_round_as_recorded_reruns_to_the_same_result():
    rerun = rerun_round(a_round(INSTANCE))
    assert rerun.digest_matches and rerun.same_result and rerun.blocking_pairs == 0
    assert rerun.confirmed and rerun.differences == []
    assert rerun.rerun == {BEN: TOKYO, ANA: OSAKA}


def test_a_round_whose_matches_were_changed_is_not_confirmed_and_says_where():
    recorded = a_round(INSTANCE)
    recorded["matches"] = [
        {"applicant_id": ANA, "company_id": TOKYO, "course": "B"},
        {"applicant_id": CHO, "company_id": OSAKA, "course": "B"},
    ]
    rerun = rerun_round(recorded)
    assert not rerun.confirmed and not rerun.same_result
    assert rerun.blocking_pairs > 0  # Ben and Tokyo would rather have each other
    assert {d["applicant_id"] for d in rerun.differences} == {ANA, BEN, CHO}


def test_inputs_changed_after_the_round_no_longer_match_its_digest():
    recorded = a_round(INSTANCE)
    recorded["inputs"]["hosts"][0]["capacity"] = 2
    rerun = rerun_round(recorded)
    assert not rerun.digest_matches and not rerun.confirmed


def test_an_algorithm_the_audit_does_not_know_is_said_so_not_guessed():
    recorded = a_round(INSTANCE) | {"algorithm": {"id": "top-trading-cycles", "version": 1}}
    rerun = rerun_round(recorded)
    assert not rerun.known_algorithm and not rerun.confirmed


def test_a_round_whose_inputs_cannot_be_read_is_not_confirmed_rather_than_failing():
    # The audit keeps records that break the contract; reading one must not fail.
    for broken in (
        {k: v for k, v in a_round(INSTANCE).items() if k != "inputs"},
        a_round(INSTANCE) | {"inputs": {"candidates": [{"id": ANA}], "hosts": []}},
        a_round(INSTANCE) | {"matches": [{"applicant_id": ANA}]},
        a_round(INSTANCE) | {"algorithm": "deferred-acceptance"},
    ):
        rerun = rerun_round(broken)
        assert not rerun.confirmed
