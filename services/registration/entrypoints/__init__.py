"""How registration is started: `python -m services.registration`."""
