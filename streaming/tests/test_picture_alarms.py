"""Picture alarms: the judgement on synthetic frames with a driven clock, then real producers
on clips that freeze, go black, or lose their producer, recorded and notified once each way."""

import asyncio
import json
import time

import cv2
import numpy as np
import pytest
from channels.db import database_sync_to_async
from prometheus_client import REGISTRY

from broadcastops.notify.models import Notification
from streaming import runtime, services
from streaming.alarms import AlarmThresholds, LostWatch, PictureWatch
from streaming.models import PictureAlarm

THRESHOLDS = AlarmThresholds(
    frozen_s=5.0, black_s=5.0, lost_s=5.0, frozen_diff=1.0, black_luma=16.0, sample_fps=2.0
)


def _picture(index: int, *, level: int = 120, size=(1280, 720)) -> np.ndarray:
    width, height = size
    image = np.full((height, width, 3), level, np.uint8)
    x = (index * 40) % (width - 40)
    image[:, x : x + 40] = (0, 0, 255)
    return image


def _watch() -> PictureWatch:
    return PictureWatch(camera_id="cam-1", session_id="s-1", thresholds=THRESHOLDS)


def _changes(watch, pictures, *, start=1000.0, step=0.5):
    """Feed ``pictures`` at ``step`` seconds apart; (time, kind, opened) of each change."""
    seen = []
    for n, picture in enumerate(pictures):
        now = start + n * step
        seen += [(now - start, c.kind, c.opened) for c in watch.observe(picture, now)]
    return seen


def test_a_moving_picture_raises_nothing_beyond_the_first_all_clear():
    seen = _changes(_watch(), [_picture(i) for i in range(40)])
    # The first judgement clears what an earlier process may have left open; then silence.
    assert seen == [(0.0, "black", False), (0.0, "frozen", False)]


def test_a_picture_that_stops_changing_is_frozen_after_n_seconds_once_then_resolves():
    still = _picture(3)
    noisy = [
        np.clip(
            still.astype(np.int16) + np.random.default_rng(n).integers(-2, 3, still.shape), 0, 255
        ).astype(np.uint8)
        for n in range(16)
    ]
    pictures = [_picture(i) for i in range(4)] + noisy + [_picture(i) for i in range(10, 14)]
    seen = _changes(_watch(), pictures)[2:]
    # Unchanged (within the encoder-like noise) from sample 3 (t=1.5 s): frozen at 6.5 s,
    # resolved by the first moving sample (t=10 s); opened once, not once per sample.
    assert seen == [(6.5, "frozen", True), (10.0, "frozen", False)]


def test_a_black_picture_is_black_not_frozen():
    pictures = (
        [_picture(i) for i in range(4)]
        + [np.full((720, 1280, 3), 8, np.uint8)] * 14
        + [_picture(i) for i in range(4)]
    )
    seen = _changes(_watch(), pictures)[2:]
    assert seen == [(7.0, "black", True), (9.0, "black", False)]


def test_a_dark_moving_picture_above_the_threshold_is_no_alarm():
    seen = _changes(_watch(), [_picture(i, level=30) for i in range(30)])[2:]
    assert seen == []


def test_sampling_takes_a_few_frames_a_second():
    watch = _watch()
    taken = 0
    for n in range(300):  # 10 s of a 30 frames/s camera
        now = 1000.0 + n / 30
        if watch.due(now):
            watch.observe(_picture(n, size=(320, 180)), now)
            taken += 1
    assert 19 <= taken <= 21


def test_a_lost_feed_opens_after_n_seconds_and_resolves_with_the_next_frame():
    lost = LostWatch(THRESHOLDS)
    judge = lambda last, now: [  # noqa: E731
        (c.kind, c.opened)
        for c in lost.judge(camera_id="c", session_id="s", last_frame_at=last, now=now)
    ]
    assert judge(100.0, 100.5) == [("lost", False)]  # the first all-clear of the session
    assert judge(100.0, 104.9) == []
    assert judge(100.0, 105.0) == [("lost", True)]
    assert judge(100.0, 109.0) == []  # once
    assert judge(109.5, 109.6) == [("lost", False)]
    assert judge(109.5, 110.0) == []
    assert judge(109.5, 120.0) == [("lost", True)]
    assert [(c.kind, c.opened) for c in lost.forget("c", 121.0)] == [("lost", False)]


# -- real producers, the database and notify ---------------------------------------------------


def _clip(path, *, moving_s, still_s, after_s, black=False, fps=30.0, size=(320, 180)):
    """Moving, then still (or black) for ``still_s``, then moving again."""
    width, height = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    frames = [int(moving_s * fps), int(still_s * fps), int(after_s * fps)]
    index = 0
    for part, count in enumerate(frames):
        for _ in range(count):
            if part == 1:
                image = (
                    np.zeros((height, width, 3), np.uint8)
                    if black
                    else _picture(frames[0], size=size)
                )
            else:
                image = _picture(index, size=size)
            writer.write(image)
            index += 1
    writer.release()
    return path


@pytest.fixture
def alarms_on(settings):
    settings.STREAMING_ALARM_SAMPLE_FPS = 10.0
    settings.STREAMING_ALARM_FROZEN_S = 0.8
    settings.STREAMING_ALARM_BLACK_S = 0.8
    settings.STREAMING_ALARM_LOST_S = 1.0
    settings.NOTIFY_FLAP_THRESHOLD = 100
    return settings


def _start(camera_id, path):
    upload = services.upload_create(
        camera_id=camera_id, incoming_path=path, original_name=path.name, actor=None
    )
    return services.stream_start(camera_id=camera_id, upload=upload), upload


def _until(predicate, timeout_s, what):
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _alarms(camera_id):
    return list(PictureAlarm.objects.filter(camera_id=camera_id).order_by("opened_at"))


def _notified(camera_id):
    notified = Notification.objects.filter(subject=f"camera:{camera_id}")
    return sorted(notified.values_list("event", flat=True))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("kind", "black"), [("frozen", False), ("black", True)])
def test_an_unwatched_clip_that_freezes_or_goes_black_raises_once_and_resolves(
    alarms_on, tmp_path, kind, black
):
    camera = f"cam-{kind}"
    path = _clip(tmp_path / f"{kind}.mp4", moving_s=0.5, still_s=2.2, after_s=4.0, black=black)
    _start(camera, path)
    # Nobody watches: the producer samples and encodes nothing.
    _until(lambda: any(a.resolved_at for a in _alarms(camera)), 8, f"no {kind} alarm resolved")
    alarms = _alarms(camera)
    assert [(a.kind, a.resolved_at is not None) for a in alarms] == [(kind, True)]
    duration = (alarms[0].resolved_at - alarms[0].opened_at).total_seconds()
    assert 0.6 < duration < 2.0, duration  # the 2.2 s still part, less the 0.8 s to judge it
    assert _notified(camera) == [f"streaming.alarm.{kind}", f"streaming.alarm.{kind}.resolved"]
    producer = runtime.producer_manager().get(camera)
    assert producer.frames_encoded == 0 and producer.frames_retrieved > 10
    assert producer.frames_grabbed > producer.frames_retrieved  # the skipped ones: grab() only
    samples = {
        (s.name, tuple(s.labels.values())): s.value
        for metric in REGISTRY.collect()
        if metric.name.startswith("broadcastops_picture_alarms")
        for s in metric.samples
    }
    assert samples[("broadcastops_picture_alarms_total", (kind,))] == 1
    assert samples[("broadcastops_picture_alarms_open", (kind,))] == 0


@pytest.mark.django_db(transaction=True)
def test_a_producer_that_dies_raises_lost_feed_once_and_resolves_when_it_is_back(
    alarms_on, tmp_path, make_clip
):
    path = make_clip("steady.mp4", frames=300, fps=30.0)
    _session, upload = _start("cam-lost", path)
    manager = runtime.producer_manager()
    _until(lambda: manager.get("cam-lost") is not None, 3, "no producer")
    _until(lambda: "cam-lost" in manager.frame_times, 3, "no frame decoded")
    # The file goes away and the producer dies: its restarts cannot open the file.
    hidden = upload.path.with_suffix(".hidden")
    upload.path.rename(hidden)
    manager.get("cam-lost").halt()
    _until(lambda: _alarms("cam-lost"), 5, "no lost-feed alarm")
    assert [a.kind for a in _alarms("cam-lost")] == ["lost"]
    time.sleep(1.0)  # still lost: still one alarm, one notification
    assert len(_alarms("cam-lost")) == 1
    assert _notified("cam-lost") == ["streaming.alarm.lost"]
    # The file is back: the monitor's next restart produces frames again.
    hidden.rename(upload.path)
    _until(lambda: _alarms("cam-lost")[0].resolved_at is not None, 8, "lost feed not resolved")
    assert _notified("cam-lost") == ["streaming.alarm.lost", "streaming.alarm.lost.resolved"]
    assert manager.get("cam-lost").is_alive()


@pytest.mark.django_db(transaction=True)
def test_stopping_the_stream_resolves_its_open_alarm(alarms_on, tmp_path):
    path = _clip(tmp_path / "still.mp4", moving_s=0.3, still_s=8.0, after_s=0.5)
    _start("cam-stop", path)
    _until(lambda: _alarms("cam-stop"), 6, "no frozen alarm")
    services.stream_stop(camera_id="cam-stop")
    _until(lambda: _alarms("cam-stop")[0].resolved_at is not None, 3, "not resolved at stop")


@pytest.mark.django_db(transaction=True)
async def test_the_wall_shows_an_alarm_on_its_tile_at_once(alarms_on, viewer, tmp_path):
    from streaming.tests.test_wall_socket import _wall

    path = _clip(tmp_path / "w.mp4", moving_s=0.5, still_s=2.5, after_s=4.0)
    await database_sync_to_async(_start)("cam-tile", path)
    # The first judgement's all-clear written before the socket reads the alarms.
    await asyncio.sleep(0.3)
    assert await asyncio.to_thread(runtime.producer_manager().alarms.drain)
    comm = await _wall(viewer, "width=320&fps=15")
    assert (await comm.connect())[0]
    await comm.send_to(text_data=json.dumps({"type": "watch", "cameras": ["cam-tile"]}))
    shown = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 8
    while loop.time() < deadline and shown[-2:] != [["frozen"], []]:
        message = await comm.receive_output(deadline - loop.time())
        if message.get("bytes") is not None:
            await comm.send_to(text_data="ack cam-tile 1")
        elif (text := message.get("text")) is not None:
            status = json.loads(text)
            if status["type"] == "status" and (not shown or shown[-1] != status["alarms"]):
                shown.append(status["alarms"])
    assert shown[-2:] == [["frozen"], []], shown
    alarm = (await database_sync_to_async(_alarms)("cam-tile"))[0]
    assert alarm.kind == "frozen"
    await comm.disconnect()
