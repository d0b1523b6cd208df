"""The engine: begin (guards, claim, enqueue on commit), run by lease, finish once, take over."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.translation import gettext_noop, override

from broadcastops import registry
from broadcastops.actions import services
from broadcastops.actions.models import OperatorAction
from broadcastops.actions.runs import action_held
from broadcastops.actions.tasks import action_run_task, action_takeover_task
from broadcastops.actions.text import Text, text
from broadcastops.actions.types import ActionFailed, Actor, LeaseLost, Outcome, Target
from broadcastops.errors import Conflict

KIND = "test.work"
TARGET = Target(type="widget", id="W-1", name="widget one")


class Recorder:
    """A runner that records its calls and resumes from its checkpoint."""

    def __init__(self, steps=("one", "two")):
        self.steps = steps
        self.calls = []

    def __call__(self, run):
        self.calls.append((run.action.pk, run.action.attempts, dict(run.state)))
        for step in self.steps:
            if step in run.state.get("done", []):
                continue
            run.progress(text(gettext_noop("Done %(step)s."), step=step))
            run.checkpoint(done=[*run.state.get("done", []), step])
        return Outcome(ok=True, text=text(gettext_noop("All done.")), result={"n": 2})


@pytest.fixture
def runner():
    recorder = Recorder()
    with registry.ACTION_RUNNERS.registered(recorder, key=KIND):
        yield recorder


@pytest.fixture
def enqueued(monkeypatch):
    sent = []
    monkeypatch.setattr(action_run_task, "delay", lambda action_id: sent.append(action_id))
    return sent


def _begin(**kwargs):
    return services.action_begin(
        kind=KIND, target=TARGET, actor=kwargs.pop("actor", Actor()), **kwargs
    )


@pytest.mark.django_db
def test_begin_claims_and_enqueues_one_task_only_once_committed(
    runner, enqueued, operator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        action = _begin(actor=Actor(user=operator, origin="slack", ref="U0123"), params={"x": 1})
        assert enqueued == []  # nothing leaves before the commit
    assert len(callbacks) == 1 and enqueued == [action.pk]
    row = OperatorAction.objects.get()
    assert (row.status, row.action, row.target_id, row.params) == ("running", KIND, "W-1", {"x": 1})
    assert (row.actor, row.actor_name, row.origin, row.origin_ref) == (
        operator,
        "operator",
        "slack",
        "U0123",
    )
    assert row.lease_owner == "" and row.lease_expires_at > timezone.now()
    assert runner.calls == []  # the work is the worker's


@pytest.mark.django_db(transaction=True)
def test_one_running_action_per_resource(runner, enqueued):
    first = _begin()
    with pytest.raises(Conflict) as exc:
        _begin()
    assert exc.value.code == "busy" and exc.value.detail == {"action_id": first.pk}
    assert "widget one is busy: system (test.work)" in exc.value.message
    assert enqueued == [first.pk]
    action_run_task(first.pk)
    assert _begin().pk != first.pk  # free again once the first has ended


@pytest.mark.django_db(transaction=True)
def test_guards_refuse_unless_overridden_and_the_reasons_are_kept(runner, enqueued):
    def guard(target, verb):
        return f"{target.name} is on air." if verb == "stop" else None

    with registry.ACTION_GUARDS.registered(guard):
        assert _begin(verb="start").params == {"override": False, "overridden": []}
        action_run_task(enqueued[-1])
        with pytest.raises(Conflict) as exc:
            _begin(verb="stop")
        assert exc.value.code == "guarded" and exc.value.detail == {
            "reasons": ["widget one is on air."]
        }
        assert _begin(verb="stop", override=True).params["overridden"] == ["widget one is on air."]
    assert OperatorAction.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_task_runs_the_registered_runner_and_finishes_once(runner, enqueued):
    action = _begin()
    action_run_task(action.pk)
    action_run_task(action.pk)  # a redelivered message: the action is finished, nothing runs
    row = OperatorAction.objects.get()
    assert len(runner.calls) == 1 and runner.calls[0][1] == 1  # one run, the first attempt
    assert row.status == "succeeded" and row.outcome == "All done." and row.result == {"n": 2}
    assert [p["step"] for p in row.progress] == ["Done one.", "Done two."]
    assert row.finished_at and row.lease_owner == "" and row.lease_expires_at is None


@pytest.mark.django_db(transaction=True)
def test_a_run_held_by_a_live_worker_is_not_run_twice(runner, enqueued):
    action = _begin()
    with action_held(action.pk) as held:
        assert held is not None
        action_run_task(action.pk)  # a duplicate message while the first run holds the lease
        assert runner.calls == []
        held.finish(Outcome(ok=True, text=text(gettext_noop("All done."))))
    assert OperatorAction.objects.get().attempts == 1


@pytest.mark.django_db(transaction=True)
def test_a_failing_runner_ends_the_action_failed_with_its_reason(enqueued):
    def refuses(run):
        raise ActionFailed(text(gettext_noop("Done %(step)s."), step="nothing"), code="nope")

    def crashes(run):
        raise RuntimeError("bug in the runner")

    with registry.ACTION_RUNNERS.registered(refuses, key=KIND):
        action_run_task(_begin().pk)
    with registry.ACTION_RUNNERS.registered(crashes, key=KIND):
        action_run_task(_begin().pk)
    action_run_task(_begin().pk)  # no runner at all (its app is gone)
    refused, crashed, orphan = OperatorAction.objects.order_by("pk")
    assert (refused.status, refused.outcome_code, refused.outcome) == (
        "failed",
        "nope",
        "Done nothing.",
    )
    assert (crashed.status, crashed.outcome) == ("failed", "Failed: bug in the runner")
    assert orphan.status == "failed" and orphan.outcome_code == "no_runner"


@pytest.mark.django_db(transaction=True)
def test_an_expired_lease_is_taken_over_and_the_runner_resumes(runner, enqueued, settings):
    action = _begin()
    # A worker ran the first step, then died: its lease is not renewed any more.
    with action_held(action.pk) as dying:
        dying.progress(text(gettext_noop("Done %(step)s."), step="one"))
        dying.checkpoint(done=["one"])
        owner = dying.owner
    OperatorAction.objects.filter(pk=action.pk).update(
        lease_owner=owner, lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    enqueued.clear()
    action_takeover_task()
    assert enqueued == [action.pk]  # handed to a new run
    action_takeover_task()
    assert enqueued == [action.pk]  # released once: its new lease has not expired
    action_run_task(action.pk)
    row = OperatorAction.objects.get()
    assert row.status == "succeeded" and row.attempts == 2
    assert runner.calls == [(action.pk, 2, {"done": ["one"]})]  # resumed, not restarted
    assert [p["step"] for p in row.progress] == [
        "Done one.",
        "Taken over by a new worker (attempt 2): the previous one stopped.",
        "Done two.",
    ]


@pytest.mark.django_db(transaction=True)
def test_a_run_that_lost_its_lease_can_neither_write_nor_finish(runner, enqueued):
    action = _begin()
    with action_held(action.pk) as stale:
        # Meanwhile its lease ran out and another run took the action over.
        OperatorAction.objects.filter(pk=action.pk).update(lease_owner="someone-else")
        with pytest.raises(LeaseLost):
            stale.progress(text(gettext_noop("Done %(step)s."), step="late"))
        with pytest.raises(LeaseLost):
            stale.finish(Outcome(ok=False, text=text(gettext_noop("All done."))))
    row = OperatorAction.objects.get()
    assert row.status == "running" and row.progress == []


@pytest.mark.django_db(transaction=True)
def test_an_action_whose_workers_keep_dying_is_given_up(runner, enqueued, settings):
    settings.ACTIONS_MAX_ATTEMPTS = 2
    action = _begin()
    OperatorAction.objects.filter(pk=action.pk).update(
        lease_owner="dead", attempts=2, lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    enqueued.clear()
    action_takeover_task()
    row = OperatorAction.objects.get()
    assert enqueued == [] and row.status == "failed" and row.outcome_code == "abandoned"
    assert "2 workers stopped" in row.outcome


@pytest.mark.django_db
def test_the_audit_row_of_a_deleted_user_keeps_the_name(runner, enqueued, operator):
    action = _begin(actor=Actor.of(operator, "api"))
    operator.delete()
    action.refresh_from_db()
    assert action.actor is None and action.actor_name == "operator"


def test_stored_sentences_render_in_the_readers_language_with_nested_parameters():
    inner = text(gettext_noop("no input yet"))
    line = text(gettext_noop("pipeline 0: %(p0)s; pipeline 1: %(p1)s"), p0="IN-1", p1=inner)
    stored = line.to_json()
    assert Text.from_json(stored) == line
    assert line.english() == "pipeline 0: IN-1; pipeline 1: no input yet"
    with override("ko"):
        assert Text.from_json(stored).render() != line.english()
        assert "IN-1" in Text.from_json(stored).render()
    # A sentence whose parameters do not fit is shown as written rather than failing.
    assert Text("%(missing)s and %(x)s", {"x": 1}).render() == "%(missing)s and %(x)s"


def test_the_registry_refuses_a_second_runner_for_a_kind_and_ignores_a_repeat():
    from django.core.exceptions import ImproperlyConfigured

    def one(run):
        return None

    def two(run):
        return None

    with registry.ACTION_RUNNERS.registered(one, key="test.kind"):
        registry.ACTION_RUNNERS.register(one, key="test.kind")  # ready() twice: fine
        with pytest.raises(ImproperlyConfigured):
            registry.ACTION_RUNNERS.register(two, key="test.kind")
        assert registry.ACTION_RUNNERS.get("test.kind") is one
    assert registry.ACTION_RUNNERS.get("test.kind") is None
    # The apps registered theirs at start-up.
    kinds = {k for k, _ in registry.ACTION_RUNNERS.items()}
    assert {"channel.start", "channel.restart", "flow.stop", "channel.failover_fix"} <= kinds


class Leaky:
    """A runner whose lines and result carry a stream key and the cloud's SecretKey (a cloud
    error quoting a push URL, a plan quoting a setting)."""

    URL = "rtmp://push.example/live/kbo001m?txSecret=abc123"

    def __call__(self, run):
        run.progress(text(gettext_noop("Pushing to %(url)s."), url=self.URL))
        key = run.params["key"]
        failed = text(gettext_noop("The cloud said: %(error)s"), error=f"bad key {key}")
        line = text(gettext_noop("Failed: %(why)s"), why=failed)
        return Outcome(ok=False, text=line, result={"url": self.URL, "key": key})


@pytest.mark.django_db(transaction=True)
def test_no_stream_key_or_secret_key_in_an_action_stored_or_shown(
    enqueued, settings, admin_user, operator_client
):
    from django.test import Client

    secret = "TencentSecretKey-0123456789abcdef"
    settings.TENCENTCLOUD_SECRET_KEY = secret
    with registry.ACTION_RUNNERS.registered(Leaky(), key=KIND):
        action = _begin(params={"key": secret, "url": Leaky.URL})
        action_run_task(action.pk)
    row = OperatorAction.objects.get()
    stored = str([row.progress, row.outcome, row.outcome_msg])
    assert "kbo001m" not in stored and "abc123" not in stored and secret not in stored
    assert "rtmp://push.example/live/****?txSecret=****" in row.progress[0]["step"]
    api = operator_client.get(f"/api/v1/actions/{row.pk}/").content.decode()
    admin = Client()
    admin.force_login(admin_user)
    page = admin.get(f"/admin/actions/operatoraction/{row.pk}/change/").content.decode()
    for shown in (api, page):
        assert "kbo001m" not in shown and "abc123" not in shown and secret not in shown
        assert "push.example/live/****" in shown
    # Rows written before lines were hidden on the way in are hidden when read.
    OperatorAction.objects.filter(pk=row.pk).update(
        progress=[{"at": row.progress[0]["at"], "step": f"Pushing to {Leaky.URL}."}],
        outcome=f"bad key {secret}",
        outcome_msg={},
    )
    api = operator_client.get(f"/api/v1/actions/{row.pk}/").content.decode()
    assert "kbo001m" not in api and secret not in api
