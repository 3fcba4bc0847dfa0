"""Matching's domain model: aggregates and the rules they enforce, and the stable
matching as a pure function (stable_matching.py). Pure: it imports only the standard
library, `eventsourcing.domain` and numpy (for the matching's arithmetic), and takes
times as arguments."""
