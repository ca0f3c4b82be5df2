"""Why a command failed, said in one line that names what failed and what to do (exit 2).

Each kind of failure a user can meet and fix (a full disk, a read-only folder, a database that
does not answer, a broken theme template, a busy port...) maps to a message here; anything
else is a bug in backrank and says so, pointing at ``--debug`` for the traceback.
"""

from __future__ import annotations

import errno
import sqlite3

import jinja2
from sqlalchemy.exc import DBAPIError

from backrank.core.config import CatalogError
from backrank.core.lock import LockBusy
from backrank.core.store.target import StoreTargetError
from spiders.crawl import CrawlError

DEBUG_HINT = "run with --debug for the traceback"


class CommandError(Exception):
    """A failure whose message already says what failed and what to do (exit 2)."""


# Failures whose own message is the one line to show.
SELF_EXPLAINING: tuple[type[BaseException], ...] = (
    CommandError,
    CatalogError,
    LockBusy,
    CrawlError,
    StoreTargetError,
)

_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
_READ_ONLY = (errno.EROFS,)
_FORBIDDEN = (errno.EACCES, errno.EPERM)


def failure_message(
    error: BaseException, *, writing: str | None = None, database: str | None = None
) -> str:
    """One line naming what failed and what to do; a failure nobody foresaw says it is a bug.

    ``writing`` (the command's output) and ``database`` name the place when the error does
    not: a failed ``write()`` on a full disk carries no file name.
    """
    if isinstance(error, SELF_EXPLAINING):
        return _one_line(str(error))
    if isinstance(error, DBAPIError | sqlite3.Error):
        return database_message(error, database)
    if isinstance(error, OSError):
        return file_message(error, writing)
    if isinstance(error, jinja2.TemplateError):
        return template_message(error)
    return (
        f"unexpected {type(error).__name__}: {_one_line(str(error))} "
        f"(a bug in backrank; {DEBUG_HINT} and report it)"
    )


def file_message(error: OSError, writing: str | None = None) -> str:
    """A file system failure: which file, and what the owner can do about it."""
    if error.errno == errno.EADDRINUSE:
        return "a port this command needs is already in use: stop what runs there or pick another"
    where = error.filename if error.filename is not None else writing
    if where is None:  # neither the error nor the command names a file (a socket, a pipe)
        return f"{error.strerror or _one_line(str(error))}: check the machine and run again"
    if error.errno in _DISK_FULL:
        return f"no space left on the disk writing {where}: free some space and run again"
    if error.errno in _READ_ONLY:
        return f"cannot write {where}: the file system is read-only; choose a writable folder"
    if error.errno in _FORBIDDEN:
        return f"cannot write {where}: permission denied; fix its owner or permissions"
    return f"{where}: {error.strerror or _one_line(str(error))}: check it and run again"


def database_message(error: BaseException, database: str | None = None) -> str:
    """A database failure after it was opened (disk full, read-only, the server went away)."""
    reason = _one_line(str(getattr(error, "orig", None) or error))
    lowered = reason.lower()
    what = f"database {database}" if database else "database"
    if any(full in lowered for full in ("disk is full", "no space left", "disk i/o error")):
        return f"{what}: {reason}: free some space on its disk and run again"
    if "readonly" in lowered or "read-only" in lowered:
        return f"{what}: {reason}: the database file or its folder is read-only"
    return f"{what}: {reason}: check that the database is reachable and run again"


def template_message(error: jinja2.TemplateError) -> str:
    """A theme template that does not parse or render."""
    if isinstance(error, jinja2.TemplateSyntaxError):
        where = f"{error.filename or error.name}:{error.lineno}"
        return f"theme template {where}: {error.message}: fix the template and build again"
    return f"theme template error: {_one_line(str(error))}: fix the theme's templates"


def _one_line(text: str) -> str:
    """The first line of a message (drivers add hints and URLs on further lines)."""
    return text.strip().splitlines()[0].strip() if text.strip() else "no message"
