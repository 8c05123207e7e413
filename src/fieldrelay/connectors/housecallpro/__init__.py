"""Housecall Pro connector (inbound webhooks)."""
