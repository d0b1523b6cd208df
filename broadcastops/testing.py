"""Loaded by pytest before Django settings (``-p broadcastops.testing``).

Gives the test run its own data folder, so tests never share files or cache entries with a
console running from the same checkout.

``make test`` runs pytest in two processes at once, each on half of the apps; the second has
``BROADCASTOPS_TEST_SHARD=1``. Both run on the same servers, so a process of shard N uses the
Redis database N below the one ``TEST_REDIS_URL`` / ``REDIS_URL`` name (15 -> 14), and
PostgreSQL test databases with the suffix ``_shardN`` (root ``conftest.py``): nothing one
flushes or drops is the other's. SQLite's test database is in memory, one per process.
"""

import atexit
import os
import shutil
import tempfile
from urllib.parse import urlsplit, urlunsplit

if "BROADCASTOPS_DATA_DIR" not in os.environ:
    os.environ["BROADCASTOPS_DATA_DIR"] = tempfile.mkdtemp(prefix="broadcastops-test-")
    atexit.register(shutil.rmtree, os.environ["BROADCASTOPS_DATA_DIR"], ignore_errors=True)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "broadcastops.settings")

SHARD = int(os.environ.get("BROADCASTOPS_TEST_SHARD") or 0)


def redis_url_for_shard(url: str, shard: int) -> str:
    """``url`` with its database number lowered by ``shard`` (``redis://h:6379/15``, 1 ->
    ``redis://h:6379/14``)."""
    if not url or not shard:
        return url
    parts = urlsplit(url)
    db = int(parts.path.strip("/") or 0) - shard
    if db < 0:
        raise ValueError(f"{url}: no Redis database {shard} below it for shard {shard}")
    return urlunsplit(parts._replace(path=f"/{db}"))


for _name in ("TEST_REDIS_URL", "REDIS_URL", "STREAMING_REDIS_URL"):
    if os.environ.get(_name):
        os.environ[_name] = redis_url_for_shard(os.environ[_name], SHARD)
