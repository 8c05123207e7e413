"""Storage of identity resolution: match keys, the review queue, undoable merges."""
