"""Storage of the office app's people: sign-in accounts, their API tokens, and the audit log of human actions."""
