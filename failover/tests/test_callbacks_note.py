"""The failover audit says which channels have no push callbacks, or whose do not arrive."""

import pytest
from django.utils import timezone

from broadcastops.cloud.simulator.server import load_scenario
from broadcastops.inventory.models import LiveChannel
from broadcastops.inventory.services.sync import inventory_poll

pytestmark = pytest.mark.django_db(transaction=True)

IDLE_CHANNEL = "68532682315FF4744F70"  # channel-kbo-003
RUNNING_CHANNEL = "69220B6482B6EAF453CC"  # channel-kbo-001
URL = "https://ops.example.com/api/v1/tencent/events"


@pytest.fixture
def configured(cloudsim):
    cloudsim.load(load_scenario(None))
    inventory_poll()
    return cloudsim


def test_the_failover_audit_reports_channels_without_callbacks(configured):
    from failover.services import failover_audit_run

    LiveChannel.objects.filter(cloud_id=IDLE_CHANNEL).update(notify_url=URL)
    verdicts = {v.channel_id: v for v in failover_audit_run()}
    codes = {cid: [n.code for n in v.notes] for cid, v in verdicts.items()}
    assert "failover.note.no_callbacks" in codes[RUNNING_CHANNEL]
    assert not any(c.startswith("failover.note.callback") for c in codes[IDLE_CHANNEL])
    assert "configure_callbacks channel-kbo-001" in verdicts[RUNNING_CHANNEL].notes[-1].render("en")
    LiveChannel.objects.filter(cloud_id=IDLE_CHANNEL).update(push_missing_since=timezone.now())
    verdicts = {v.channel_id: v for v in failover_audit_run()}
    assert verdicts[IDLE_CHANNEL].notes[-1].code == "failover.note.callbacks_missing"
