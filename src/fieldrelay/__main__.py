"""``python -m fieldrelay``."""

from fieldrelay.cli import app

app()
