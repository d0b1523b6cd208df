"""Loaded by pytest before Django settings (``-p broadcastops.testing``).

Gives the test run its own data folder, so tests never share files or cache entries with a
console running from the same checkout.
"""

import os
import tempfile

os.environ.setdefault("BROADCASTOPS_DATA_DIR", tempfile.mkdtemp(prefix="broadcastops-test-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "broadcastops.settings")
