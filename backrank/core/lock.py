"""One writer at a time per database (crawl, score, build, publish): ``fcntl.flock`` on
``<db>.lock`` beside the real SQLite file (so a symlink or a relative path to it finds the same
lock), a session advisory lock for a PostgreSQL database (so it holds across machines)."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from backrank.core.store.schema import LOCK_CLASS, REFRESH_LOCK
from backrank.core.store.target import (
    engine_url,
    is_server,
    masked,
    sqlite_file,
    state_path,
    unavailable,
)

_held: dict[str, int] = {}  # lock path or database -> fd (0 for a database), held here


class LockBusy(RuntimeError):
    """Another process is writing this database."""


def lock_path(db_path: str | os.PathLike[str]) -> Path:
    """The lock file of a SQLite database, beside the file its path resolves to (symlinks
    followed); a server database is locked in the server."""
    file = sqlite_file(db_path)
    if file is None:
        return state_path(db_path, ".lock")
    real = file.resolve()
    return real.with_name(real.name + ".lock")


@contextlib.contextmanager
def refresh_lock(db_path: str | os.PathLike[str], purpose: str = "refresh") -> Iterator[Path | str]:
    """Hold the database's writer lock for the block; raise LockBusy if another process has it.

    ``purpose`` (crawl, score, build...) is what a refused second writer is told the holder
    does. Re-entrant within a process (a refresh holds it while its crawl step asks again).
    The lock goes when the holder dies, even by ``kill -9``: the kernel drops the flock, the
    server the session's advisory lock.
    """
    if is_server(db_path):
        with _server_lock(str(db_path), purpose) as name:
            yield name
        return
    path = lock_path(db_path)
    key = str(path)
    if key in _held:
        yield path
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 128, 0).decode("ascii", "replace").strip() or "unknown"
        os.close(fd)
        raise LockBusy(
            f"{db_path} is being refreshed by process {holder} (lock {path}); "
            "try again when it has finished"
        ) from None
    # The flock is the lock; the holder's pid only tells a refused second writer who has it,
    # so a full disk that cannot take these few bytes must not stop the command.
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} (backrank {purpose})".encode("ascii", "replace"), 0)
    _held[key] = fd
    try:
        yield path
    finally:
        del _held[key]
        os.close(fd)  # closing the descriptor releases the flock


@contextlib.contextmanager
def _server_lock(url: str, purpose: str) -> Iterator[str]:
    """A session advisory lock on a connection of its own, held for the block."""
    name = masked(url)
    target = engine_url(url)
    # The database's identity, whatever the user, password or driver spelling of the URL.
    key = f"{target.host or 'localhost'}:{target.port or 5432}/{target.database}"
    if key in _held:
        yield name
        return
    # application_name tells a second writer who holds the lock (pg_stat_activity).
    holder_name = f"backrank {purpose} pid {os.getpid()} on {os.uname().nodename}"[:63]
    engine = create_engine(
        target, poolclass=NullPool, connect_args={"application_name": holder_name}
    )
    try:
        try:
            connection = engine.connect()
        except DBAPIError as error:  # server down, wrong password: say which database and why
            raise unavailable(url, str(error.orig or error)) from error
        with connection as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            lock = {"lock_class": LOCK_CLASS, "lock": REFRESH_LOCK}
            taken = conn.execute(
                text("SELECT pg_try_advisory_lock(:lock_class, :lock)"), lock
            ).scalar_one()
            if not taken:
                holder = conn.execute(
                    text(
                        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a"
                        " USING (pid) WHERE l.locktype = 'advisory' AND l.granted"
                        " AND l.classid = :lock_class AND l.objid = :lock"
                        " AND l.database = (SELECT oid FROM pg_database"
                        " WHERE datname = current_database())"
                    ),
                    lock,
                ).scalar()
                raise LockBusy(
                    f"{name} is being refreshed by {holder or 'another process'}; try again later"
                )
            _held[key] = 0
            try:
                yield name
            finally:
                del _held[key]
                conn.execute(text("SELECT pg_advisory_unlock(:lock_class, :lock)"), lock)
    finally:
        engine.dispose()
