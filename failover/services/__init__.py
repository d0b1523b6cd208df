"""Failover use cases: audit every channel, plan a repair, apply it and verify it.

- ``failover_audit_run`` reads the inventory rows the poll synced (no cloud call), gives each
  channel a verdict, stores it, and notifies once when a channel becomes unprotected or its
  settings change behind the team's back (drift from the last audited fingerprint). It runs
  after every poll (``apps.FailoverConfig.ready`` registers it).
- ``failover_plan`` reads the channel fresh from StreamLive and returns the FailOverSettings
  before and after, for each input: only the primary's change.
- ``failover_apply`` claims the channel (one running action per channel: a concurrent fix is
  refused, not merged), sends the plan with the gateway's read-modify-write (everything but
  FailOverSettings goes back as read), falls back to stop -> modify -> start only when asked
  to, re-reads until the API shows the change (bounded), and records and notifies the outcome.
  No cloud call happens inside a database transaction.
"""

from failover.services.apply import FixResult, failover_apply
from failover.services.auditing import failover_audit_after_poll, failover_audit_run
from failover.services.facts import failover_verdict_compute
from failover.services.plan import InputChange, Plan, failover_plan

__all__ = [
    "FixResult",
    "InputChange",
    "Plan",
    "failover_apply",
    "failover_audit_after_poll",
    "failover_audit_run",
    "failover_plan",
    "failover_verdict_compute",
]
