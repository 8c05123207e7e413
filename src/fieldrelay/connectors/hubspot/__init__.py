"""HubSpot connector: outbound CRM sync of contacts, deals and notes through the CRM v3/v4 APIs."""
