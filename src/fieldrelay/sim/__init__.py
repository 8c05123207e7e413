"""fieldrelay.sim."""
