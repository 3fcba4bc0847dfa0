"""The JIP event contract: the public API that services, subscribers and auditors share.

Everything that crosses a service boundary is defined here and nowhere else:
the envelope (`envelope.py`), the topics (`topics.py`), the integration events with
their payloads (`registration.py`, `screening.py`, `matching.py`, `notifications.py`),
and the catalog that maps an `event_type` and `schema_version` to its model and topic
(`catalog.py`), how an envelope is written to a Kafka record (`codec.py`), and how a
consumer verifies the hash chain of an aggregate's events (`chain.py`). What changed
and the compatibility rules: `CHANGELOG.md`.

The contract imports no service runtime: a subscriber installs it to read and write
JIP events, nothing more. The machinery the services run on is in `runtime/`.
"""
