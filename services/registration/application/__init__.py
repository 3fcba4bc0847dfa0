"""Registration's use cases: commands that load aggregates, apply rules and save."""
