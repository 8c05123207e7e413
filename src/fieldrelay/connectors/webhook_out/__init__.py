"""Signed webhook out: each mapped CRM change as an HMAC-signed JSON POST to any other tool (docs/crm.md)."""
