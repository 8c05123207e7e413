"""fieldrelay.storage."""
