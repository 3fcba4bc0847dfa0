"""Registration's adapters: HTTP API, document store, SMTP mailer, status read model."""
