"""fieldrelay.connectors."""
