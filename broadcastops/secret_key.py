"""The secret key of a console that was given none: made on first start, kept in the data folder.

Every process of the console (web, worker, beat, commands) reads the same file, so sessions
and signed values survive restarts. The file is created readable by its owner only
(mode 0600) and its content is never printed or logged. Several processes may start at the
same moment (``make run``): each writes its candidate to a file of its own and hard-links it
into place, which succeeds for exactly one; every process then reads the winner.
"""

import contextlib
import os
import secrets
import stat
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

FILE_NAME = "secret_key"


def secret_key_from_data_dir(data_dir: Path) -> str:
    """The key kept in ``data_dir``; created there first if there is none."""
    path = data_dir / FILE_NAME
    if not path.exists():
        _create(path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        os.chmod(path, 0o600)  # someone widened it: the key is the owner's alone
    key = path.read_text(encoding="ascii").strip()
    if len(key) < 50:
        raise ImproperlyConfigured(
            f"{path} holds no usable secret key; delete it to have a new one made "
            "(signed-in users will have to sign in again), or set SECRET_KEY."
        )
    return key


def _create(path: Path) -> None:
    candidate = path.with_name(f".{FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
        # Another process may have made it first: then theirs is the key.
        with contextlib.suppress(FileExistsError):
            os.link(candidate, path)
    finally:
        candidate.unlink(missing_ok=True)
