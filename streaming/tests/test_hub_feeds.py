"""Every way to a camera's feed ends with the feed closed when nobody watches it.

``Hub.feed()`` used to hand out a feed that nothing closed unless a join followed (its tasks
ran and its session was read every few seconds, for good): the MJPEG view left one behind
when the client went away before reading. A feed is now made only inside
``Hub.feed_pinned``, whose end closes it if nobody stayed.
"""

import asyncio
import inspect
import threading
import typing

import pytest

from streaming import hub as hub_module
from streaming.hub import CameraFeed, Hub, ViewerSlot
from streaming.tests.test_producer import _spec

pytestmark = [pytest.mark.django_db(transaction=True)]


async def _nothing(_data) -> None:
    pass


def _slot() -> ViewerSlot:
    return ViewerSlot(width=320, max_fps=15.0, send=_nothing, send_text=_nothing)


async def _closed(hub: Hub, feed: CameraFeed) -> None:
    """The feed is gone from the hub and its tasks end (closed, not only forgotten)."""
    assert feed.camera_id not in hub.feeds
    assert hub.demand_snapshot.get(feed.camera_id) is None
    async with asyncio.timeout(5):
        while not all(task.done() for task in feed._tasks):
            await asyncio.sleep(0.01)


def test_no_public_hub_method_hands_out_a_feed_outside_a_pin():
    """Only ``feed_pinned`` (a block whose end closes the feed) and ``join`` (a feed with a
    viewer, closed by its ``leave``) return a feed; a getter like the old ``Hub.feed()``
    would make one that nothing closes."""
    handing_out = set()
    for name, member in inspect.getmembers(Hub, callable):
        if name.startswith("_"):
            continue
        returned = typing.get_type_hints(member).get("return")
        if returned is CameraFeed or CameraFeed in typing.get_args(returned):
            handing_out.add(name)
    assert handing_out == {"feed_pinned", "join"}


async def test_a_join_with_the_session_already_read_reads_none_and_leaves_no_feed(monkeypatch):
    reads: list[str] = []

    def read(*, camera_id):
        reads.append(camera_id)
        return None, []

    monkeypatch.setattr(hub_module, "camera_feed_get", read)
    hub = Hub(asyncio.get_running_loop())
    spec = _spec("clip.mp4")
    slot = _slot()

    feed = await hub.join("cam-1", slot, spec=spec)

    assert feed.spec == spec and reads == []
    assert hub.feeds["cam-1"] is feed and hub.demand_snapshot["cam-1"] == {320: 15.0}
    hub.leave("cam-1", slot)
    await _closed(hub, feed)


async def test_a_pinned_block_that_joins_nobody_or_fails_leaves_no_feed(monkeypatch):
    monkeypatch.setattr(hub_module, "camera_feed_get", lambda *, camera_id: (None, []))
    hub = Hub(asyncio.get_running_loop())

    async with hub.feed_pinned("cam-idle") as idle:
        assert hub.feeds["cam-idle"] is idle
    await _closed(hub, idle)

    with pytest.raises(RuntimeError):
        async with hub.feed_pinned("cam-fails") as failed:
            raise RuntimeError("the caller failed before its join")
    await _closed(hub, failed)


async def test_a_join_cancelled_or_failing_in_its_session_read_leaves_no_feed(monkeypatch):
    """A socket closed while its join waits for the session read (cancelled), and a read
    that fails (the database away): neither leaves the feed it made."""
    started = threading.Event()
    release = threading.Event()

    def held(*, camera_id):
        if camera_id == "cam-broken":
            raise ConnectionError("the database is away")
        started.set()
        assert release.wait(10)
        return None, []

    monkeypatch.setattr(hub_module, "camera_feed_get", held)
    hub = Hub(asyncio.get_running_loop())

    joining = asyncio.ensure_future(hub.join("cam-cancelled", _slot()))
    async with asyncio.timeout(5):
        while not started.is_set():
            await asyncio.sleep(0.01)
    feed = hub.feeds["cam-cancelled"]
    joining.cancel()
    with pytest.raises(asyncio.CancelledError):
        await joining
    release.set()
    await _closed(hub, feed)

    with pytest.raises(ConnectionError):
        await hub.join("cam-broken", _slot())
    assert "cam-broken" not in hub.feeds
    assert hub.demand_snapshot.get("cam-broken") is None
