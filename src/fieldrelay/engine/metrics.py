"""Prometheus metrics shared by the API and the worker."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

WEBHOOKS = Counter("fieldrelay_webhooks_total", "Webhook deliveries by connector and outcome", ["connector", "outcome"])
EVENTS = Counter("fieldrelay_inbox_processed_total", "Inbox rows processed by outcome", ["connector", "outcome"])
TIMERS = Counter("fieldrelay_timers_fired_total", "Timers fired by kind and outcome", ["kind", "outcome"])
DELIVERIES = Counter("fieldrelay_deliveries_total", "Outbound deliveries by target and outcome", ["target", "outcome"])
# Set by the worker that holds the breaker; in `serve` that worker shares this process's /metrics.
CIRCUIT_OPEN = Gauge(
    "fieldrelay_crm_circuit_open", "1 while this process's circuit to a CRM target is open", ["target"]
)
