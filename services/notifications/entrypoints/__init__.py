"""How notifications is started: `python -m services.notifications`."""
