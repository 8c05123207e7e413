"""SMTP connector (outbound email through the shop's own relay)."""
