from services.audit.entrypoints.cli import cli

cli()
