"""Notifications' use cases: the policy over consumed events, the mailer's and the office's."""
