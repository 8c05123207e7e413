"""Stripe connector (inbound webhooks: payments and refunds)."""
