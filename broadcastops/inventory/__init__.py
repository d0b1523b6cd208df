"""Inventory.

The cloud resources as operators think of them (StreamLive channels and inputs, StreamLink
flows, StreamPackage channels, CSS streams), synced by polling; their status history, failover
events and operator actions (the audit trail); the full-status diagnosis and the dashboard.
``failover``, ``scheduling`` and ``assistant`` build on it.
"""
