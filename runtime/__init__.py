"""The common runtime of every JIP service: what each one runs on, apart from its domain.

- `application.ServiceApplication`: the base of every service's application (its
  `singledispatchmethod` policy says what the service consumes).
- `bootstrap`: a service's Kafka declaration (`Messaging`) and the assembly of its
  process (`service_process`): inbox, relay, followers, HTTP.
- `process.ServiceProcess`: one service process (HTTP, consumers, followers).
- `cli.service_cli`: the command line every service shares (serve, quarantine, rebuild).
- `http`: the HTTP conventions (error answers, who acts, correlation, `build_app`).
- `settings`, `failures`: the settings base and safe logging.

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
