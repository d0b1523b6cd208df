"""The engine's Celery tasks: run one action, take over abandoned ones."""

from celery import shared_task

from broadcastops.actions.services import action_run, action_takeover


# An action is bounded by its own waits (a restart: two of INVENTORY_RESTART_TIMEOUT_S), not by
# the project's default task limit, which would stop a legitimate restart half-way (prefork).
@shared_task(ignore_result=True, acks_late=True, soft_time_limit=3600, time_limit=3660)
def action_run_task(action_id: int) -> None:
    """Run a claimed action. A redelivered message finds it finished or held: no-op."""
    action_run(action_id=action_id)


@shared_task(ignore_result=True)
def action_takeover_task() -> None:
    """Beat, every ACTIONS_TAKEOVER_INTERVAL_S: hand actions whose lease expired to new runs."""
    action_takeover()
