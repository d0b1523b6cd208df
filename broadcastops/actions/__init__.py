"""The operator-action engine: every action anyone takes on a cloud resource.

One way to act, for the admin, the API, commands, schedules, Slack and the MCP server:

1. *begin* (``services.action_begin``, or ``action_claim`` + ``action_enqueue`` when the
   caller has a synchronous step of its own): ask the guards, claim the resource (one running
   action per resource, a conditional unique constraint: the second one gets 409 ``busy``),
   and enqueue one Celery task ``on_commit``;
2. *run* (``tasks.action_run_task``): the task claims the action's lease by compare-and-set,
   looks up the runner that the resource's app registered for the action's kind
   (``broadcastops.registry.ACTION_RUNNERS``) and calls it with an ``ActionRun``: progress
   lines, a checkpoint for resuming, the shared wait for a cloud state;
3. *finish*: succeeded or failed with an outcome, once (compare-and-set on the lease owner).

A worker that dies mid-action stops renewing its lease; ``tasks.action_takeover_task`` (beat)
hands the action to a new run, whose runner resumes from the cloud's state and its
checkpoint. ``OperatorAction`` is the audit trail.
"""
