"""Notifications' domain: recipients and the messages owed to them. Pure: standard
library and `eventsourcing.domain` only."""
