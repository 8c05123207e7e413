"""``python -m fieldrelay``."""

from fieldrelay.cli.main import app

app()
