"""People who act on fieldrelay: roles and what each may do, accounts and tokens, sign-in throttling, the audit log."""
