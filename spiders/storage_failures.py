"""A crawl that cannot write (full disk, read-only file system, no permission) stops at once.

The database or the crawl's job folder (Scrapy's JOBDIR) running out of room is no page's
fault: crawling on only piles up failures (one traceback per item, a scheduler that can no
longer queue a request and never finishes). The first failed write closes the spider with
reason ``storage_failed``, counted as ``backrank/errors/storage``, with the one line that says
what failed and what to do in the ``backrank/storage_failure`` stat; ``spiders.crawl`` ends
the run as failed with that line.

``JobStateScheduler`` and ``JobSpiderState`` are Scrapy's scheduler and spider-state
extension with their JOBDIR writes guarded the same way; the job state they could not save
is useless, so the run is not resumed from it.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy.core.scheduler import Scheduler
from scrapy.extensions.spiderstate import SpiderState
from scrapy.utils.asyncio import is_asyncio_available
from twisted.internet.defer import Deferred

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from scrapy import Request, Spider
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

STOP_REASON = "storage_failed"  # the spider's close reason (finish_reason)
FAILURE_STAT = "backrank/storage_failure"  # the one-line message
ERROR_STAT = "backrank/errors/storage"  # counted with the crawl's errors

_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
_READ_ONLY = (errno.EROFS,)
_FORBIDDEN = (errno.EACCES, errno.EPERM)
# SQLite result codes (sqlite3.Error.sqlite_errorcode, low byte): FULL, READONLY, PERM, IOERR
_SQLITE_FULL, _SQLITE_READONLY, _SQLITE_PERM, _SQLITE_IOERR = 13, 8, 3, 10
# PostgreSQL SQLSTATEs: disk_full, read_only_sql_transaction
_PG_DISK_FULL, _PG_READ_ONLY = "53100", "25006"


def storage_failure(error: BaseException, where: str | Path) -> str | None:
    """The one line for a write that failed for want of room or rights (naming `where` and
    what to do), or None for any other error (a bug, a lost connection: not ours to judge)."""
    cause = getattr(error, "orig", None) or error  # SQLAlchemy wraps the driver's error
    if isinstance(cause, OSError):
        kind = _os_kind(cause.errno)
    elif isinstance(cause, sqlite3.Error):
        kind = _sqlite_kind(getattr(cause, "sqlite_errorcode", None), str(cause))
    else:
        kind = _postgresql_kind(getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None))
    if kind == "full":
        return f"no space left on the disk writing {where}: free some space and run again"
    if kind == "read-only":
        return f"cannot write {where}: the file system is read-only; choose a writable folder"
    if kind == "forbidden":
        return f"cannot write {where}: permission denied; fix its owner or permissions"
    return None


def _os_kind(code: int | None) -> str | None:
    if code in _DISK_FULL:
        return "full"
    if code in _READ_ONLY:
        return "read-only"
    return "forbidden" if code in _FORBIDDEN else None


def _sqlite_kind(code: int | None, text: str) -> str | None:
    primary = None if code is None else code & 0xFF
    if primary == _SQLITE_FULL or "disk is full" in text:
        return "full"
    if primary == _SQLITE_IOERR:  # a write the file system refused: most often no room left
        return "full"
    if primary == _SQLITE_READONLY or "readonly database" in text:
        return "read-only"
    return "forbidden" if primary == _SQLITE_PERM else None


def _postgresql_kind(sqlstate: str | None) -> str | None:
    if sqlstate == _PG_DISK_FULL:
        return "full"
    return "read-only" if sqlstate == _PG_READ_ONLY else None


def stop_crawl(crawler: Crawler, message: str, where: str | Path, *, close: bool = True) -> None:
    """Record the failure `message` (the first one wins) and close the spider (`close` False:
    it is closing already). One log line names `where`; the message is the crawl's to say."""
    assert crawler.stats is not None
    if crawler.stats.get_value(FAILURE_STAT) is not None:
        return
    crawler.stats.set_value(FAILURE_STAT, message)
    crawler.stats.inc_value(ERROR_STAT)
    logger.error("stopping the crawl: a write to %s failed", where)
    if close and crawler.engine is not None and crawler.engine.spider is not None:
        _schedule(crawler.engine.close_spider_async(reason=STOP_REASON))


_closing: set[asyncio.Task[None]] = set()  # close tasks, referenced until they end


def _schedule(close: Coroutine[Any, Any, None]) -> None:
    """Run the engine's close on the loop the crawl runs on (an asyncio loop, with or without
    Twisted's reactor; Scrapy's CloseSpider extension does the same)."""
    if not is_asyncio_available():
        Deferred.fromCoroutine(close)
        return
    task = asyncio.get_event_loop().create_task(close)
    _closing.add(task)
    task.add_done_callback(_closing.discard)


def storage_failed(crawler: Crawler) -> bool:
    """True once a write of this crawl failed for want of room or rights."""
    return crawler.stats is not None and crawler.stats.get_value(FAILURE_STAT) is not None


class JobStateScheduler(Scheduler):
    """Scrapy's scheduler; when its JOBDIR cannot be written it stops the crawl and keeps
    the rest in memory, so no request waits on a queue that can no longer be read or written."""

    def enqueue_request(self, request: Request) -> bool:
        try:
            return super().enqueue_request(request)
        except OSError as error:
            self._job_state_lost(error)
            return False

    def next_request(self) -> Request | None:
        try:
            return super().next_request()
        except OSError as error:
            self._job_state_lost(error)
            return super().next_request()

    def close(self, reason: str) -> Deferred[None] | None:
        if self.dqs is not None and storage_failed(self.crawler):
            self.dqs = None  # the run is not resumed: its queue is not worth a failed write
        try:
            return super().close(reason)
        except OSError as error:
            self._job_state_lost(error, closing=True)
            return None

    def _job_state_lost(self, error: OSError, *, closing: bool = False) -> None:
        where = error.filename or self.dqdir or "the job folder"
        message = storage_failure(error, where)
        if message is None:
            raise error
        self.dqs = None  # from here on, memory only
        if getattr(self.df, "file", None) is not None:  # RFPDupeFilter's requests.seen
            file, self.df.file = self.df.file, None
            try:
                file.close()
            except OSError:
                pass  # the same full disk: its buffered fingerprints cannot be saved
        stop_crawl(self.crawler, message, where, close=not closing)


class JobSpiderState(SpiderState):
    """Scrapy's spider-state extension; a state file it cannot write stops nothing more."""

    def __init__(self, jobdir: str | None = None) -> None:
        super().__init__(jobdir)
        self.crawler: Crawler | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> JobSpiderState:
        extension = super().from_crawler(crawler)
        extension.crawler = crawler
        return extension

    def spider_closed(self, spider: Spider) -> None:
        if self.crawler is not None and storage_failed(self.crawler):
            return  # the run is not resumed: its state is not worth a failed write
        try:
            super().spider_closed(spider)
        except OSError as error:
            message = storage_failure(error, self.statefn)
            if message is None or self.crawler is None:
                raise
            stop_crawl(self.crawler, message, self.statefn, close=False)
