"""Pure domain model: entities, canonical events, lifecycle rules. Imports nothing of ours or of any framework."""
