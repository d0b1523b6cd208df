import copy

import pytest

from broadcastops.cloud.simulator.server import load_scenario

CJ = "65B3B6B4AA96A1FABB23"  # cj_onstyle
MAIN_INPUT = "69425CAF0000BBDE05D7"  # cj_onstyle_main, fed by the flow cj_onstyle_m2
BACKUP_INPUT = "696DBEAA525C101CD983"  # cj_onstyle_backup, fed by cj_onstyle_b2
EVENT_INPUT = "696DC83753681085A29E"  # cj_onstyle_event, fed by no flow
EMPTY = {"SecondaryInputId": "", "LossThreshold": 0, "RecoverBehavior": ""}
# The progress of a fix of cj_onstyle on the stop -> modify -> start path, after its plan.
STOP_START_STEPS = [
    "StreamLive refused while RUNNING (InvalidParameter.StateError): stop -> modify -> start",
    "Stopping cj_onstyle to modify it.",
    "cj_onstyle is idle; modifying FailOverSettings.",
    "Starting cj_onstyle again.",
    "cj_onstyle is running again.",
    "Modified; verifying.",
]


def incident_scenario() -> dict:
    """The incident (seed 000): cj_onstyle with three inputs whose FailOverSettings all came
    back as the empty object, and the MAIN/BACKUP StreamLink flows cj_onstyle_m2 / _b2."""
    demo = load_scenario(None)
    channel = next(c for c in demo["mdl"]["channels"] if c["Id"] == CJ)
    ids = {a["Id"] for a in channel["AttachedInputs"]}
    for attached in channel["AttachedInputs"]:
        assert attached["FailOverSettings"] == EMPTY  # exactly the response of the incident
    return copy.deepcopy(
        {
            "mdl": {
                "channels": [channel],
                "inputs": [i for i in demo["mdl"]["inputs"] if i["Id"] in ids],
            },
            "mdc": {
                "flows": [f for f in demo["mdc"]["flows"] if f["FlowName"].startswith("cj_onstyle")]
            },
        }
    )


@pytest.fixture
def incident(cloudsim, settings):
    settings.FAILOVER_VERIFY_TIMEOUT_S = 3
    settings.FAILOVER_VERIFY_POLL_S = 0.1
    settings.FAILOVER_STOP_START_TIMEOUT_S = 10
    cloudsim.load(incident_scenario())
    return cloudsim


@pytest.fixture
def incident_synced(incident, db):
    from broadcastops.inventory.services.sync import inventory_poll

    inventory_poll()
    return incident


def describe_raw(channel_id: str = CJ) -> dict:
    """DescribeStreamLiveChannel's raw ``Info``, over the wire through the real SDK."""
    from broadcastops.cloud.tencent import tencent_gateway

    return tencent_gateway()._call("mdl", "DescribeStreamLiveChannel", {"Id": channel_id})["Info"]


@pytest.fixture
def demo(cloudsim, settings):
    """The bundled demo scenario in a simulator."""
    cloudsim.load(load_scenario(None))
    return cloudsim
