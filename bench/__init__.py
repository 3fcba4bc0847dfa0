"""The transport benchmark: `python -m bench` (see README, "Benchmarks")."""
