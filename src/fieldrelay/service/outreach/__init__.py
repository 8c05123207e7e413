"""Outreach: consent, templates, unsubscribe links, job texts and the review request."""
