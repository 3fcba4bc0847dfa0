"""Business rules that explain themselves when broken."""

from __future__ import annotations


class RuleViolation(Exception):
    """A command broke a rule. `field` names the input at fault, `reason` says why in
    words an applicant or staff member can act on; neither contains personal data."""

    def __init__(self, field: str, reason: str, *, conflict: bool = False) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        #: True when the command clashes with the current state (HTTP 409), not the input.
        self.conflict = conflict


class NotFound(RuleViolation):
    """The command or query names something that does not exist (HTTP 404)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(field, reason)


class LimitReached(RuleViolation):
    """The command is allowed, but not this often: it may be given again in
    `retry_after_seconds` (HTTP 429 with Retry-After)."""

    def __init__(self, field: str, reason: str, retry_after_seconds: int) -> None:
        super().__init__(field, reason, conflict=True)
        self.retry_after_seconds = retry_after_seconds


def require(condition: bool, field: str, reason: str, *, conflict: bool = False) -> None:
    if not condition:
        raise RuleViolation(field, reason, conflict=conflict)
