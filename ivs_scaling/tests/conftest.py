"""Fixtures of the IVS scaling tests: the real gateway against the simulator, shows, the
broadcaster as a client of the web broadcast SDK would be (the simulator's control verbs)."""

from __future__ import annotations

import contextlib
import os
import socket

import pytest
import requests

from broadcastops.actions.tests.workers import Workers, until
from broadcastops.actions.types import Actor
from broadcastops.cloud.simulator.server import SIM_SECRET_ID, SIM_SECRET_KEY
from broadcastops.cloud.tests.ivs_support import settings_gateway
from broadcastops.tests.helpers import actions_run_pending
from ivs_scaling.models import Show, Stage


@pytest.fixture
def ivs(cloudsim, settings, monkeypatch):
    """The settings-built gateway on the simulator, with quick retries for the tests."""
    settings.IVS_CREATE_BACKOFF_S = 0.01
    settings.IVS_TOKEN_MAX_WAIT_S = 5
    yield from settings_gateway(settings, monkeypatch)


class ShowKit:
    """A show on the simulator and the hands that move it: the broadcaster, viewers, the
    worker (the begun actions run as the Celery task would run them) and the watch."""

    def __init__(self, cloudsim, gateway, show: Show):
        self.sim = cloudsim
        self.gateway = gateway
        self.show = show
        self.broadcaster_id = ""

    def refresh(self) -> Show:
        self.show.refresh_from_db()
        return self.show

    def stages(self, *states: str) -> list[Stage]:
        stages = Stage.objects.filter(show=self.show).order_by("created_at")
        return list(stages.filter(state__in=states) if states else stages)

    @property
    def master(self) -> Stage:
        return Stage.objects.get(show=self.show, role="master", state="active")

    def run_actions(self) -> list[int]:
        """Run every begun action until none is left (a create begins a replication...)."""
        done: list[int] = []
        while pending := actions_run_pending():
            done += pending
        return done

    def broadcaster_joins(self, *, publish: bool = True, user_id: str = "host-1") -> str:
        from ivs_scaling.services.shows import publisher_token_create

        token = publisher_token_create(show=self.show, user_id=user_id, actor=Actor())
        self.sim.control("ivs/join", {"token": token.token, "publish": publish})
        self.broadcaster_id = token.participant_id
        return token.participant_id

    def publish(self, publishing: bool) -> None:
        self.sim.control(
            "ivs/publish", {"participant_id": self.broadcaster_id, "publishing": publishing}
        )

    def watch(self, **kwargs) -> None:
        from ivs_scaling.services.scaling import show_watch_all

        show_watch_all(**kwargs)

    def replicas(self) -> dict[str, str]:
        """Destination ARN -> state, as IVS lists them for the broadcaster."""
        return {
            r.destination_stage_arn: r.replication_state
            for r in self.gateway.replica_list(
                source_stage_arn=self.master.arn, participant_id=self.broadcaster_id
            )
        }

    def active_replicas(self) -> set[str]:
        return {arn for arn, state in self.replicas().items() if state == "ACTIVE"}

    def live_with_a_secondary(self, *, viewers: int = 3) -> None:
        """The broadcaster publishes, ``viewers`` take seats (3 of 4 cross the trigger), and
        the secondary they call for is created and replicated."""
        from ivs_scaling.services.seats import seat_take

        self.broadcaster_joins()
        self.watch()
        for i in range(viewers):
            seat_take(show=self.refresh(), user_id=f"viewer-{i}")
        self.run_actions()

    def kinds(self) -> list[str]:
        return list(self.show.events.order_by("at", "pk").values_list("kind", flat=True))


def show_make(cloudsim, gateway, **spec) -> ShowKit:
    from ivs_scaling.services.shows import ShowSpec, show_create

    show, _action = show_create(spec=ShowSpec(**{"name": "quiz", **spec}), actor=Actor())
    kit = ShowKit(cloudsim, gateway, show)
    kit.run_actions()  # the master stage
    return kit


@pytest.fixture
def show_kit(ivs, cloudsim, db):
    """A show of 4 viewers a stage, scaling up at 3, with its master created."""
    return show_make(
        cloudsim, ivs, capacity=4, scale_up_threshold=3, grace_period_s=30, reconnect_window_s=10
    )


@pytest.fixture
def player(settings):
    """An anonymous client, as the players of the audience are, without the throttle."""
    from rest_framework.test import APIClient

    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "ivs_join": "100000/min",
            "ivs_leave": "100000/min",
        },
    }
    return APIClient()


# --- real processes on the test's database ----------------------------------------------
def _port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def web(ivs, cloudsim, tmp_path):
    group = Workers(tmp_path, cloudsim.url)
    group.env.update(
        AWS_ENDPOINT_URL_IVS_REALTIME=cloudsim.url,
        AWS_REGION="ap-northeast-2",
        AWS_ACCESS_KEY_ID=SIM_SECRET_ID,
        AWS_SECRET_ACCESS_KEY=SIM_SECRET_KEY,
        IVS_JOIN_THROTTLE="100000/min",
        IVS_WATCH_INTERVAL_S="3600",
        IVS_RECONCILE_INTERVAL_S="3600",
        LOG_LEVEL="WARNING",
    )
    if os.environ.get("REDIS_URL"):  # the scaled run: Redis for the broker, cache, mirror
        group.env["REDIS_URL"] = os.environ["REDIS_URL"]
    yield group
    group.close()


def start_web(group: Workers) -> str:
    port = _port()
    group.start(
        "-m",
        "broadcastops.webserver",
        "-b",
        "127.0.0.1",
        "-p",
        str(port),
        "broadcastops.asgi:application",
    )
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return requests.get(f"{url}/admin/login/", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    until(answers, 60, "the web process")
    return url
