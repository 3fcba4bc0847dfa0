import sys

if sys.argv[1:] == ["solve"]:
    # The solver alone: no web framework, no Kafka client to import first.
    from services.matching.entrypoints.solve import solve_standard_input

    sys.exit(solve_standard_input())

from services.matching.entrypoints.cli import cli

cli()
