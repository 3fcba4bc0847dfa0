"""Registration's domain model: aggregates and the rules they enforce. Pure: it imports
only the standard library and `eventsourcing.domain`, and takes the time as an argument."""
