from datetime import timedelta

import pytest
from django.utils import timezone

from broadcastops.notify.models import Notification
from broadcastops.notify.services import notification_deliver, notify
from broadcastops.notify.slack import DeliveryTransientError

pytestmark = pytest.mark.django_db

Status = Notification.Status


def _failover(**overrides):
    kwargs = {
        "event": "channel.failover",
        "subject": "channel-kbo-001",
        "severity": "critical",
        "title": "channel-kbo-001 switched to the BACKUP input",
        "text": "Pipeline 0 lost its MAIN input at 19:15:23.",
        "facts": {"Channel": "channel-kbo-001", "Input": "BACKUP"},
        "actions": ["Check the MAIN encoder", "Check the StreamLink MAIN flow"],
    }
    kwargs.update(overrides)
    return notify(**kwargs)


def test_notify_sends_a_block_kit_message_after_commit(slack, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        row = _failover()
    assert row.status == Status.PENDING and len(callbacks) == 1
    delivered = notification_deliver(notification_id=row.pk)
    assert delivered.status == Status.SENT and delivered.attempts == 1
    message = slack.received[0]
    assert "BACKUP" in message["text"]
    kinds = [block["type"] for block in message["blocks"]]
    assert kinds[0] == "header" and "context" in kinds
    assert "Check the MAIN encoder" in str(message["blocks"])


def test_repeats_inside_the_window_are_counted_not_sent(slack):
    first = _failover()
    again = _failover()
    assert again.pk == first.pk and again.suppressed_count == 1
    assert Notification.objects.count() == 1


def test_a_repeat_after_the_window_is_sent_again(slack, settings):
    first = _failover()
    Notification.objects.filter(pk=first.pk).update(
        created_at=timezone.now() - timedelta(seconds=settings.NOTIFY_DEDUP_WINDOW_S + 1),
        status=Status.SENT,
    )
    assert _failover().pk != first.pk


def test_a_flapping_channel_is_reported_once_as_flapping(settings):
    settings.NOTIFY_FLAP_THRESHOLD = 4
    for n in range(40):
        event = "channel.failover" if n % 2 == 0 else "channel.recovered"
        notify(
            event=event,
            subject="channel-x",
            severity="warning",
            title=f"{event} {n}",
            dedup_window_s=0,
        )
    rows = list(Notification.objects.order_by("created_at"))
    assert [r.event for r in rows] == [
        "channel.failover",
        "channel.recovered",
        "channel.failover",
        "flapping",
    ]
    flapping = rows[-1]
    assert str(flapping.title_message) == "channel-x is flapping"
    assert flapping.suppressed_count == 36


def test_transient_failures_retry_then_fail_after_the_bound(slack, settings):
    settings.NOTIFY_MAX_ATTEMPTS = 3
    slack.replies = [(503, "busy"), (429, "rate_limited"), (500, "oops")]
    row = _failover()
    for _ in range(2):
        with pytest.raises(DeliveryTransientError):
            notification_deliver(notification_id=row.pk)
    final = notification_deliver(notification_id=row.pk)
    assert final.status == Status.FAILED and final.attempts == 3
    assert "500" in final.last_error
    assert len(slack.received) == 3


def test_a_revoked_webhook_fails_at_once_without_retry(slack):
    slack.replies = [(404, "no_service")]
    row = notification_deliver(notification_id=_failover().pk)
    assert row.status == Status.FAILED and "no_service" in row.last_error


def test_an_unreachable_slack_is_transient(settings):
    settings.SLACK_WEBHOOK_URL = "http://127.0.0.1:1/services/x"
    row = _failover()
    with pytest.raises(DeliveryTransientError):
        notification_deliver(notification_id=row.pk)
    row.refresh_from_db()
    assert row.status == Status.PENDING and row.attempts == 1 and "unreachable" in row.last_error


def test_a_slow_slack_times_out(slack, settings):
    settings.NOTIFY_TIMEOUT_S = 0.2
    slack.delay_s = 1.0
    with pytest.raises(DeliveryTransientError, match="did not answer"):
        notification_deliver(notification_id=_failover().pk)


def test_without_a_webhook_the_notification_is_logged_as_skipped(settings):
    settings.SLACK_WEBHOOK_URL = ""
    row = notification_deliver(notification_id=_failover().pk)
    assert row.status == Status.SKIPPED


def test_delivery_is_idempotent(slack):
    row = _failover()
    notification_deliver(notification_id=row.pk)
    notification_deliver(notification_id=row.pk)
    assert len(slack.received) == 1


def test_a_failure_to_record_never_breaks_the_caller(monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("database is locked")

    monkeypatch.setattr(Notification.objects, "create", broken)
    assert _failover() is None


def test_the_log_reads_in_the_readers_language_and_searches_the_stored_messages(admin_client):
    from broadcastops.inventory import messages as m

    notify(
        event="channel.failover",
        subject="69220B6482B6EAF453CC",
        severity="critical",
        title=m.FAILOVER_TITLE(name="channel-kbo-001"),
        text=m.FAILOVER_TEXT(where=m.WHERE_PIPELINE(pipeline=0), time="19:15:23"),
    )
    page = admin_client.get(
        "/admin/notify/notification/?q=kbo-001", HTTP_ACCEPT_LANGUAGE="ko"
    ).content.decode()
    # Found by a parameter of its stored title, shown in Korean.
    assert "channel-kbo-001 이(가) BACKUP 입력으로 전환되었습니다" in page
    missing = admin_client.get("/admin/notify/notification/?q=nothing-like-it").content.decode()
    assert "channel-kbo-001" not in missing


def test_an_uncalled_message_kind_is_refused_not_stored_as_its_repr():
    from broadcastops.notify import messages as nm

    row = _failover(facts={nm.FACT_CHANNEL: "channel-kbo-001"})
    assert row is None  # logged; the caller goes on
    assert not Notification.objects.exists()
