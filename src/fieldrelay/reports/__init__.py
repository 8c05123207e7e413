"""Terminal reports: the shop's numbers as Rich tables (figures read by storage)."""
