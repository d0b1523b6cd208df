import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from streaming.worker import StreamWorker


class Command(BaseCommand):
    help = (
        "Scaled mode: produce the frames of running stream sessions and publish them through "
        "Redis. Run one or more; each session is produced by exactly one worker (a lease)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--worker-id", default=None, help="default: host name and pid")
        parser.add_argument(
            "--max-seconds", type=float, default=None, help="stop after this long (tests)"
        )

    def handle(
        self,
        *args: Any,
        worker_id: str | None = None,
        max_seconds: float | None = None,
        **options: Any,
    ) -> None:
        if not settings.STREAMING_REDIS_URL:
            raise CommandError(
                "stream_worker needs REDIS_URL (or STREAMING_REDIS_URL); without it the web "
                "process produces the frames itself."
            )
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        worker = StreamWorker(redis_url=settings.STREAMING_REDIS_URL, worker_id=worker_id)
        self.stdout.write(f"stream_worker {worker.worker_id} publishing to Redis")
        worker.run(stop=stop, max_seconds=max_seconds)
