"""Tests of the signed outbound webhook (the ``webhook`` CRM target)."""
