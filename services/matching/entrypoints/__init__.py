"""How matching is started: `python -m services.matching`."""
