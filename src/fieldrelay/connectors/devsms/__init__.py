"""Development SMS provider: records texts in the database instead of sending them."""
