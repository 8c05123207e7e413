"""Twilio connector (inbound messaging webhooks: incoming texts and status callbacks)."""
