"""Every failure class the IVS gateway raises, produced for real by the simulator or the network."""

import socket
import threading
import time

import pytest

from broadcastops.cloud.errors import (
    CloudAuthError,
    CloudInvalidRequest,
    CloudPermanentError,
    CloudQuotaExceeded,
    CloudRateLimited,
    CloudTransientError,
    CloudUnreachable,
)
from broadcastops.cloud.ivs import ivs_gateway
from broadcastops.cloud.tests.ivs_support import raw_gateway, settings_gateway, stage_arn


@pytest.fixture
def ivs(cloudsim, settings, monkeypatch):
    yield from settings_gateway(settings, monkeypatch)


def test_server_side_validation_is_an_invalid_request(ivs, cloudsim):
    stage = ivs.stage_create(name="validation")

    # botocore checks minimums only; the maximum is the service's to refuse (fact sheet §2).
    with pytest.raises(CloudInvalidRequest) as caught:
        ivs.participant_token_create(stage_arn=stage.arn, duration_minutes=99999)

    assert caught.value.code == "ValidationException"
    assert "duration" in caught.value.message
    assert caught.value.request_id
    assert caught.value.action == "CreateParticipantToken"
    with pytest.raises(CloudInvalidRequest, match="regular expression"):
        ivs.stage_create(name="bad name")
    with pytest.raises(CloudInvalidRequest, match="enum"):
        ivs.participant_token_create(stage_arn=stage.arn, capabilities=["ADMIN"])


def test_two_participant_filters_are_refused_by_the_service(ivs, cloudsim):
    stage = ivs.stage_create(name="filters")
    cloudsim.control("ivs/join", {"stage_arn": stage.arn, "user_id": "v"})
    session_id = ivs.stage_get(stage_arn=stage.arn).active_session_id

    with pytest.raises(CloudInvalidRequest, match="Only one of"):
        ivs.participant_list(
            stage_arn=stage.arn, session_id=session_id, state="CONNECTED", published=True
        )


def test_botocore_param_validation_never_reaches_the_service(ivs, cloudsim):
    stage = ivs.stage_create(name="short-session")

    with pytest.raises(CloudInvalidRequest) as caught:
        ivs.participant_list(stage_arn=stage.arn, session_id="st-abc")

    assert caught.value.code == "ParamValidationError"
    assert cloudsim.requests(service="ivs", action="ListParticipants") == []


def test_stage_quota_is_a_402_quota_error(ivs, cloudsim):
    cloudsim.control("ivs/config", {"max_stages": 1})
    ivs.stage_create(name="only-one")

    with pytest.raises(CloudQuotaExceeded) as caught:
        ivs.stage_create(name="one-too-many")

    assert caught.value.code == "ServiceQuotaExceededException"
    assert len(cloudsim.requests(service="ivs", action="CreateStage")) == 2  # never retried


def test_wrong_access_key_or_secret_is_an_auth_error(cloudsim):
    unknown_key = raw_gateway(cloudsim.url, access_key_id="AKIAWRONGWRONGWRONG0")
    wrong_secret = raw_gateway(cloudsim.url, secret_access_key="not-the-simulator-secret")

    with pytest.raises(CloudAuthError) as caught:
        unknown_key.stage_list()
    assert caught.value.code == "AccessDeniedException"
    assert "security token" in caught.value.message
    assert isinstance(caught.value, CloudPermanentError)
    with pytest.raises(CloudAuthError, match="signature"):
        wrong_secret.stage_list()


def test_closed_port_is_unreachable(cloudsim):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(CloudUnreachable) as caught:
        raw_gateway(f"http://127.0.0.1:{port}").stage_list()

    assert caught.value.code == "EndpointConnectionError"
    assert isinstance(caught.value, CloudTransientError)


def test_read_timeout_is_unreachable(ivs, cloudsim, settings):
    settings.CLOUD_TIMEOUT_S = 1
    settings.CLOUD_MAX_RETRIES = 0
    ivs_gateway.cache_clear()
    cloudsim.control(
        "fault", {"service": "ivs", "action": "ListStages", "timeout": True, "timeout_s": 2}
    )

    started = time.monotonic()
    with pytest.raises(CloudUnreachable) as caught:
        ivs_gateway().stage_list()

    assert caught.value.code == "ReadTimeoutError"
    assert 0.9 < time.monotonic() - started < 3


def test_server_error_is_retried_then_surfaced(ivs, cloudsim, settings):
    settings.CLOUD_MAX_RETRIES = 2
    ivs_gateway.cache_clear()
    cloudsim.control("fault", {"service": "ivs", "action": "GetStage", "count": 10})

    with pytest.raises(CloudTransientError) as caught:
        ivs_gateway().stage_get(stage_arn=stage_arn("abcdEFGH1234"))

    assert not isinstance(caught.value, CloudUnreachable | CloudRateLimited)
    assert caught.value.code == "InternalServerException"
    assert caught.value.request_id
    assert len(cloudsim.requests(service="ivs", action="GetStage")) == 3  # 1 + 2 retries

    # A fault that a retry outlives never reaches the caller.
    cloudsim.control("fault", {"service": "ivs", "action": "ListStages", "count": 1})
    assert ivs_gateway().stage_list() == []
    assert len(cloudsim.requests(service="ivs", action="ListStages")) == 2


def test_create_stage_is_never_retried(ivs, cloudsim, settings):
    # No idempotency token: a retried CreateStage could leave two stages (fact sheet §1).
    settings.CLOUD_MAX_RETRIES = 3
    ivs_gateway.cache_clear()
    cloudsim.control("fault", {"service": "ivs", "action": "CreateStage", "count": 5})

    with pytest.raises(CloudTransientError):
        ivs_gateway().stage_create(name="once")

    assert len(cloudsim.requests(service="ivs", action="CreateStage")) == 1


def test_throttling_is_rate_limited_and_a_body_less_503_unreachable(cloudsim):
    gateway = raw_gateway(cloudsim.url)
    cloudsim.control(
        "fault", {"service": "ivs", "action": "ListStages", "error_code": "ThrottlingException"}
    )
    cloudsim.control("fault", {"service": "ivs", "action": "GetStage", "http_status": 503})

    with pytest.raises(CloudRateLimited) as caught:
        gateway.stage_list()
    assert caught.value.code == "ThrottlingException"
    # No error type at all: a proxy answered, not the service.
    with pytest.raises(CloudUnreachable) as caught:
        gateway.stage_get(stage_arn=stage_arn("abcdEFGH1234"))
    assert caught.value.code == "503"


def test_client_side_limiter_keeps_list_stages_at_five_per_second(ivs, cloudsim):
    def burst():
        for _ in range(3):
            ivs.stage_list()

    threads = [threading.Thread(target=burst) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    times = sorted(r["time"] for r in cloudsim.requests(service="ivs", action="ListStages"))
    assert len(times) == 12
    # Any six consecutive calls span about a second (0.1 s allowance for scheduling jitter).
    assert all(later - earlier >= 0.9 for earlier, later in zip(times, times[5:], strict=False))
    assert times[-1] - times[0] >= 2.0  # 11 intervals of 0.2 s, less jitter
