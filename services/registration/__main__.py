from services.registration.entrypoints.cli import cli

cli()
