"""One refresh at a time per database: a non-blocking ``fcntl.flock`` on ``<db>.lock``."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

_held: dict[str, int] = {}  # lock path -> fd, for the locks this process holds


class LockBusy(RuntimeError):
    """Another process is refreshing this database."""


def lock_path(db_path: str | os.PathLike[str]) -> Path:
    return Path(f"{os.fspath(db_path)}.lock")


@contextlib.contextmanager
def refresh_lock(db_path: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold the database's refresh lock for the block; raise LockBusy if another process has it.

    Re-entrant within a process (a refresh holds it while its crawl step asks again). The
    kernel drops the lock when the holder dies, even by ``kill -9``: no stale lock files.
    """
    path = lock_path(db_path)
    key = str(path.resolve())
    if key in _held:
        yield path
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "another process"
        os.close(fd)
        raise LockBusy(
            f"{db_path} is being refreshed by process {holder} (lock {path}); try again later"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    _held[key] = fd
    try:
        yield path
    finally:
        del _held[key]
        os.close(fd)  # closing the descriptor releases the flock
