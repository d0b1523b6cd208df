"""The simulator's StreamLive push callbacks: when they go, their payload and signature, and
the switches that drop or delay them."""

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from broadcastops.cloud.simulator.server import load_scenario

KBO = "69220B6482B6EAF453CC"
KBO_MAIN = "67439FB911259F588B73"
KEY = "sim-callback-key"


class Receiver:
    def __init__(self):
        self.bodies: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/v1/tencent/events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout_s: float = 10) -> list[dict]:
        deadline = time.monotonic() + timeout_s
        while len(self.bodies) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.bodies)


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


@pytest.fixture
def sim(cloudsim, receiver):
    scenario = load_scenario(None)
    for channel in scenario["mdl"]["channels"]:
        if channel["Id"] == KBO:
            push = {"NotifyUrl": receiver.url, "NotifyKey": KEY}
            channel["EventNotifySettings"] = {"PushEventSettings": push}
    cloudsim.load(scenario)
    return cloudsim


def test_a_cut_and_a_return_send_the_documented_callbacks(sim, receiver):
    before = time.time()
    sim.control("signal", {"input_id": KBO_MAIN, "pipeline": None, "present": False})
    bodies = receiver.wait_for(2)
    assert sorted(b["pipelie"] for b in bodies) == [0, 1]
    for body in bodies:
        assert set(body) == {
            "appid",
            "channel_id",
            "event_type",
            "input_id",
            "interface",
            "pipelie",
            "sign",
            "stream_id",
            "t",
        }
        assert (body["channel_id"], body["input_id"], body["event_type"]) == (KBO, KBO_MAIN, 330)
        assert body["interface"] == "general_callback"
        assert before + 590 <= body["t"] <= time.time() + 610  # the expiry, 10 minutes ahead
        expected = hashlib.md5(f"{KEY}{body['t']}".encode(), usedforsecurity=False).hexdigest()
        assert body["sign"] == expected
    sim.control("signal", {"input_id": KBO_MAIN, "pipeline": 0, "present": True})
    bodies = receiver.wait_for(3)
    assert len(bodies) == 3 and bodies[2]["event_type"] == 329 and bodies[2]["pipelie"] == 0
    # A signal that changes nothing sends nothing; a channel without callbacks sends none.
    sim.control("signal", {"input_id": KBO_MAIN, "pipeline": 0, "present": True})
    sim.control("signal", {"input_id": "66732A8541BA2ADDE134", "pipeline": None, "present": False})
    time.sleep(0.5)
    assert len(receiver.bodies) == 3


def test_dropped_callbacks_are_logged_and_never_sent(sim, receiver):
    sim.control("callbacks", {"mode": "drop"})
    sim.control("signal", {"input_id": KBO_MAIN, "pipeline": None, "present": False})
    time.sleep(0.5)
    assert receiver.bodies == []
    state = sim.control("callbacks", {})
    assert [e["outcome"] for e in state["log"]] == ["dropped", "dropped"]


def test_delayed_callbacks_leave_on_the_simulated_clock(sim, receiver):
    sim.control("callbacks", {"mode": "send", "delay_s": 30})
    sim.control("signal", {"input_id": KBO_MAIN, "pipeline": None, "present": False})
    time.sleep(0.5)
    assert receiver.bodies == [] and sim.control("callbacks", {})["pending"] == 2
    sim.control("clock", {"advance_s": 30})
    assert len(receiver.wait_for(2)) == 2
    log = sim.control("callbacks", {})["log"]
    assert [(e["outcome"], e["status"]) for e in log] == [("sent", 200), ("sent", 200)]


def test_bad_switches_are_refused(sim):
    import requests

    response = requests.post(f"{sim.url}/_sim/callbacks", json={"mode": "sometimes"}, timeout=5)
    assert response.status_code == 400
