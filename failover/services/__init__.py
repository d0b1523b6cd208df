"""Failover use cases: audit every channel, plan a repair, apply it and verify it.

- ``failover_audit_run`` reads the inventory rows the poll synced (no cloud call), gives each
  channel a verdict, stores it, and notifies once when a channel becomes unprotected or its
  settings change behind the team's back (drift from the last audited fingerprint). It runs
  after every poll (``apps.FailoverConfig.ready`` registers it).
- ``failover_plan`` reads the channel fresh from StreamLive and returns the FailOverSettings
  before and after, for each input: only the primary's change.
- ``failover_apply`` begins the fix as an action (``broadcastops.actions``; one running action
  per channel: a concurrent fix is refused, not merged): it plans and sends the plan once with
  the gateway's read-modify-write (everything but FailOverSettings goes back as read), so a
  refusal on a running channel is answered at once; ``failover_fix_run`` then runs in a worker:
  stop -> modify -> start when asked to, re-reading until the API shows the change (bounded),
  recording and notifying the outcome. No cloud call happens inside a database transaction.
"""

from failover.services.apply import KIND as FIX_KIND
from failover.services.apply import FixOutcome, FixSpec, failover_apply, failover_fix_run
from failover.services.auditing import failover_audit_after_poll, failover_audit_run
from failover.services.facts import failover_verdict_compute
from failover.services.plan import InputChange, Plan, failover_plan

__all__ = [
    "FIX_KIND",
    "FixOutcome",
    "FixSpec",
    "InputChange",
    "Plan",
    "failover_apply",
    "failover_audit_after_poll",
    "failover_audit_run",
    "failover_fix_run",
    "failover_plan",
    "failover_verdict_compute",
]
