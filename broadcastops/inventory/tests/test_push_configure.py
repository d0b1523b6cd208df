"""Configuring a channel's push callbacks: through the action engine, nothing else changes."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from broadcastops.actions.models import OperatorAction
from broadcastops.cloud.tencent import tencent_gateway
from broadcastops.inventory.models import LiveChannel
from broadcastops.inventory.services.sync import inventory_poll
from broadcastops.tests.helpers import actions_run_pending

pytestmark = pytest.mark.django_db(transaction=True)

IDLE_CHANNEL = "68532682315FF4744F70"  # channel-kbo-003, idle
RUNNING_CHANNEL = "69220B6482B6EAF453CC"  # channel-kbo-001, on air
URL = "https://ops.example.com/api/v1/tencent/events"
KEY = "configure-test-key-77"


@pytest.fixture
def configured(demo, settings):
    settings.TENCENT_EVENTS_NOTIFY_URL = URL
    settings.TENCENT_EVENTS_NOTIFY_KEY = KEY
    inventory_poll()
    return demo


def describe(channel_id: str) -> dict:
    return tencent_gateway()._call("mdl", "DescribeStreamLiveChannel", {"Id": channel_id})["Info"]


def test_the_command_sets_the_callbacks_and_nothing_else(configured, capsys):
    before = describe(IDLE_CHANNEL)
    call_command("configure_callbacks", "channel-kbo-003", "--no-wait")
    action = OperatorAction.objects.get(action="channel.push_events")
    assert action.origin == "command" and action.target_id == IDLE_CHANNEL
    actions_run_pending()
    action.refresh_from_db()
    assert action.status == "succeeded", action.outcome
    after = describe(IDLE_CHANNEL)
    push_settings = {"NotifyUrl": URL, "NotifyKey": KEY}
    assert after["EventNotifySettings"] == {"PushEventSettings": push_settings}
    assert {k: v for k, v in after.items() if k != "EventNotifySettings"} == {
        k: v for k, v in before.items() if k != "EventNotifySettings"
    }
    modifies = configured.requests("mdl", "ModifyStreamLiveChannel")
    assert len(modifies) == 1
    assert LiveChannel.objects.get(cloud_id=IDLE_CHANNEL).notify_url == URL
    # The key went to the cloud only: not into the audit trail or the command's output.
    assert KEY not in str(action.params) + str(action.outcome) + str(action.progress)
    assert KEY not in capsys.readouterr().out


def test_a_running_channel_that_the_cloud_will_not_edit_fails_clearly(configured):
    call_command("configure_callbacks", "channel-kbo-001", "--no-wait")
    actions_run_pending()
    action = OperatorAction.objects.get(action="channel.push_events")
    assert action.status == "failed"
    assert "idle" in str(action.outcome)
    assert describe(RUNNING_CHANNEL)["EventNotifySettings"]["PushEventSettings"]["NotifyUrl"] == ""
    assert configured.requests("mdl", "StopStreamLiveChannel") == []  # never taken off air


def test_without_url_or_key_nothing_is_begun(configured, settings):
    settings.TENCENT_EVENTS_NOTIFY_URL = ""
    with pytest.raises(CommandError, match="TENCENT_EVENTS_NOTIFY_URL"):
        call_command("configure_callbacks", "channel-kbo-003", "--no-wait")
    assert not OperatorAction.objects.exists()


def test_the_admin_action_configures_the_chosen_channels(configured, client, operator, viewer):
    channels = LiveChannel.objects.filter(cloud_id__in=[IDLE_CHANNEL, "66F1779B1AB2DFF5BDAA"])
    pks = [str(c.pk) for c in channels]
    url = "/admin/inventory/livechannel/"
    client.force_login(viewer)
    client.post(url, {"action": "configure_callbacks", "_selected_action": pks, "confirmed": "yes"})
    assert not OperatorAction.objects.exists()  # a viewer may not
    client.force_login(operator)
    page = client.post(url, {"action": "configure_callbacks", "_selected_action": pks})
    assert page.status_code == 200 and b"confirmed" in page.content  # asks first
    client.post(url, {"action": "configure_callbacks", "_selected_action": pks, "confirmed": "yes"})
    assert OperatorAction.objects.filter(action="channel.push_events", origin="admin").count() == 2
    actions_run_pending()
    for channel in channels:
        info = describe(channel.cloud_id)
        assert info["EventNotifySettings"]["PushEventSettings"]["NotifyUrl"] == URL
