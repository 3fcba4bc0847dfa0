from runtime.identity.cli import cli

cli()
