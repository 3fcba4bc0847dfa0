"""The JIP event contract: the public API that services, subscribers and auditors share.

Everything that crosses a service boundary is defined here and nowhere else:
the envelope (`envelope.py`), the topics (`topics.py`), the integration events with
their payloads (`registration.py`, `screening.py`, `matching.py`, `notifications.py`),
and the catalog that maps an `event_type` and `schema_version` to its model and topic
(`catalog.py`). `transport/` is the contract's reference implementation on Kafka:
serialisation, the relay that publishes a service's own log, and the consumer that
records what it processed in the same transaction as the effect.
"""
