from services.notifications.entrypoints.cli import cli

cli()
