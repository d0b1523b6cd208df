"""A claimed action while someone works on it: the lease, progress, checkpoint, finish.

Whoever works on a running action holds its lease (``lease_owner``, a token of this run, and
``lease_expires_at``): the Celery task that runs it, or the request that begins it while it
does its synchronous step. Every write of a holder is a compare-and-set on its token, so a
run that lost the action (taken over after its lease expired) can never write progress or
finish it; it gets ``LeaseLost`` and stops. A thread renews the lease every third of
``ACTIONS_LEASE_S`` for as long as the process lives, so a slow cloud call never loses it
and a dead worker loses it within a lease.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterator
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from broadcastops.actions.models import OperatorAction
from broadcastops.actions.text import Text, text
from broadcastops.actions.types import ActionFailed, LeaseLost, Outcome

logger = logging.getLogger(__name__)

Status = OperatorAction.Status


def lease_delta() -> timedelta:
    return timedelta(seconds=settings.ACTIONS_LEASE_S)


def _token() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


class StateTimeout(Exception):
    """A cloud resource did not reach a state in time."""

    def __init__(self, *, current: str, want: Collection[str], timeout_s: float):
        self.current = current
        self.want = sorted(want)
        self.timeout_s = timeout_s
        super().__init__(f"still {current} after {timeout_s:.0f} s waiting for {self.want}")

    def as_text(self, name: str) -> Text:
        return text(
            gettext_noop("%(name)s is still %(current)s after %(s)s s waiting for %(want)s."),
            name=name,
            current=self.current,
            s=int(self.timeout_s),
            want=" / ".join(self.want),
        )


def cloud_state_wait(
    *,
    read: Callable[[], str],
    want: str | Collection[str],
    timeout_s: float,
    poll_s: float,
    tick: Callable[[], None] | None = None,
) -> str:
    """Read a cloud state until it is one of ``want``; ``StateTimeout`` after ``timeout_s``.

    The one wait for a cloud state (channel restarts, flows, the failover fix's stop ->
    modify -> start). ``tick`` runs before each read (the run checks its lease there).
    """
    wanted = {want} if isinstance(want, str) else set(want)
    deadline = time.monotonic() + timeout_s
    while True:
        if tick is not None:
            tick()
        current = read()
        if current in wanted:
            return current
        if time.monotonic() >= deadline:
            raise StateTimeout(current=current, want=wanted, timeout_s=timeout_s)
        time.sleep(poll_s)


class _LeaseKeeper(threading.Thread):
    """Renews a lease every third of its length until stopped or lost."""

    def __init__(self, action_id: int, owner: str):
        super().__init__(name=f"action-lease-{action_id}", daemon=True)
        self.action_id = action_id
        self.owner = owner
        self.lost = False
        self._stop_event = threading.Event()

    def run(self) -> None:
        try:
            while not self._stop_event.wait(settings.ACTIONS_LEASE_S / 3):
                try:
                    kept = OperatorAction.objects.filter(
                        pk=self.action_id, status=Status.RUNNING, lease_owner=self.owner
                    ).update(lease_expires_at=timezone.now() + lease_delta())
                except DatabaseError as exc:  # try again next time; the lease is 3x longer
                    logger.warning("Action %s: lease not renewed: %s", self.action_id, exc)
                    continue
                if not kept:
                    self.lost = True
                    return
        finally:
            connection.close()  # this thread's own connection, if it opened one

    def stop(self) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout=5)


class ActionRun:
    """What a runner gets: the action, its checkpoint, progress, the wait, and finish."""

    def __init__(self, action: OperatorAction, owner: str):
        self.action = action
        self.owner = owner
        self.finished = False
        self._keeper: _LeaseKeeper | None = None

    # --- reading ---------------------------------------------------------------------------
    @property
    def state(self) -> dict[str, Any]:
        return dict(self.action.state)

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.action.params)

    @property
    def taken_over(self) -> bool:
        """True when an earlier worker held this action and stopped (this run resumes it)."""
        return self.action.attempts > 1

    def check(self) -> None:
        """Raise ``LeaseLost`` if another run has taken the action over."""
        if self._keeper is not None and self._keeper.lost:
            raise LeaseLost(self.action.pk)

    # --- writing (each a compare-and-set on this run's token) --------------------------------
    def _update(self, **fields: Any) -> None:
        self.check()
        updated = OperatorAction.objects.filter(
            pk=self.action.pk, status=Status.RUNNING, lease_owner=self.owner
        ).update(**fields)
        if updated != 1:
            raise LeaseLost(self.action.pk)

    def progress(self, line: Text, *, request_id: str = "") -> None:
        """Append a progress line (and the cloud request that made it); renews the lease."""
        line = line.hidden()
        english = line.english()
        entry = {"at": timezone.now().isoformat(), "step": english, "msg": line.to_json()}
        progress = [*self.action.progress, entry]
        request_ids = [*self.action.request_ids, request_id] if request_id else None
        fields: dict[str, Any] = {
            "progress": progress,
            "lease_expires_at": timezone.now() + lease_delta(),
        }
        if request_ids is not None:
            fields["request_ids"] = request_ids
        self._update(**fields)
        self.action.progress = progress
        if request_ids is not None:
            self.action.request_ids = request_ids
        logger.info("Action %s on %s: %s", self.action.pk, self.action.target_name, english)

    def checkpoint(self, **values: Any) -> None:
        """Save what a worker taking over needs to resume (merged into ``state``)."""
        state = {**self.action.state, **values}
        self._update(state=state)
        self.action.state = state

    def wait_for(
        self,
        read: Callable[[], str],
        want: str | Collection[str],
        *,
        timeout_s: float,
        poll_s: float,
    ) -> str:
        return cloud_state_wait(
            read=read, want=want, timeout_s=timeout_s, poll_s=poll_s, tick=self.check
        )

    def finish(self, outcome: Outcome) -> None:
        """End the action, once. Inside the caller's transaction if it has one (a failover
        fix records its verdict in the same one), so a lost lease rolls that back too."""
        outcome = dataclasses.replace(outcome, text=outcome.text.hidden())
        now = timezone.now()
        request_ids = self.action.request_ids
        self._update(
            status=Status.SUCCEEDED if outcome.ok else Status.FAILED,
            outcome=outcome.text.english(),
            outcome_msg=outcome.text.to_json(),
            outcome_code=outcome.code,
            result=outcome.result,
            request_ids=request_ids,
            finished_at=now,
            lease_owner="",
            lease_expires_at=None,
        )
        self.finished = True
        self.action.status = Status.SUCCEEDED if outcome.ok else Status.FAILED
        self.action.outcome = outcome.text.english()
        self.action.outcome_msg = outcome.text.to_json()
        self.action.outcome_code = outcome.code
        self.action.result = outcome.result
        self.action.finished_at = now
        log = logger.info if outcome.ok else logger.warning
        log(
            "Action %s %s on %s (%s): %s",
            self.action.pk,
            self.action.action,
            self.action.target_name,
            self.action.status,
            self.action.outcome,
        )

    def fail(
        self, line: Text, *, code: str = "failed", result: dict[str, Any] | None = None
    ) -> None:
        self.finish(Outcome(ok=False, text=line, code=code, result=result or {}))

    # --- holding -----------------------------------------------------------------------------
    def _keep(self) -> None:
        self._keeper = _LeaseKeeper(self.action.pk, self.owner)
        self._keeper.start()

    def _release(self) -> None:
        if self._keeper is not None:
            self._keeper.stop()
            self._keeper = None


def _claim_lease(action_id: int, *, begin: bool) -> tuple[OperatorAction, str] | None:
    """Take the lease of a running action that nobody holds (or whose holder's lease ran
    out) by compare-and-set. None when it is finished or held by a live run."""
    owner = _token()
    now = timezone.now()
    free = Q(lease_owner="") if begin else Q(lease_owner="") | Q(lease_expires_at__lt=now)
    claimed = (
        OperatorAction.objects.filter(pk=action_id, status=Status.RUNNING)
        .filter(free)
        .update(
            lease_owner=owner,
            lease_expires_at=now + lease_delta(),
            # The begin's own step is not a worker run.
            attempts=F("attempts") + (0 if begin else 1),
        )
    )
    if claimed != 1:
        return None
    return OperatorAction.objects.get(pk=action_id), owner


@contextlib.contextmanager
def action_held(action_id: int, *, begin: bool = False) -> Iterator[ActionRun | None]:
    """Hold a running action's lease for a block (``None``: finished, or held elsewhere).

    ``begin``: the request that just claimed the action holds it for its synchronous step
    and hands it back (unowned, fresh lease) for the task; it does not count as an attempt.
    """
    claimed = _claim_lease(action_id, begin=begin)
    if claimed is None:
        yield None
        return
    action, owner = claimed
    run = ActionRun(action, owner)
    run._keep()
    try:
        yield run
    finally:
        run._release()
        if begin and not run.finished:
            OperatorAction.objects.filter(
                pk=action_id, status=Status.RUNNING, lease_owner=owner
            ).update(lease_owner="", lease_expires_at=timezone.now() + lease_delta())


__all__ = [
    "ActionFailed",
    "ActionRun",
    "LeaseLost",
    "Outcome",
    "StateTimeout",
    "action_held",
    "cloud_state_wait",
]
