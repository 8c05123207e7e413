"""fieldrelay.engine."""
