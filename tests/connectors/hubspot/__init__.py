"""HubSpot outbound CRM connector tests."""
