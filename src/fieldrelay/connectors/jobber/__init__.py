"""Jobber connector (inbound webhooks, items fetched through the GraphQL API)."""
