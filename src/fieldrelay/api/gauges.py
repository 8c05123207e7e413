"""Gauges read from the database at scrape time: the error queue and how long the oldest waiting work has waited."""

from __future__ import annotations

from collections.abc import Iterator

import structlog
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy.exc import SQLAlchemyError

from fieldrelay.runtime import Runtime
from fieldrelay.storage import queries
from fieldrelay.storage.ops import errors

log = structlog.get_logger("fieldrelay.metrics")


class QueueGauges:
    """A prometheus_client collector of the runtime's error queue and backlog ages."""

    def __init__(self, runtime: Runtime) -> None:
        """Read through this runtime's engine, as of its clock."""
        self._runtime = runtime

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The gauge families; nothing when the database does not answer."""
        runtime = self._runtime
        try:
            with runtime.engine.connect() as conn:
                counts = errors.open_error_counts(conn, runtime.settings.account_id)
                ages = queries.oldest_pending_ages(conn, runtime.clock.now())
                by_target = queries.oldest_pending_by_target(conn, runtime.settings.account_id, runtime.clock.now())
        except SQLAlchemyError as exc:
            log.warning("metrics.database_unavailable", error=type(exc).__name__)
            return
        rows = GaugeMetricFamily(
            "fieldrelay_error_queue_rows", "Open errors by kind and source", labels=["kind", "source"]
        )
        for (kind, source), n in sorted(counts.items()):
            rows.add_metric([kind, source], n)
        yield rows
        age = GaugeMetricFamily(
            "fieldrelay_oldest_pending_age_seconds", "Age of the oldest waiting row by table", labels=["table"]
        )
        for table, seconds in ages.items():
            age.add_metric([table], seconds)
        yield age
        target_age = GaugeMetricFamily(
            "fieldrelay_outbox_oldest_pending_age_seconds",
            "Age of the oldest undelivered outbox row by target (sms, email, hubspot, salesforce, webhook)",
            labels=["target"],
        )
        for target, seconds in sorted(by_target.items()):
            target_age.add_metric([target], seconds)
        yield target_age


def app_registry(runtime: Runtime) -> CollectorRegistry:
    """A registry of this app's own gauges (the default registry holds the process-wide counters)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(QueueGauges(runtime))
    return registry
