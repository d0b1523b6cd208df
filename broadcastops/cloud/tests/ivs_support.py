"""Helpers for the IVS tests: the gateway against the ``cloudsim`` simulator, and clients."""

from broadcastops.cloud.ivs import IvsGateway, ivs_gateway
from broadcastops.cloud.simulator.server import SIM_SECRET_ID, SIM_SECRET_KEY

REGION = "ap-northeast-2"
ACCOUNT = "123456789012"


def stage_arn(stage_id: str) -> str:
    return f"arn:aws:ivs:{REGION}:{ACCOUNT}:stage/{stage_id}"


def settings_gateway(settings, monkeypatch):
    """The settings-built gateway, signing with the simulator's demo credentials.

    Each test module wraps this in its own ``ivs`` fixture (after ``cloudsim``)."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    settings.CLOUD_DEMO = True
    settings.AWS_REGION = REGION
    settings.CLOUD_TIMEOUT_S = 5
    settings.CLOUD_MAX_RETRIES = 1
    ivs_gateway.cache_clear()
    yield ivs_gateway()
    ivs_gateway.cache_clear()


def raw_gateway(url: str, **overrides) -> IvsGateway:
    """A gateway without the client-side limiter (for bursts) and without retries."""
    options = {
        "region": REGION,
        "endpoint_url": url,
        "timeout_s": 5,
        "max_retries": 0,
        "access_key_id": SIM_SECRET_ID,
        "secret_access_key": SIM_SECRET_KEY,
    }
    return IvsGateway(**{**options, **overrides})


def join(cloudsim, stage: str, *, user_id: str = "", publish: bool = False, **extra) -> dict:
    body = {"stage_arn": stage, "user_id": user_id, "publish": publish, **extra}
    return cloudsim.control("ivs/join", body)


def broadcaster(cloudsim, gateway, stage: str, *, publish: bool = True) -> tuple[str, str]:
    """A broadcaster with its own token, joined (and publishing); (participant id, session)."""
    token = gateway.participant_token_create(stage_arn=stage, user_id="broadcaster")
    joined = cloudsim.control(
        "ivs/join", {"participant_id": token.participant_id, "publish": publish}
    )
    return token.participant_id, joined["sessionId"]
