"""One worker of a distributed crawl: the spider without seeds, and the extension that keeps it honest.

`DistributedWorker` (an extension) renews the worker's heartbeat, requeues the requests of
workers whose heartbeat expired, acknowledges a popped request once the engine is done with
it *and* the StorePipeline has committed what it produced, pushes the worker's stats to the
crawl's shared stats with each acknowledgement, and keeps the spider open until the whole
crawl (every worker's queue and in-flight requests) is drained.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Self

from redis import Redis
from scrapy import signals
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy.utils.asyncio import create_looping_call
from scrapy.utils.defer import deferred_from_coro

from spiders.catalog_spider import CatalogSpider
from spiders.pipelines import commit_requested, items_committed
from spiders.redis_queue import HEARTBEAT_TTL, CrawlKeys, CrawlQueue, ReliableQueue

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from scrapy import Request, Spider
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

TICK = 0.5  # seconds: heartbeat, commit of finished requests, wake-up for new requests
REQUEUE_EVERY = 4  # ticks between looks for dead workers
# Stats that are not counts: never summed across workers (the coordinator sets its own).
NOT_SUMMED = (
    "start_time",
    "finish_time",
    "finish_reason",
    "elapsed_time_seconds",
    "backrank/run_id",
)


class WorkerSpider(CatalogSpider):
    """The catalog spider for a worker: the coordinator seeded the queue, so no start requests."""

    async def start(self) -> AsyncIterator[Any]:
        return
        yield  # an async generator that yields nothing


def summable(stats: dict[str, Any]) -> dict[str, int | float]:
    """The stats that add up across workers: counts and seconds, not times, reasons or maxima."""
    return {
        key: value
        for key, value in stats.items()
        if key not in NOT_SUMMED
        and not key.startswith("memusage/")
        and isinstance(value, int | float)
        and not isinstance(value, bool | datetime | date)
    }


class DistributedWorker:
    """Extension for ``BACKRANK_CRAWL_ID`` crawls (see the module docstring)."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.worker = settings["BACKRANK_WORKER_ID"]
        self.keys = CrawlKeys(settings["BACKRANK_CRAWL_ID"])
        self.server = Redis.from_url(settings["REDIS_URL"])
        self.crawl = CrawlQueue(self.server, self.keys)
        self.pushed: dict[str, int | float] = {}  # stats already added to the shared ones
        self.ticks = 0
        self.loop: Any = None
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(self.items_committed, signal=items_committed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.get("BACKRANK_CRAWL_ID"):
            raise NotConfigured("not a distributed crawl")
        return cls(crawler)

    @property
    def queue(self) -> ReliableQueue:
        return self.crawler.engine.scheduler.queue

    def spider_opened(self, spider: Spider) -> None:
        self.heartbeat()
        self.loop = create_looping_call(self.tick)
        self.loop.start(TICK, now=False)

    def heartbeat(self) -> None:
        self.server.set(self.keys.alive(self.worker), "1", ex=HEARTBEAT_TTL)

    def tick(self) -> None:
        self.ticks += 1
        self.heartbeat()
        if self.ticks % REQUEUE_EVERY == 0:
            if not self.server.exists(self.keys.coordinator):
                self.loop.stop()
                if not self.crawl.pending():
                    # Drained, and the coordinator closed the run and removed the crawl's keys
                    # before this worker's next idle check: the crawl is done, not abandoned.
                    reason = "finished"
                else:
                    # The coordinator stopped (killed): nobody will close the run, so stop here
                    # too instead of crawling on; what this worker holds goes back.
                    logger.warning("the crawl's coordinator is gone: leaving")
                    reason = "coordinator_gone"
                deferred_from_coro(self.crawler.engine.close_spider_async(reason=reason))
                return
            if moved := self.crawl.requeue_dead():
                logger.warning("requeued %d in-flight requests of a worker that stopped", moved)
        if self.finished_requests():
            self.crawler.signals.send_catch_log(commit_requested)
        # Another worker may have queued requests while this one was idle: look now rather
        # than at the engine's next 5-second heartbeat.
        slot = getattr(self.crawler.engine, "_slot", None)
        if slot is not None and slot.closing is None:
            slot.nextcall.schedule()

    def finished_requests(self) -> list[Request]:
        """Popped requests the engine no longer holds: downloaded, parsed, outputs handed on.

        The engine keeps a request in its slot until the scraper has sent every item to the
        pipelines and every follow-up request to the scheduler (Scrapy's ``_slot.inprogress``).
        """
        slot = getattr(self.crawler.engine, "_slot", None)
        holding = slot.inprogress if slot is not None else set()
        return [request for request in self.queue.in_flight if request not in holding]

    def items_committed(self) -> None:
        """The StorePipeline wrote its buffer: requests finished before now are safe to ack."""
        self.acknowledge(self.finished_requests())

    def acknowledge(self, requests: list[Request]) -> None:
        """Ack `requests` and add the stats counted since the last ack, in one transaction."""
        stats = summable(self.crawler.stats.get_stats())
        deltas = {key: value - self.pushed.get(key, 0) for key, value in stats.items()}
        deltas = {key: value for key, value in deltas.items() if value}
        if requests:
            deltas[f"backrank/worker/{self.worker}/acked"] = len(requests)
        self.queue.ack(requests, deltas)
        self.pushed = stats

    def spider_idle(self, spider: Spider) -> None:
        if self.crawl.pending() and self.server.exists(self.keys.coordinator):
            # Requests are queued or in flight (on this worker or another, whose pages may
            # bring more): stay. Without a coordinator the crawl was abandoned: leave.
            raise DontCloseSpider

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        self.acknowledge([])  # the last stats; the pipeline's final write acked the rest
        if moved := self.crawl.requeue_worker(self.worker):
            logger.warning("left the crawl with %d requests unfinished: requeued", moved)
        self.server.delete(self.keys.alive(self.worker))
