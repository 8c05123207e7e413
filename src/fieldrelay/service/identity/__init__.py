"""Identity: match a new record to a known homeowner before anything is written; review and undo merges."""
