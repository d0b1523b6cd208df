import time

import pytest

from broadcastops.inventory.models import ChannelStatus, FailoverEvent, InputRole, LiveChannel
from broadcastops.inventory.services.sync import inventory_poll
from broadcastops.notify.models import Notification

pytestmark = pytest.mark.django_db(transaction=True)

KBO_MAIN_INPUT = "67439FB911259F588B73"  # channel-kbo-001: paired, 3000 ms, CURRENT_PREFERRED


def test_cutting_main_shows_failover_event_and_one_notification(demo, slack):
    inventory_poll()
    assert LiveChannel.objects.get(name="channel-kbo-001").active_input == InputRole.MAIN
    demo.control("signal", {"input_id": KBO_MAIN_INPUT, "pipeline": None, "present": False})
    # LossThreshold is 3000 ms and statistics come in 5 s samples: within two 10 s polls.
    # Real time, not /_sim/clock: the poll asks for statistics up to the console's own now,
    # so samples the simulator stamps ahead of it are not read (NONE instead of BACKUP).
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        time.sleep(2)
        inventory_poll(full=True)
        kbo = LiveChannel.objects.get(name="channel-kbo-001")
        if kbo.active_input == InputRole.BACKUP:
            break
    assert kbo.active_input == InputRole.BACKUP, kbo.pipelines
    events = FailoverEvent.objects.filter(channel=kbo, kind="failover")
    assert events.count() == 2  # one per pipeline, the log line and the observation merged
    assert ChannelStatus.objects.filter(channel=kbo, active_input=InputRole.BACKUP).count() == 1
    sent = Notification.objects.filter(subject=kbo.cloud_id, event="channel.failover")
    assert sent.count() == 1  # both pipelines, statistics and log lines: one alert
    # The moment without input that every failover passes through is recorded, not alerted.
    assert not Notification.objects.filter(event="channel.input_lost").exists()
    # Later polls see the same state and the same log lines: nothing new is recorded.
    inventory_poll(full=True)
    inventory_poll(full=True)
    assert FailoverEvent.objects.filter(channel=kbo, kind="failover").count() == 2
    assert Notification.objects.filter(subject=kbo.cloud_id).count() == 1


def test_a_channel_without_protection_loses_its_input_and_says_so(demo, slack, settings):
    settings.INVENTORY_INPUT_LOST_GRACE_S = 0
    inventory_poll()
    # channel-news-001: failover toggled on with no backup selected (the incident).
    demo.control("signal", {"input_id": "66732A8541BA2ADDE134", "pipeline": None, "present": False})
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        time.sleep(2)
        inventory_poll(full=True)
        if Notification.objects.filter(event="channel.input_lost").exists():
            break
    news = LiveChannel.objects.get(name="channel-news-001")
    assert news.active_input == InputRole.NONE and news.health == "red"
    alert = Notification.objects.get(event="channel.input_lost")
    assert alert.subject == news.cloud_id and "lost its input" in str(alert.title_message)


def test_a_channel_just_started_gets_the_grace_period_before_an_input_alert(demo, slack):
    from datetime import timedelta

    from django.utils import timezone

    from broadcastops.inventory.services.status import input_lost_for_grace

    inventory_poll()
    news = LiveChannel.objects.get(name="channel-news-002")
    now = timezone.now()
    LiveChannel.objects.filter(pk=news.pk).update(changed_at=now - timedelta(seconds=5))
    news.refresh_from_db()
    assert not input_lost_for_grace(news, 0, now)
    assert input_lost_for_grace(news, 0, now + timedelta(seconds=60))
