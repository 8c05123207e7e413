"""SendGrid connector: the signed Event Webhook (opens, clicks, bounces, unsubscribes) and outbound Mail Send."""
