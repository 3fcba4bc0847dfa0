"""Notifications' adapters: HTTP API, e-mail templates and the SMTP mailer."""
