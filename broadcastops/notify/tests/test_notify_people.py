"""notify()'s recipients, channels, languages and throttle (issue 14)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from broadcastops.notify import messages as m
from broadcastops.notify.models import Notification, NotifyProfile
from broadcastops.notify.services import notification_deliver, notify

pytestmark = pytest.mark.django_db

Status = Notification.Status


def _alert(n: int = 0, **overrides):
    kwargs = {
        "event": "channel.flapping",
        "subject": f"channel-{n}",
        "severity": "warning",
        "title": m.FLAPPING_TITLE(subject=f"channel-{n}"),
    }
    kwargs.update(overrides)
    return notify(**kwargs)


def _deliver(row):
    return notification_deliver(notification_id=row.pk)


def test_a_recipient_is_mentioned_by_slack_id_in_their_own_language(slack, operator):
    NotifyProfile.objects.create(user=operator, slack_user_id="U0KBO0001", language="zh-hant")
    assert _deliver(_alert(recipients=[operator])).status == Status.SENT
    (posted,) = slack.received
    assert "<@U0KBO0001>" in posted["text"]
    assert "反覆切換中" in posted["text"]  # Traditional Chinese, the recipient's choice


def test_korean_is_the_default_language(slack, operator):
    _deliver(_alert(recipients=[operator]))  # no profile: Slack, in Korean
    assert "불안정하게" in slack.received[0]["text"]
    assert "<@" not in slack.received[0]["text"]  # no Slack id, nobody to mention


def test_email_goes_through_djangos_mail_backend_in_the_readers_language(slack, operator):
    operator.email = "op@example.com"
    operator.save()
    NotifyProfile.objects.create(user=operator, channels=NotifyProfile.Channels.EMAIL)
    row = _deliver(_alert(recipients=[operator]))
    assert row.status == Status.SENT and row.emailed_at is not None
    assert slack.received == []  # they chose e-mail only
    (sent,) = mail.outbox  # the locmem backend
    assert sent.to == ["op@example.com"] and "불안정하게" in sent.subject
    _deliver(row)  # delivering again e-mails nobody again
    assert len(mail.outbox) == 1


def test_the_same_alert_is_suppressed_for_five_minutes_and_counted(slack, settings):
    assert settings.NOTIFY_DEDUP_WINDOW_S == 300
    first = _alert()
    assert _alert().pk == first.pk
    Notification.objects.filter(pk=first.pk).update(
        created_at=timezone.now() - timedelta(seconds=299)
    )
    again = _alert()
    assert again.pk == first.pk and again.suppressed_count == 2
    Notification.objects.filter(pk=first.pk).update(
        created_at=timezone.now() - timedelta(seconds=301)
    )
    assert _alert().pk != first.pk


def test_at_most_five_non_critical_per_ten_minutes_critical_at_once_held_reported(slack, settings):
    assert (settings.NOTIFY_RATE_MAX, settings.NOTIFY_RATE_WINDOW_S) == (5, 600)
    rows = [_deliver(_alert(n)) for n in range(7)]
    assert [r.status for r in rows] == [Status.SENT] * 5 + [Status.HELD] * 2
    critical = _deliver(_alert(99, severity="critical"))
    assert critical.status == Status.SENT and len(slack.received) == 6
    footer = slack.received[-1]["blocks"][-1]["elements"][0]["text"]
    assert "2" in footer.split(" · ")[2]  # after the date: the two held back, said
    # Ten minutes later the channel takes non-critical alerts again.
    Notification.objects.filter(status=Status.SENT).update(
        sent_at=timezone.now() - timedelta(seconds=601)
    )
    later = _deliver(_alert(7))
    assert later.status == Status.SENT


def test_a_once_notification_is_neither_folded_into_flapping_nor_throttled(slack, settings):
    settings.NOTIFY_FLAP_THRESHOLD = 2
    for n in range(5):
        _deliver(_alert(n))  # the throttle is full
    steps = [
        _alert(0, event=f"schedule.{n}", dedup_key=f"schedule.step:{n}", once=True)
        for n in range(3)
    ]
    assert {s.event for s in steps} == {"schedule.0", "schedule.1", "schedule.2"}
    assert [_deliver(s).status for s in steps] == [Status.SENT] * 3
    # Its key still de-duplicates it: a step run again tells nobody twice.
    again = _alert(0, event="schedule.0", dedup_key="schedule.step:0", once=True)
    assert again.pk == steps[0].pk and Notification.objects.filter(event="schedule.0").count() == 1
