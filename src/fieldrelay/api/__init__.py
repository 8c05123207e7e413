"""fieldrelay.api."""
