"""Settings of the burst benchmark's web process: the console's, plus the plain DRF view at
``PLAIN_PATH`` (benchmarks/errorlogs_plain_urls.py), so both designs run in the same process."""

from broadcastops.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.errorlogs_plain_urls"
