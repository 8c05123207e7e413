"""The CRM record: the field-mapping table, deals, enrichment, stale records and sync to outside CRMs."""
