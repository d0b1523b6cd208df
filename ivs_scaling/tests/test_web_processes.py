"""Joins over HTTP against two real web processes (``broadcastops.webserver``) and a real
Celery worker, sharing one database (the SQLite file in WAL mode in the embedded run;
PostgreSQL and Redis — the broker, the rate limiter, the publisher's mirror — in the scaled
run) and the simulator: no stage overfilled, the stages the rule implies, each replicated,
and the anonymous join's limits enforced by the real web process."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from broadcastops.actions.tests.workers import until
from ivs_scaling.tests.conftest import show_make, start_web

pytestmark = pytest.mark.django_db(transaction=True)

VIEWERS = 100


def test_joins_through_two_web_processes_overfill_no_stage(web, show_kit_20):
    kit = show_kit_20
    web.share_database()
    urls = [start_web(web), start_web(web)]
    web.worker("scaler")
    answers: Counter = Counter()
    placed: list[tuple[str, str]] = []
    lock = threading.Lock()

    def viewer(i: int) -> None:
        url = urls[i % 2]
        for _attempt in range(200):
            response = requests.post(f"{url}/api/stage/join", json={"userId": f"v{i}"}, timeout=30)
            with lock:
                answers[response.status_code] += 1
            if response.status_code == 200:
                with lock:
                    placed.append((url, response.json()["stageArn"]))
                return
            assert response.status_code == 503, response.text  # a stage is on its way
            time.sleep(float(response.headers.get("Retry-After", "1")) / 10)
        raise AssertionError(f"viewer {i} never got a seat")

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(viewer, range(VIEWERS)))

    assert len(placed) == VIEWERS and set(answers) <= {200, 503}
    assert {url for url, _ in placed} == set(urls)  # both processes decided
    after = web.django(
        "from ivs_scaling.models import Seat, Stage\n"
        "print(json.dumps([[s.arn, s.state, s.role, s.viewer_count, s.capacity,"
        " Seat.objects.filter(stage=s).count(), s.replication_state]"
        " for s in Stage.objects.order_by('created_at')]))"
    )
    for _arn, _state, _role, count, capacity, seats, _replication in after:
        assert count == seats <= capacity
    # 100 viewers, 20 a stage, a new stage at 18 free... 2: at 18, 38, 58, 78, 98 -> 6 stages.
    assert [row[2] for row in after] == ["master"] + ["secondary"] * 5
    assert Counter(arn for _, arn in placed) == {row[0]: row[3] for row in after if row[3]}
    until(
        lambda: len(kit.active_replicas()) == 5,
        60,
        "the replication into every secondary",
    )


def test_the_web_process_refuses_a_big_or_bad_join_before_any_work(web, show_kit_20):
    web.share_database()
    url = start_web(web)
    big = requests.post(
        f"{url}/api/stage/join",
        data=b'{"userId": "' + b"x" * 5000 + b'"}',
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert big.status_code == 413 and big.json()["code"]
    bad = requests.post(f"{url}/api/stage/join", json={"userId": ""}, timeout=10)
    assert bad.status_code == 400 and "userId" in bad.json()["detail"]
    not_json = requests.post(f"{url}/api/stage/join", data="userId=x", timeout=10)
    assert not_json.status_code in (400, 415)


@pytest.fixture
def show_kit_20(ivs, cloudsim, db):
    kit = show_make(cloudsim, ivs, capacity=20, scale_up_threshold=18, grace_period_s=30)
    kit.broadcaster_joins()
    kit.watch()
    kit.refresh()
    assert kit.show.doors_open
    return kit
