"""SendGrid connector (inbound signed Event Webhook)."""
