from services.screening.entrypoints.cli import cli

cli()
