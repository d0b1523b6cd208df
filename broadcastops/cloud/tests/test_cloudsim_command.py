"""``manage.py cloudsim`` serves the bundled demo scenario on a loopback port."""

import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from broadcastops.cloud.tests.tencent_support import gateway_for

ROOT = Path(__file__).resolve().parents[3]


class _Endpoint:
    def __init__(self, url: str):
        self.url = url


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_cloudsim_serves_the_demo_scenario():
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "cloudsim", "--port", str(port), "--start-delay-s", "1"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, process.stdout.read().decode()
            try:
                if requests.get(url + "/_sim/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "cloudsim did not start within 20 s"
            time.sleep(0.1)
        channels = gateway_for(_Endpoint(url)).live_channel_list()
        assert len(channels) == 12
        assert {"channel-kbo-001", "cj_onstyle", "channel-news-001"} <= {c.name for c in channels}
    finally:
        process.terminate()
        process.wait(timeout=10)
