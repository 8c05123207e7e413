"""Postmark connector (inbound webhooks)."""
