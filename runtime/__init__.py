"""The common runtime of every JIP service: what each one runs on, apart from its domain.

Assembling a service
- `application.ServiceApplication`: the base of every service's application (its
  `singledispatchmethod` policy says what the service consumes; conflicts are decided
  again; a poll's records are processed in one unit of work).
- `bootstrap`: a service's Kafka declaration (`Messaging`) and the assembly of its
  process (`service_process`): inbox, relay, dead-letter relay, followers, HTTP.
- `process.ServiceProcess`: one service process (HTTP, consumers, followers).
- `cli.service_cli`: the command line every service shares (serve, quarantine, replay,
  undeliverable, rebuild-read-models).
- `http`: the HTTP conventions (error answers, who acts, correlation, `build_app`).
- `settings`, `failures`: the settings base and logging without personal data.

Consuming
- `kafka`: faststream wiring: the inbox's subscriber (headers never fail it, an
  unreachable database holds records with backoff), publishers.
- `inbox.Inbox`: records, in the same transaction as the effect, the position it
  processed; what it cannot process is set aside with its reason, never fatal;
  `quarantine` lists and replays what was set aside.

Following the service's own log
- `follower.LogFollower`: follows the notification log from a tracked position, active
  in one instance at a time and woken by the store (`leadership`).
- `relay.KafkaRelay`: publishes the stored events to the service's topic, translated to
  the public envelope and chained; the only way events reach Kafka (no dual writes).
- `dead_letters.DeadLetterRelay`: publishes set-aside records to the dead-letter topic.
- `mail`, `mail_api`: the one SMTP mailer, per-message outcomes and retries, and the
  office's list of undeliverable messages.

eventsourcing is synchronous (psycopg 3); the runtime calls it through
`asyncio.to_thread`, the one place where that boundary is crossed.
"""
