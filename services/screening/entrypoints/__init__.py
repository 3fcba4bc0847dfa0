"""How screening is started: `python -m services.screening`."""
