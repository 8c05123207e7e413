"""Development email provider: records emails in the database instead of sending them."""
