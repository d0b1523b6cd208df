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
