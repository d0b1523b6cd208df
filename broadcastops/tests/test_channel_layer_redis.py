"""The Redis channel layer as the settings configure it, against a real Redis."""

from channels_redis.core import RedisChannelLayer
from django.conf import settings

from broadcastops.tests.helpers import run_django

# In a fresh process with REDIS_URL set: the project's own layer, from its settings.
LATE_RECEIVE = """
import asyncio, time
from channels.layers import get_channel_layer

layer = get_channel_layer()

async def scenario():
    channel = await layer.new_channel()

    async def send_later():
        await asyncio.sleep(7)
        await layer.send(channel, {"type": "late.message"})

    sender = asyncio.ensure_future(send_later())
    started = time.monotonic()
    try:
        message = await asyncio.wait_for(layer.receive(channel), 15)
    except Exception as exc:
        message = {"error": repr(exc)}
    sender.cancel()
    await layer.flush()
    return message, time.monotonic() - started

message, waited = asyncio.run(scenario())
print(json.dumps({"message": message, "waited": waited}))
"""


def test_the_block_time_is_channels_redis_own():
    assert RedisChannelLayer.brpop_timeout == settings.CHANNEL_LAYER_BLOCK_S


def test_a_receive_waits_past_the_blocking_read_without_a_timeout(redis_url):
    """redis-py 8 reads with a 5 s timeout by default, the time channels_redis blocks for.

    A receive that waits 7 s for a message must get it, not a TimeoutError at 5 s: until
    the settings gave the layer a longer read timeout, every listener (the live-monitoring
    hub's control channel) failed and reconnected every 5 s in the scaled mode.
    """
    result = run_django(LATE_RECEIVE, {"REDIS_URL": redis_url})
    assert result.get("message") == {"type": "late.message"}, result
    assert result["waited"] >= 6.5


# A socket waits on its channel (it holds channels_redis's receive lock); the health check's
# round trip and the dashboard feed's nudge must still arrive at once.
BESIDE_A_SOCKET = """
import asyncio, time
from channels.layers import get_channel_layer
from broadcastops.health import _layer_roundtrip

layer = get_channel_layer()

async def scenario():
    socket = await layer.new_channel()
    waiting = asyncio.ensure_future(layer.receive(socket))
    await asyncio.sleep(0.3)
    started = time.monotonic()
    await asyncio.wait_for(_layer_roundtrip(), 3)
    health_s = time.monotonic() - started
    feed = await layer.new_channel()
    await layer.group_add("inventory.dashboard", feed)
    nudged = asyncio.ensure_future(layer.receive(feed))
    await asyncio.sleep(0.3)
    started = time.monotonic()
    await layer.group_send("inventory.dashboard", {"type": "dashboard.changed"})
    await asyncio.wait_for(nudged, 3)
    nudge_s = time.monotonic() - started
    waiting.cancel()
    await layer.flush()
    return health_s, nudge_s

health_s, nudge_s = asyncio.run(scenario())
print(json.dumps({"health_s": health_s, "nudge_s": nudge_s}))
"""


def test_the_health_check_and_the_dashboard_nudge_pass_beside_a_waiting_socket(redis_url):
    result = run_django(BESIDE_A_SOCKET, {"REDIS_URL": redis_url})
    assert "stderr" not in result, result
    assert result["health_s"] < 1.0 and result["nudge_s"] < 1.0, result
