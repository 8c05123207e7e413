"""fieldrelay.dashboard."""
