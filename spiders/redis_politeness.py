"""Per-domain politeness shared by every worker of a distributed crawl, kept in Redis.

Scrapy paces requests per download slot (host) inside one process: ``DOWNLOAD_DELAY`` (or
AutoThrottle's adapted delay) between requests and ``CONCURRENT_REQUESTS_PER_DOMAIN`` at
once. With several workers each would do so on its own, and a store would see N times the
traffic. Here the downloader asks Redis, right before each request goes on the wire, for a
lease (at most the per-domain concurrency across all workers; leases expire, so a killed
worker cannot hold one forever) and for the domain's next free time slot (one atomic Lua
script on Redis' clock, so workers on other machines agree); it waits for the slot, then
sends. The delay is the worker's own slot delay, as the single-process crawl computes it.

A request whose slot has no delay and a concurrency no lower than the worker's own
(``CONCURRENT_REQUESTS``), as ``polite = false`` sets for the local demo and benchmarks,
asks for politeness nobody configured: it skips the two Redis round trips (lease and
release) and each worker crawls the domain at its own concurrency, as a single process does.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from redis import Redis
from scrapy.core.downloader import Downloader
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.task import deferLater

from spiders.redis_queue import CrawlKeys

if TYPE_CHECKING:
    from scrapy.core.downloader import Slot
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response

# Seconds between tries while the domain is at its concurrency cap: doubling from the first
# to the second, so many waiting requests do not keep Redis (and the CPU) busy.
BUSY_POLL, BUSY_POLL_MAX = 0.01, 0.2

# KEYS: active leases (sorted set, score = expiry ms), next free slot (ms);
# ARGV: lease token, concurrency cap, delay ms, lease ms.
# Returns -1 when the domain is at its cap, else the milliseconds to wait before sending.
_ACQUIRE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return -1 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]))
local delay = tonumber(ARGV[3])
if delay <= 0 then return 0 end
local at = math.max(now, tonumber(redis.call('GET', KEYS[2]) or '0'))
redis.call('SET', KEYS[2], at + delay, 'PX', at + delay - now + 60000)
return at - now
"""


class SharedSchedule:
    """One crawl's per-domain leases and time slots in Redis."""

    def __init__(self, server: Redis, keys: CrawlKeys, lease_seconds: float) -> None:
        self.server = server
        self.keys = keys
        self.lease_ms = int(lease_seconds * 1000)
        self._acquire = server.register_script(_ACQUIRE)

    def try_acquire(self, domain: str, token: str, cap: int, delay: float) -> float | None:
        """Take a lease: seconds to wait before sending, or None while the domain is at `cap`."""
        wait_ms = self._acquire(
            keys=[self.keys.domain(domain, "active"), self.keys.domain(domain, "next")],
            args=[token, max(1, cap), int(delay * 1000), self.lease_ms],
        )
        return None if int(wait_ms) < 0 else int(wait_ms) / 1000

    def release(self, domain: str, token: str) -> None:
        self.server.zrem(self.keys.domain(domain, "active"), token)


class SharedPolitenessDownloader(Downloader):
    """Scrapy's Downloader (``DOWNLOADER`` setting) that also waits for the shared schedule.

    The wait happens in `_download`, when the local slot has released the request, so the
    time slot is taken right before the request is sent and not earlier.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        settings = crawler.settings
        self.schedule = SharedSchedule(
            Redis.from_url(settings["REDIS_URL"]),
            CrawlKeys(settings["BACKRANK_CRAWL_ID"]),
            lease_seconds=settings.getfloat("DOWNLOAD_TIMEOUT") + 30,
        )
        self.domain_cap = settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN")

    def needs_schedule(self, slot: Slot) -> bool:
        """Whether the slot asks for any politeness: a delay, or fewer requests at once than the worker sends."""
        # A total concurrency of 0 means no limit (Scrapy's), so any per-domain cap is one.
        unlimited = self.total_concurrency <= 0
        return slot.delay > 0 or unlimited or slot.concurrency < self.total_concurrency

    async def _download(self, slot: Slot, request: Request) -> Response:
        from twisted.internet import reactor  # the installed one; never at import

        if not self.needs_schedule(slot):
            return await super()._download(slot, request)
        domain = request.meta[self.DOWNLOAD_SLOT]
        token = secrets.token_hex(8)
        slot.transferring.add(request)  # waiting counts against the local concurrency too
        leased = False
        try:
            pause = BUSY_POLL
            while (wait := self.schedule.try_acquire(
                domain, token, self.domain_cap, slot.download_delay()
            )) is None:  # fmt: skip
                await maybe_deferred_to_future(deferLater(reactor, pause, lambda: None))
                pause = min(pause * 2, BUSY_POLL_MAX)
            leased = True
            self.crawler.stats.inc_value("backrank/politeness/leases")
            if wait > 0:
                self.crawler.stats.inc_value("backrank/politeness/wait_seconds", wait)
                await maybe_deferred_to_future(deferLater(reactor, wait, lambda: None))
            return await super()._download(slot, request)
        finally:
            slot.transferring.discard(request)
            if leased:
                self.schedule.release(domain, token)
