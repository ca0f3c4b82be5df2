"""Downloader middleware for a bad day on the web: Retry-After, robot checks, cut-off pages, per-store counts."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from scrapy import signals
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import ResponseDataLossError
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.response import response_status_message
from twisted.internet.task import deferLater
from twisted.web._newclient import ResponseFailed
from twisted.web.http import PotentialDataLoss, _DataLoss

from spiders import extract

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response

logger = logging.getLogger(__name__)

_HTML_END = re.compile(rb"</html\s*>", re.IGNORECASE)
TOO_BIG_META = "backrank_too_big"  # set on a request whose body passed DOWNLOAD_MAXSIZE


def retry_after_seconds(
    value: bytes | str | None, cap: float, now: datetime | None = None
) -> float:
    """Seconds a ``Retry-After`` header asks to wait (delta seconds or an HTTP date), capped;
    0 when absent or unreadable."""
    if value is None:
        return 0.0
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return min(float(text), cap)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return 0.0
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), cap)


def looks_truncated(response: Response) -> bool:
    """An HTML page that ends before its closing </html> (cut off in transfer or by the server)."""
    content_type = response.headers.get(b"Content-Type", b"").lower()
    if b"html" not in content_type or response.status != 200 or not response.body:
        return False
    return _HTML_END.search(response.body, max(0, len(response.body) - 4096)) is None


def is_html(response: Response) -> bool:
    return b"html" in response.headers.get(b"Content-Type", b"").lower()


class FaultTolerantRetryMiddleware(RetryMiddleware):
    """RetryMiddleware that waits what ``Retry-After`` asks (capped by ``BACKRANK_RETRY_AFTER_MAX``)
    without blocking the reactor, and also retries robot-check pages and HTML cut off before
    ``</html>``. Counts every response per store (``backrank/store/<name>/pages``)."""

    def __init__(self, settings) -> None:
        super().__init__(settings)
        self.retry_after_max = settings.getfloat("BACKRANK_RETRY_AFTER_MAX", 30.0)

    def _count(self, key: str, store: str | None = None) -> None:
        stats = self.crawler.stats
        stats.inc_value(f"backrank/{key}")
        if store:
            stats.inc_value(f"backrank/store/{store}/{key}")

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        store = request.cb_kwargs.get("store")
        if store:
            self.crawler.stats.inc_value(f"backrank/store/{store}/pages")
        if request.meta.get("dont_retry", False):
            return response
        if response.status in self.retry_http_codes:
            retry = self._retry(request, response_status_message(response.status))
            if retry is None:
                return response
            delay = retry_after_seconds(response.headers.get(b"Retry-After"), self.retry_after_max)
            if delay > 0:
                self._count("retry_after/waits", store)
                self.crawler.stats.inc_value("backrank/retry_after/seconds", delay)
                from twisted.internet import reactor  # the installed one; never at import

                await maybe_deferred_to_future(deferLater(reactor, delay, lambda: None))
            return retry
        if is_html(response) and response.status == 200 and extract.is_blocked(response.body):
            self._count("blocked", store)
            logger.warning("robot check on %s", response.url)
            return self._retry(request, "blocked") or response
        if looks_truncated(response):
            self._count("truncated", store)
            logger.warning("truncated HTML (no </html>) from %s", response.url)
            return self._retry(request, "truncated_html") or response
        return response

    def process_exception(
        self, request: Request, exception: Exception
    ) -> Request | Response | None:
        if isinstance(exception, ResponseDataLossError) or (
            isinstance(exception, ResponseFailed)
            and any(reason.check(_DataLoss, PotentialDataLoss) for reason in exception.reasons)
        ):
            # Fewer bytes than Content-Length promised: Scrapy's data-loss failure, retried.
            self._count("truncated", request.cb_kwargs.get("store"))
        return super().process_exception(request, exception)


class OversizeBodies:
    """Marks a request whose body grew past ``DOWNLOAD_MAXSIZE`` while streaming.

    Scrapy cancels such a download with a bare ``DownloadCancelledError`` when the server sent
    no Content-Length (chunked or ended by close): the mark lets
    ``spiders.catalog_spider.error_kind`` count it as ``too_big``, like a body whose
    Content-Length announced it.
    """

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self.received: dict[int, int] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> OversizeBodies:
        extension = cls(crawler.settings.getint("DOWNLOAD_MAXSIZE"))
        if extension.max_size:
            crawler.signals.connect(extension.bytes_received, signal=signals.bytes_received)
            crawler.signals.connect(extension.finished, signal=signals.request_left_downloader)
        return extension

    def bytes_received(self, data: bytes, request: Request, spider: object = None) -> None:
        received = self.received.get(id(request), 0) + len(data)
        self.received[id(request)] = received
        if received > request.meta.get("download_maxsize", self.max_size):
            request.meta[TOO_BIG_META] = True

    def finished(self, request: Request, **kwargs: object) -> None:
        self.received.pop(id(request), None)
