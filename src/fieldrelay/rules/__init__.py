"""fieldrelay.rules."""
