"""A process appending to the day's file (imported by spawned processes: no model at import)."""

import json
import os
from datetime import date


def append_many(folder, writer: int, count: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "broadcastops.settings")
    import django
    from django.conf import settings

    django.setup()
    from errorlogs import sink

    settings.ERRORLOGS_DIR = folder
    for n in range(count):
        line = json.dumps({"writer": writer, "n": n, "pad": "x" * (50 + (n * 37) % 3000)})
        sink.lines_append({date(2026, 1, 8): (line + "\n").encode() * 3}).release()
