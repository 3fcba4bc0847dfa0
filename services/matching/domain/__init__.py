"""Matching's domain model: aggregates and the rules they enforce. Pure: it imports
only the standard library and `eventsourcing.domain`, and takes times as arguments."""
