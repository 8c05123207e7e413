"""ServiceTitan connector (inbound V2 webhooks)."""
