from datetime import timedelta

import pytest
from django.utils import timezone

from broadcastops.cloud.simulator.server import load_scenario

KBO3 = "68532682315FF4744F70"  # channel-kbo-003: IDLE, fed by the idle flows kbo003_m / _b
KBO3_FLOWS = {"67182B994C5BFA02F490", "65C0D87F77C67125A4DE"}
NEWS2 = "66F1779B1AB2DFF5BDAA"  # channel-news-002: IDLE


@pytest.fixture
def synced(cloudsim, db, settings):
    """The demo scenario in a simulator, polled once into the inventory; fast waits."""
    from broadcastops.inventory.services.sync import inventory_poll

    settings.INVENTORY_RESTART_POLL_S = 0.05
    settings.INVENTORY_RESTART_TIMEOUT_S = 10
    cloudsim.load(load_scenario(None))
    inventory_poll()
    return cloudsim


@pytest.fixture
def kbo3(synced):
    from broadcastops.inventory.models import LiveChannel

    return LiveChannel.objects.get(cloud_id=KBO3)


@pytest.fixture
def news2(synced):
    from broadcastops.inventory.models import LiveChannel

    return LiveChannel.objects.get(cloud_id=NEWS2)


def at(minutes: float):
    return timezone.now() + timedelta(minutes=minutes)
