"""`python -m services.matching solve`: match an instance given as JSON on standard
input, with nothing else running. Kept apart from the service's command line so that
it imports only the pure solver: an auditor's script or another implementation's test
harness that calls it thousands of times does not pay for the web framework and the
Kafka client at every start."""

from __future__ import annotations

import json
import sys

from services.matching.domain.stable_matching import InvalidInstance, check, solve

#: Exit code of an instance that cannot be matched (as for a command line misused).
BAD_INPUT = 2


def solve_standard_input() -> int:
    """Read an instance as JSON on standard input and write its candidate-optimal stable
    matching as JSON on standard output, with the blocking pairs and capacity violations
    its own check found (both 0). A bad instance: the entry at fault on standard error,
    exit code 2, nothing on standard output."""
    try:
        instance = json.loads(sys.stdin.buffer.read())
        matching = solve(instance)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        print(f"instance: is not JSON ({error})", file=sys.stderr)
        return BAD_INPUT
    except InvalidInstance as error:
        print(f"{error.field}: {error.reason}", file=sys.stderr)
        return BAD_INPUT
    verdict = check(instance, matching.matches)
    result = {
        "matches": [{"candidate": c, "host": h} for c, h in matching.matches],
        "unmatched_candidates": list(matching.unmatched_candidates),
        "blocking_pairs": verdict.blocking_pairs,
        "capacity_violations": verdict.capacity_violations,
    }
    # ASCII with \u escapes: valid JSON whatever the terminal's encoding.
    sys.stdout.buffer.write(json.dumps(result).encode("ascii") + b"\n")
    return 0
