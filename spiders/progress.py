"""A Scrapy extension that shows a live rich progress line while a crawl runs."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.live import Live
from rich.text import Text
from scrapy import signals
from scrapy.exceptions import NotConfigured

from spiders.run_status import crawl_errors

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

REFRESH_SECONDS = 0.25


def crawl_counts(stats: Mapping[str, Any]) -> dict[str, int]:
    """The numbers a person watching a crawl cares about, from Scrapy's stats."""

    def total(prefix: str) -> int:
        return sum(int(value) for key, value in stats.items() if key.startswith(prefix))

    return {
        "pages": int(stats.get("response_received_count", 0)),
        # found by the spider: the store pipeline writes (and counts) in batches
        "listings": int(stats.get("backrank/found/listings", 0)),
        "reviews": int(stats.get("backrank/found/reviews", 0)),
        "errors": crawl_errors(stats),
        "blocked": int(stats.get("backrank/blocked", 0)),
        "dropped": total("backrank/dropped/"),  # spider and pipelines count every drop here
    }


def progress_line(counts: Mapping[str, int], elapsed: float, done: bool = False) -> Text:
    """One line: ``crawling 12s  pages 340  listings 40  reviews 812  errors 0  blocked 0``."""
    line = Text()
    line.append("crawled " if done else "crawling ", style="bold")
    line.append(f"{elapsed:4.0f}s ")
    for name in ("pages", "listings", "reviews", "dropped", "errors", "blocked"):
        value = counts[name]
        style = "red" if name in ("errors", "blocked") and value else None
        line.append(f" {name} ")
        line.append(str(value), style=style or "cyan")
    return line


class CrawlProgress:
    """Enabled by ``BACKRANK_PROGRESS = True``; silent (not even loaded) otherwise.

    On a terminal the line updates in place; elsewhere only the final line is printed.

    Log records keep printing, above the live line: the root log handlers are pointed at
    rich's stderr proxy while the line is shown.
    """

    def __init__(self, stats: StatsCollector, console: Console | None = None):
        self.stats = stats
        self.console = console or Console(stderr=True)
        self.live: Live | None = None
        self.started = time.monotonic()
        self.last_refresh = 0.0
        self._handler_streams: list[tuple[logging.StreamHandler, Any]] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlProgress:
        if not crawler.settings.getbool("BACKRANK_PROGRESS"):
            raise NotConfigured("BACKRANK_PROGRESS is off")
        extension = cls(crawler.stats)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        for signal in (signals.response_received, signals.item_scraped, signals.item_dropped):
            crawler.signals.connect(extension.refresh, signal=signal)
        return extension

    def spider_opened(self) -> None:
        self.started = time.monotonic()
        if not self.console.is_terminal:  # a log file or a pipe gets the final line only
            return
        self.live = Live(
            self._line(), console=self.console, auto_refresh=False, redirect_stderr=True
        )
        stderr = sys.stderr
        self.live.start()
        self._route_logs(stderr, sys.stderr)

    def refresh(self) -> None:
        now = time.monotonic()
        if self.live is None or now - self.last_refresh < REFRESH_SECONDS:
            return
        self.last_refresh = now
        self.live.update(self._line(), refresh=True)

    def spider_closed(self) -> None:
        if self.live is None:
            self.console.print(self._line(done=True))
            return
        self.live.update(self._line(done=True), refresh=True)
        self.live.stop()
        self.live = None
        for handler, stream in self._handler_streams:
            handler.setStream(stream)
        self._handler_streams = []

    def _line(self, done: bool = False) -> Text:
        return progress_line(
            crawl_counts(self.stats.get_stats()), time.monotonic() - self.started, done
        )

    def _route_logs(self, original: Any, proxy: Any) -> None:
        if proxy is original:  # rich did not redirect (no terminal): nothing to route
            return
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is original:
                self._handler_streams.append((handler, handler.setStream(proxy)))
