"""Per-(SecretId, Action) limits: the simulator enforces the quota, the client stays under."""

from concurrent.futures import ThreadPoolExecutor

from broadcastops.cloud.errors import CloudRateLimited
from broadcastops.cloud.ratelimit import RateLimiter
from broadcastops.cloud.tests.tencent_support import CHANNEL, failover_scenario, gateway_for


def _burst(gateway, calls: int, action=None) -> list:
    action = action or (lambda: gateway.live_channel_get(channel_id=CHANNEL))

    def one(_):
        try:
            action()
        except CloudRateLimited as exc:
            return exc
        return None

    with ThreadPoolExecutor(max_workers=8) as pool:
        return [r for r in pool.map(one, range(calls)) if r is not None]


def test_the_simulator_throttles_a_burst_over_20_per_second(cloudsim):
    cloudsim.load(failover_scenario(None))
    throttled = _burst(gateway_for(cloudsim, rate_fraction=0, max_retries=0), 40)
    assert throttled, "40 calls at once must exceed 20/s"
    assert {e.code for e in throttled} == {"RequestLimitExceeded"}
    assert all(e.request_id for e in throttled)


def test_the_limit_is_per_action(cloudsim):
    cloudsim.load(failover_scenario(None))
    gateway = gateway_for(cloudsim, rate_fraction=0, max_retries=0)
    assert _burst(gateway, 18) == []
    assert _burst(gateway, 18, lambda: gateway.live_channel_list()) == []


def test_css_state_has_its_own_higher_quota(cloudsim):
    cloudsim.load(
        {
            "live": {
                "streams": [
                    {
                        "StreamName": "s",
                        "AppName": "live",
                        "DomainName": "d.example",
                        "State": "active",
                    }
                ]
            }
        }
    )
    gateway = gateway_for(cloudsim, rate_fraction=0, max_retries=0)
    calls = lambda: gateway.css_stream_state(domain_name="d.example", stream_name="s")  # noqa: E731
    assert _burst(gateway, 60, calls) == []  # 300/s for DescribeLiveStreamState


def test_the_client_limiter_keeps_a_burst_under_the_simulator_limit(cloudsim):
    cloudsim.load(failover_scenario(None))
    gateway = gateway_for(cloudsim, rate_fraction=0.5, max_retries=0, limiter=RateLimiter())
    assert _burst(gateway, 40) == []  # zero RequestLimitExceeded with no retries to hide them
    assert len(cloudsim.requests("mdl", "DescribeStreamLiveChannel")) == 40


def test_the_throttle_can_be_switched_off(cloudsim):
    cloudsim.load(failover_scenario(None))
    cloudsim.control("options", {"rate_limit": False})
    assert _burst(gateway_for(cloudsim, rate_fraction=0, max_retries=0), 40) == []


def test_throttles_are_absorbed_by_retries(cloudsim):
    cloudsim.load(failover_scenario(None))
    assert _burst(gateway_for(cloudsim, rate_fraction=0, max_retries=3), 30) == []
    assert len(cloudsim.requests("mdl", "DescribeStreamLiveChannel")) > 30  # some were retried
