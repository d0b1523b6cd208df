import pytest

from broadcastops.cloud.simulator.server import load_scenario


@pytest.fixture
def demo(cloudsim, settings):
    """The bundled demo scenario in a simulator, with no client-side wait for the tests."""
    cloudsim.load(load_scenario(None))
    return cloudsim
