"""The rows the KPI figures are computed from (report and office app alike), and the stale-check history."""
