"""``make test`` runs pytest as two processes, each on a list of apps (the Makefile's
``TEST_SHARD_0`` and ``TEST_SHARD_1``): together they must be every folder pytest collects
(``testpaths``), each once, or an app's tests would silently stop running in CI."""

import re
import tomllib
from pathlib import Path

from broadcastops.testing import redis_url_for_shard

ROOT = Path(__file__).resolve().parents[2]


def _shard(makefile: str, index: int) -> list[str]:
    found = re.search(rf"^TEST_SHARD_{index} := (.*)$", makefile, re.MULTILINE)
    assert found, f"no TEST_SHARD_{index} in the Makefile"
    return found.group(1).split()


def test_the_two_processes_of_make_test_run_every_app_once():
    makefile = (ROOT / "Makefile").read_text()
    first, second = _shard(makefile, 0), _shard(makefile, 1)
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]
    testpaths = config["ini_options"]["testpaths"]
    assert sorted(first + second) == sorted(testpaths)
    assert not set(first) & set(second)


def test_the_second_process_uses_the_redis_database_below():
    assert redis_url_for_shard("redis://127.0.0.1:6379/15", 1) == "redis://127.0.0.1:6379/14"
    assert redis_url_for_shard("redis://127.0.0.1:6379/15", 0) == "redis://127.0.0.1:6379/15"
    assert redis_url_for_shard("redis://:pw@127.0.0.1:6379/3?x=1", 1) == (
        "redis://:pw@127.0.0.1:6379/2?x=1"
    )
    assert redis_url_for_shard("", 1) == ""
