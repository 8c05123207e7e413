"""fieldrelay.service."""
