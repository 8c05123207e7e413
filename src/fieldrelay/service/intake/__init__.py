"""Intake handlers: apply each canonical event (customers, jobs, estimates, leads, payments, messages)."""
