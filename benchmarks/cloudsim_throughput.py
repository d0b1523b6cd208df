"""How many DescribeStreamLiveChannel calls a second the simulator answers on one core.

The simulator runs in its own process pinned to CPU 0 (rate limit off, the demo scenario);
this process drives it through the real Tencent SDK (signing, JSON, the SDK's response parsing)
from N threads, pinned to the other CPUs. Prints requests/s. Usage:

    .venv/bin/python benchmarks/cloudsim_throughput.py [--threads 8] [--seconds 5]
"""

import argparse
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tencentcloud.common.credential import Credential  # noqa: E402
from tencentcloud.common.profile.client_profile import ClientProfile  # noqa: E402
from tencentcloud.common.profile.http_profile import HttpProfile  # noqa: E402
from tencentcloud.mdl.v20200326 import mdl_client, models  # noqa: E402

from broadcastops.cloud.simulator.server import SIM_SECRET_ID, SIM_SECRET_KEY  # noqa: E402

SERVER = """
import os, sys
sys.path.insert(0, {root!r})
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {{0}})
from broadcastops.cloud.simulator import server as s
sim = s.Simulator(s.load_scenario(None), s.SimOptions(rate_limit=False))
server = s.SimulatorServer(("127.0.0.1", {port}), sim)
print("ready", flush=True)
server.serve_forever()
"""


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER.format(root=str(ROOT), port=port)], stdout=subprocess.PIPE
    )
    assert server.stdout.readline().strip() == b"ready"
    cpus = os.cpu_count() or 1
    if hasattr(os, "sched_setaffinity") and cpus > 1:
        os.sched_setaffinity(0, set(range(1, cpus)))
    try:
        profile = ClientProfile(
            httpProfile=HttpProfile(endpoint=f"127.0.0.1:{port}", protocol="http")
        )
        first = mdl_client.MdlClient(Credential(SIM_SECRET_ID, SIM_SECRET_KEY), "ap-seoul", profile)
        channel_id = (
            first.DescribeStreamLiveChannels(models.DescribeStreamLiveChannelsRequest()).Infos[0].Id
        )

        counts = [0] * args.threads
        stop = time.monotonic() + args.seconds

        def worker(index: int) -> None:
            client = mdl_client.MdlClient(
                Credential(SIM_SECRET_ID, SIM_SECRET_KEY), "ap-seoul", profile
            )
            request = models.DescribeStreamLiveChannelRequest()
            request.Id = channel_id
            while time.monotonic() < stop:
                assert client.DescribeStreamLiveChannel(request).Info.Id == channel_id
                counts[index] += 1

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(args.threads)]
        server_cpu_before = _cpu_seconds(server.pid)
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        total = sum(counts)
        server_cpu_s = _cpu_seconds(server.pid) - server_cpu_before
        print(
            f"DescribeStreamLiveChannel: {total} calls in {elapsed:.1f} s with {args.threads} "
            f"threads = {total / elapsed:.0f} req/s; the simulator used "
            f"{server_cpu_s / elapsed:.0%} of its core, {server_cpu_s / total * 1e6:.0f} us CPU a "
            f"call: {total / server_cpu_s:.0f} req/s per core"
        )
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
