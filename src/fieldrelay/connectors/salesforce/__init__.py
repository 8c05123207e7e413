"""Salesforce connector: outbound CRM writes (Contact upsert by external id, a Task per note) over the REST API."""
