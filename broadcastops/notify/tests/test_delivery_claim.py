"""One notification is posted once, whoever is given it: two workers, a redelivered task,
the sweep that queues again what was never delivered."""

from datetime import timedelta

import pytest
from django.utils import timezone

from broadcastops.notify import services
from broadcastops.notify.models import Notification
from broadcastops.notify.services import notification_deliver, notification_redeliver, notify
from broadcastops.notify.slack import DeliveryTransientError

pytestmark = pytest.mark.django_db

Status = Notification.Status


def _alert(**overrides):
    kwargs = {
        "event": "channel.failover",
        "subject": "channel-kbo-001",
        "severity": "critical",
        "title": "channel-kbo-001 switched to the BACKUP input",
    }
    kwargs.update(overrides)
    return notify(**kwargs)


def test_a_second_delivery_while_the_first_is_posting_does_nothing(slack, monkeypatch):
    row = _alert()
    real_post = services.slack_post
    during = []

    def post_and_meanwhile_deliver_again(**kwargs):
        # Another worker is given the same row while this one waits for Slack.
        during.append(notification_deliver(notification_id=row.pk, claimant="task-b"))
        return real_post(**kwargs)

    monkeypatch.setattr(services, "slack_post", post_and_meanwhile_deliver_again)
    sent = notification_deliver(notification_id=row.pk, claimant="task-a")
    assert sent.status == Status.SENT and sent.claimed_until is None
    assert during[0].status == Status.PENDING
    assert len(slack.received) == 1


def test_a_delivery_that_died_frees_the_row_when_its_hold_ends(slack):
    row = _alert()
    Notification.objects.filter(pk=row.pk).update(
        claimed_until=timezone.now() + timedelta(seconds=60), claimed_by="task-dead"
    )
    assert notification_deliver(notification_id=row.pk).status == Status.PENDING
    assert slack.received == []
    Notification.objects.filter(pk=row.pk).update(
        claimed_until=timezone.now() - timedelta(seconds=1)
    )
    assert notification_deliver(notification_id=row.pk).status == Status.SENT
    assert len(slack.received) == 1


def test_the_retrying_task_keeps_its_claim_and_nobody_else_posts_meanwhile(slack, settings):
    slack.replies = [(503, "busy")]
    row = _alert()
    with pytest.raises(DeliveryTransientError):
        notification_deliver(notification_id=row.pk, claimant="task-a")
    row.refresh_from_db()
    assert row.status == Status.PENDING and row.claimed_by == "task-a"
    assert row.claimed_until > timezone.now() + timedelta(seconds=300)
    # A duplicate task (another id) is turned away while the retry waits; the retry goes on.
    assert notification_deliver(notification_id=row.pk, claimant="task-b").attempts == 1
    assert notification_deliver(notification_id=row.pk, claimant="task-a").status == Status.SENT
    assert len(slack.received) == 2  # the 503 and the post


def test_an_anonymous_caller_lets_the_row_go_after_a_transient_failure(slack):
    slack.replies = [(503, "busy")]
    row = _alert()
    with pytest.raises(DeliveryTransientError):
        notification_deliver(notification_id=row.pk)
    row.refresh_from_db()
    assert row.claimed_until is None and row.attempts == 1


def test_the_last_failure_releases_the_row(slack, settings):
    settings.NOTIFY_MAX_ATTEMPTS = 1
    slack.replies = [(503, "busy")]
    row = notification_deliver(notification_id=_alert().pk, claimant="task-a")
    assert row.status == Status.FAILED and row.claimed_until is None


def test_the_sweep_queues_again_what_was_never_delivered(slack, settings, monkeypatch):
    queued = []
    monkeypatch.setattr(services, "_enqueue", queued.append)
    now = timezone.now()
    lost = _alert(subject="lost")
    fresh = _alert(subject="fresh")
    held = _alert(subject="held")
    stale = _alert(subject="stale")
    sent = _alert(subject="sent")
    old = now - timedelta(seconds=settings.NOTIFY_REDELIVER_AFTER_S + 5)
    Notification.objects.filter(pk__in=[lost.pk, held.pk, sent.pk]).update(created_at=old)
    Notification.objects.filter(pk=stale.pk).update(created_at=now - timedelta(days=2))
    Notification.objects.filter(pk=held.pk).update(claimed_until=now + timedelta(seconds=30))
    Notification.objects.filter(pk=sent.pk).update(status=Status.SENT)
    assert notification_redeliver(now=now) == 1
    assert queued == [lost.pk]
    assert fresh.pk not in queued
    notification_deliver(notification_id=lost.pk)
    assert len(slack.received) == 1
    # Delivered: the next sweep leaves it.
    assert notification_redeliver(now=now) == 0 and queued == [lost.pk]


def test_a_broker_outage_at_raise_time_is_recovered_by_the_sweep(
    slack, settings, monkeypatch, django_capture_on_commit_callbacks
):
    from broadcastops.notify import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379")

    monkeypatch.setattr(tasks.notification_deliver_task, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        row = _alert()  # the caller is not broken by the outage
    assert row.status == Status.PENDING
    Notification.objects.filter(pk=row.pk).update(
        created_at=timezone.now() - timedelta(seconds=settings.NOTIFY_REDELIVER_AFTER_S + 1)
    )
    delivered = []
    monkeypatch.setattr(
        tasks.notification_deliver_task,
        "delay",
        lambda pk: delivered.append(notification_deliver(notification_id=pk)),
    )
    tasks.notification_redeliver_task()
    assert [d.status for d in delivered] == [Status.SENT]
    assert len(slack.received) == 1
