"""`python -m taxgate`: the same entry point as the `taxgate` command."""

from taxgate.cli.main import run

run()
