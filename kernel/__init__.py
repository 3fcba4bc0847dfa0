"""The shared kernel: the few pure notions every service's domain speaks in.

- `rules`: a broken business rule that explains itself (`RuleViolation`, `require`,
  `NotFound`), which every HTTP API turns into the same error answer;
- `actor`: who gave a command (an applicant, office staff, a company user, the system),
  recorded on every event a command causes.

Why a package of its own: a domain may import only the standard library and
`eventsourcing.domain` (no runtime, no contract), yet these notions must be one thing
across the services, or each service's error handling and audit trail drift apart. So
the kernel imports nothing but the standard library (checked by
tests/unit/test_architecture.py), and every layer of every service may import it.
"""
