"""Enrichment with no I/O: places, contact facts, equipment, and where each value came from."""
