from services.matching.entrypoints.cli import cli

cli()
