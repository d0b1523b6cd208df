"""Against a real daphne process: stalled viewers, interrupted uploads, the MJPEG URL."""

import asyncio
import json
import socket
import time

import cv2
import numpy as np
import requests

from benchmarks.streaming_wsclient import WsClient
from streaming.frames import frame_unpack


def _noisy_clip(path, *, frames=150, fps=30.0, size=(640, 360)):
    """Noise compresses badly: each JPEG is large, so any queued frame shows in memory."""
    rng = np.random.default_rng(7)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    for _ in range(frames):
        writer.write(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
    writer.release()
    return path


def test_interrupted_upload_leaves_no_row_and_no_file(server):
    body_length = 5 * 1024 * 1024
    head = (
        "POST /api/live-monitoring/upload-video?camera_id=cut HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{server.port}\r\n"
        f"Authorization: Token {server.token}\r\n"
        "Content-Type: multipart/form-data; boundary=xx\r\n"
        f"Content-Length: {body_length}\r\n\r\n"
        '--xx\r\nContent-Disposition: form-data; name="video"; filename="cut.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(head + b"\x00" * (body_length // 3))
    # Closed halfway. Give the server a moment to notice.
    time.sleep(1.0)

    listing = requests.get(
        f"{server.url}/api/v1/live-monitoring/uploads?camera_id=cut", headers=server.auth, timeout=5
    )
    assert listing.json()["count"] == 0
    stored = server.data_dir / "streaming"
    leftovers = [p for p in stored.rglob("*") if p.is_file()] if stored.exists() else []
    assert leftovers == []


def test_mjpeg_url_of_the_old_frontend_streams_and_refuses_foreign_paths(server, tmp_path):
    upload_id = server.upload_and_start(_noisy_clip(tmp_path / "m.avi", frames=30), "mjpeg")
    cookies = {"sessionid": server.session_key}

    refused = requests.get(
        f"{server.url}/api/live-monitoring/stream/mjpeg?video_path=/etc/passwd",
        cookies=cookies,
        headers={"Sec-Fetch-Site": "same-origin"},  # from the console's own page
        timeout=5,
    )
    assert refused.status_code == 400

    with requests.get(
        f"{server.url}/api/live-monitoring/stream/mjpeg?loop=true&speed=1",
        cookies=cookies,
        stream=True,
        timeout=5,
    ) as response:
        assert response.status_code == 200
        buffer = b""
        for chunk in response.iter_content(65536):
            buffer += chunk
            if buffer.count(b"--frame") >= 3:
                break
    assert buffer.count(b"Content-Type: image/jpeg") >= 2
    detail = requests.get(
        f"{server.url}/api/v1/live-monitoring/cameras/mjpeg", headers=server.auth, timeout=5
    )
    assert detail.json()["upload"]["upload_id"] == upload_id


async def _healthy_viewer(server, camera_id, stop_at, counts):
    client = await WsClient.connect(
        "127.0.0.1", server.port, f"/ws/live-monitoring/{camera_id}/", cookie=server.cookie
    )
    try:
        while time.monotonic() < stop_at:
            message = await asyncio.wait_for(client.recv(), 5)
            if message.is_binary:
                counts["frames"] += 1
                await client.send_text("ack")
    finally:
        await client.close()


_STALL_S = 20


def test_stalled_viewers_keep_server_memory_flat(server, tmp_path):
    """Five viewers that never read nor acknowledge, for 20 s, next to one healthy viewer.

    Without end-to-end flow control every frame of every stalled viewer queues in daphne
    (≈150 KB noise frames): with the window lifted (``STREAMING_ACK_WINDOW=100000``) daphne
    grew by 98 MB in these 20 s, steadily, against the 15 MB allowed. (It ran for a minute
    with 25 MB allowed; a third of the time catches the same queue.)
    """
    server.upload_and_start(_noisy_clip(tmp_path / "noise.avi"), "stall")

    async def scenario():
        stalled = [
            await WsClient.connect(
                "127.0.0.1",
                server.port,
                "/ws/live-monitoring/stall/",
                cookie=server.cookie,
                read_buffer=4096,
            )
            for _ in range(5)
        ]
        counts = {"frames": 0}
        warmup_end = time.monotonic() + 3
        stop_at = warmup_end + _STALL_S
        healthy = asyncio.ensure_future(_healthy_viewer(server, "stall", stop_at, counts))
        await asyncio.sleep(3)
        samples = [server.rss_mb()]
        frames_at_start = counts["frames"]
        while time.monotonic() < stop_at:
            await asyncio.sleep(2)
            samples.append(server.rss_mb())
        await healthy
        for client in stalled:
            await client.close()
        return samples, counts["frames"] - frames_at_start

    samples, frames = asyncio.run(scenario())

    growth = max(samples) - samples[0]
    assert growth < 15, f"daphne RSS grew by {growth:.1f} MB: {samples}"
    # The healthy viewer was not held back by the stalled ones.
    assert frames / _STALL_S >= 20, f"healthy viewer got {frames / _STALL_S:.1f} fps"


def test_a_viewer_that_stalls_then_reads_gets_whole_frames_in_order(server, tmp_path):
    """Frames go straight to the socket when nothing waits, through Twisted's buffer otherwise
    (broadcastops/websocket_broadcast.py; the partial sends themselves are tested there, on
    Twisted's own connection). Served by daphne, after a stall and while acknowledging, every
    message must arrive whole: frames in sequence, status messages between them intact.
    """
    server.upload_and_start(_noisy_clip(tmp_path / "full.avi"), "full")

    async def scenario():
        client = await WsClient.connect(
            "127.0.0.1",
            server.port,
            "/ws/live-monitoring/full/",
            cookie=server.cookie,
            read_buffer=65536,
        )
        await asyncio.sleep(1.5)  # a window of ~150 KB frames waits in the kernel
        frames, texts = [], []
        stop_at = time.monotonic() + 3
        while time.monotonic() < stop_at:
            message = await asyncio.wait_for(client.recv(), 5)
            if message.is_binary:
                frames.append(message.data)
                await client.send_text("ack")
            else:
                texts.append(json.loads(message.text))
        await client.close()
        return frames, texts

    frames, texts = asyncio.run(scenario())

    assert len(frames) >= 30
    unpacked = [frame_unpack(data, camera_id="full", width=0) for data in frames]
    assert all(frame is not None for frame in unpacked)
    seqs = [frame.seq for frame in unpacked]
    assert seqs == sorted(set(seqs)), "frames repeated or out of order"
    for data in (frames[0], frames[len(frames) // 2], frames[-1]):
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        assert image is not None and image.shape == (360, 640, 3)
    assert texts and all(text.get("type") in ("status", "session") for text in texts)
