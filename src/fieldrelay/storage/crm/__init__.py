"""Storage of the CRM side of the mirror: fields with provenance, history, equipment, deals."""
