"""Interview rounds: which languages a round is held in, the scorecard a round is scored
on, and how a result is decided from its scores.

A cohort's rules configure the scorecard of each round (`rules["interviews"][stage]`:
`{criteria: [{id, label, max_score}], pass_mark}`) under the rule set's id and version.
A cohort announced without one is scored on `DEFAULT_SCORECARD` under the rule set
`jip-<cohort id, lower case>` version 1, so that every result still names the scorecard
and the version that decided it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from kernel.rules import RuleViolation

STAGES: Final = ("first", "second")
#: The first interview is held in the local language, English or Japanese; the second
#: in Japanese or English (the 2025 call).
LANGUAGES_BY_STAGE: Final = {
    "first": ("local", "english", "japanese"),
    "second": ("english", "japanese"),
}

#: The scorecard of a round when the cohort's rules configure none: four criteria of
#: 0 to 5 points, passed with 12 of 20.
DEFAULT_SCORECARD: Final[dict[str, Any]] = {
    "criteria": [
        {"id": "motivation", "label": "Motivation", "max_score": 5},
        {"id": "communication", "label": "Communication", "max_score": 5},
        {"id": "language", "label": "Language", "max_score": 5},
        {"id": "fit_with_program", "label": "Fit with the program", "max_score": 5},
    ],
    "pass_mark": 12,
}

#: The states of a scheduled interview. Only `scheduled` is open: it can be moved,
#: cancelled, missed or held.
OPEN: Final = "scheduled"


@dataclass(frozen=True)
class RoundScorecard:
    """The criteria and pass mark of one round, and the rule set they belong to."""

    criteria: tuple[tuple[str, int], ...]  # (criterion id, max score)
    pass_mark: int
    rule_set_id: str
    rule_set_version: int

    def score(self, scores: Mapping[str, int]) -> dict[str, Any]:
        """The scorecard as recorded (the contract's `Scorecard`), with `passed`: every
        criterion scored exactly once, within 0..its maximum, and nothing else; the
        round is passed when the total reaches the pass mark. A broken rule names the
        criterion (`scores.<id>`)."""
        known = {criterion for criterion, _ in self.criteria}
        for criterion in scores:
            if criterion not in known:
                raise RuleViolation(
                    f"scores.{criterion}",
                    "not a criterion of this round's scorecard (" + ", ".join(sorted(known)) + ")",
                )
        recorded: list[dict[str, Any]] = []
        total = 0
        for criterion, max_score in self.criteria:
            if criterion not in scores:
                raise RuleViolation(f"scores.{criterion}", "every criterion must be scored")
            score = scores[criterion]
            if isinstance(score, bool) or not isinstance(score, int):
                raise RuleViolation(f"scores.{criterion}", "a score is a whole number")
            if not 0 <= score <= max_score:
                raise RuleViolation(f"scores.{criterion}", f"a score is from 0 to {max_score}")
            recorded.append({"criterion": criterion, "score": score, "max_score": max_score})
            total += score
        return {
            "scores": recorded,
            "total": total,
            "pass_mark": self.pass_mark,
            "rule_set": {"id": self.rule_set_id, "version": self.rule_set_version},
            "passed": total >= self.pass_mark,
        }


def scorecard_for(cohort_id: str, rules: Mapping[str, Any], stage: str) -> RoundScorecard:
    """The scorecard of `stage` in the cohort's rules, or the default one."""
    configured = (rules.get("interviews") or {}).get(stage) or DEFAULT_SCORECARD
    return RoundScorecard(
        criteria=tuple((c["id"], int(c["max_score"])) for c in configured["criteria"]),
        pass_mark=int(configured["pass_mark"]),
        rule_set_id=rules.get("rule_set_id") or f"jip-{cohort_id.lower()}",
        rule_set_version=int(rules.get("rule_set_version") or 1),
    )


def rescore(scorecard: Mapping[str, Any], scores: Mapping[str, int]) -> dict[str, Any]:
    """A recorded scorecard with corrected scores: scored again on its own criteria,
    pass mark and rule set (those in force when the result was recorded)."""
    card = RoundScorecard(
        criteria=tuple((s["criterion"], s["max_score"]) for s in scorecard["scores"]),
        pass_mark=scorecard["pass_mark"],
        rule_set_id=scorecard["rule_set"]["id"],
        rule_set_version=scorecard["rule_set"]["version"],
    )
    return card.score(scores)
