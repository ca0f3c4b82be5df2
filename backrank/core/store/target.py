"""Where a store lives: a SQLite file or a database URL, its SQLAlchemy URL, its masked name and
the local files that belong to it (refresh lock, reports, crawl job state)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from sqlalchemy.engine import URL, make_url

# A database URL names its dialect before "://"; anything else is a SQLite file path.
_URL_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_POSTGRES_SCHEMES = {"postgresql", "postgres", "postgresql+psycopg"}
STATE_DIR_VARIABLE = "BACKRANK_STATE_DIR"


class StoreTargetError(ValueError):
    """A --db value that names no database backrank can use."""


class StoreUnavailable(StoreTargetError):
    """A database that could not be opened: server down, wrong password, not a database..."""


# What a driver's reason for not opening a database means the owner should do, first match.
_OPEN_HINTS = (
    ("password authentication failed", "check the user name and password in the URL"),
    ("authentication", "check the user name and password in the URL"),
    ("does not exist", "create the database or fix its name in the URL"),
    ("not a database", "--db names a file that is not a SQLite database; point it at yours"),
    ("unable to open database file", "check that its folder exists and is writable"),
    ("readonly", "the file or its folder is read-only; choose a writable place"),
    ("disk is full", "free some space on its disk and run again"),
    ("disk i/o error", "is its disk full or failing? free some space and run again"),
    ("connection refused", "is the server running, and are the URL's host and port right?"),
    ("could not translate host name", "check the host name in the URL"),
    ("timeout", "is the server running, and are the URL's host and port right?"),
)


def unavailable(target: str | os.PathLike[str], reason: str) -> StoreUnavailable:
    """The one-line error for a database that would not open, with what to do about it."""
    reason = reason.strip().splitlines()[0].strip() if reason.strip() else "no reason given"
    lowered = reason.lower()
    hint = next((h for key, h in _OPEN_HINTS if key in lowered), "check --db and run again")
    return StoreUnavailable(f"cannot open the database {masked(target)}: {reason}; {hint}")


def require_existing(target: str | os.PathLike[str]) -> None:
    """Refuse a SQLite file that is not there, for commands that only read the store: opening
    it would create an empty database under a mistyped name."""
    file = sqlite_file(target)
    if file is not None and not file.exists():
        raise StoreTargetError(
            f"database {file} does not exist: check --db (or run `backrank crawl` to create it)"
        )


def is_url(target: str | os.PathLike[str]) -> bool:
    """True for ``sqlite:///...`` and ``postgresql://...`` style targets, False for a path."""
    return isinstance(target, str) and bool(_URL_SCHEME.match(target))


def is_server(target: str | os.PathLike[str]) -> bool:
    """True when the store is a database server (PostgreSQL), not a local SQLite file."""
    return is_url(target) and engine_url(target).get_backend_name() == "postgresql"


def engine_url(target: str | os.PathLike[str]) -> URL:
    """The SQLAlchemy URL of a target: a path is a SQLite file; plain ``postgresql://`` uses
    psycopg 3."""
    if not is_url(target):
        return URL.create("sqlite", database=os.fspath(target))
    url = make_url(str(target))
    scheme = url.drivername
    if scheme in _POSTGRES_SCHEMES:
        return url.set(drivername="postgresql+psycopg")
    if scheme in ("sqlite", "sqlite+pysqlite"):
        return url.set(drivername="sqlite")
    raise StoreTargetError(
        f"unsupported database URL {masked(target)!r}: use a SQLite path, sqlite:///PATH "
        "or postgresql://USER:PASSWORD@HOST:PORT/DATABASE"
    )


def sqlite_file(target: str | os.PathLike[str]) -> Path | None:
    """The SQLite database file of a target, None for a server or an in-memory database."""
    url = engine_url(target)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def masked(target: str | os.PathLike[str]) -> str:
    """The target as it may be shown: a URL's password replaced by ``***``."""
    if not is_url(target):
        return os.fspath(target)
    try:
        return make_url(str(target)).render_as_string(hide_password=True)
    except Exception:  # an unparseable URL: show its scheme only, never its credentials
        return str(target).split("://", 1)[0] + "://***"


def state_stem(
    target: str | os.PathLike[str], state_dir: str | os.PathLike[str] | None = None
) -> Path:
    """The path the store's local files are named after (``<stem>.lock``, ``<stem>.reports``,
    ``<stem>.jobs``).

    A SQLite file keeps them beside itself, as always. A server database has no folder of its
    own: they go to ``state_dir`` (default ``$BACKRANK_STATE_DIR``, else the current folder),
    named after host, port and database, never the credentials.
    """
    file = sqlite_file(target)
    if file is not None:
        return file
    url = engine_url(target)
    if url.get_backend_name() == "sqlite":  # in memory: nothing outlives the process anyway
        name = "backrank-memory"
    else:
        parts = [url.host or "localhost", str(url.port or 5432), url.database or "postgres"]
        name = "-".join(re.sub(r"[^A-Za-z0-9_.]+", "_", part) for part in parts)
    folder = state_dir if state_dir is not None else os.environ.get(STATE_DIR_VARIABLE) or "."
    return Path(folder) / name


def state_path(
    target: str | os.PathLike[str], suffix: str, state_dir: str | os.PathLike[str] | None = None
) -> Path:
    """``<stem><suffix>``: e.g. ``backrank.db.lock`` or ``./127.0.0.1-5432-shop.reports``."""
    stem = state_stem(target, state_dir)
    return stem.with_name(stem.name + suffix)
