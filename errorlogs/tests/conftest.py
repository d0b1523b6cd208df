"""Fixtures of the player error reports' tests."""

import copy
import uuid

import pytest

from errorlogs.tests.mediamtx_standin import MediaMTXStandIn

REPORT = {
    "timestamp": "2026-01-08T12:34:56.789Z",
    "streamId": "stream-001",
    "errorType": "whep_post_failed",
    "errorMessage": "WHEP POST failed: 502 Bad Gateway",
    "statusCode": 502,
    "whepUrl": "http://192.168.0.10:8889/stitched/whep",
    "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0",
    "clientInfo": {
        "browserName": "Chrome",
        "browserVersion": "120.0",
        "os": "Linux x86_64",
        "screenResolution": "1920x1080",
    },
}


def report(**changes) -> dict:
    """The old frontend's payload (seeds/002), with ``changes``; a fresh ``reportId``."""
    body = copy.deepcopy(REPORT)
    body["reportId"] = str(uuid.uuid4())
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


@pytest.fixture(autouse=True)
def errorlogs_state(settings, tmp_path):
    """Each test: its own JSON Lines folder, an empty throttle and group cache."""
    from errorlogs.services.reports import known
    from errorlogs.throttle import throttle

    settings.ERRORLOGS_DIR = tmp_path / "mediamtx_errors"
    settings.ERRORLOGS_FSYNC = False
    throttle.clear()
    known.clear()
    yield settings.ERRORLOGS_DIR
    throttle.clear()
    known.clear()


@pytest.fixture
def mediamtx(settings):
    """A MediaMTX stand-in, configured as the one server the probe checks."""
    standin = MediaMTXStandIn()
    standin.start()
    settings.ERRORLOGS_MEDIAMTX_SERVERS = [standin.server_setting(paths=("stitched",))]
    settings.ERRORLOGS_PROBE_TIMEOUT_S = 1.0
    settings.ERRORLOGS_PROBE_RETRIES = 1
    yield standin
    standin.stop()


def lines(folder) -> list[dict]:
    import json

    found = []
    for path in sorted(folder.glob("*.jsonl")):
        found += [json.loads(line) for line in path.read_text().splitlines()]
    return found
