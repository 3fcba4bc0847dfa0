"""The common runtime of every JIP service: what each one runs on, apart from its domain.

- `application.ServiceApplication`: the base of every service's application.
- `process.ServiceProcess`: one service process (HTTP, consumers, followers).
- `http`, `settings`, `failures`: the HTTP conventions, settings base and safe logging.

- `follower.LogFollower`: follows a service's own notification log from a tracked
  position (the building block for anything that acts on "what we recorded").
- `relay.KafkaRelay`: publishes a service's stored events to its topic, translated to
  the public envelope. The only way events reach Kafka: no dual writes.
- `inbox.Inbox`: consumes envelopes and records, in the same transaction as the effect,
  the position it processed; malformed messages are quarantined, never fatal.

eventsourcing is synchronous (psycopg 3); these classes call it through
`asyncio.to_thread`, and this is the one place where that boundary is crossed for
messaging.
"""
