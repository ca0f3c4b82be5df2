"""A shared Redis request queue that loses nothing when a worker dies (scrapy-redis, made reliable).

scrapy-redis' queues pop destructively: a worker killed with -9 loses every request it was
fetching. Here a pop moves the request atomically (Lua) from the crawl's queue into the
worker's in-flight set; the worker acknowledges it only once everything it produced is
committed (items written by the StorePipeline, follow-up requests pushed), and any process
moves the in-flight requests of a worker whose heartbeat key expired back into the queue.
A follow-up request is pushed together with its dupefilter fingerprint in one script, so a
kill between the two cannot mark a request seen that was never queued; requeued requests
go straight back into the queue, past the dupefilter.

Keys, all under ``backrank:<crawl id>:`` (see `CrawlKeys`):
``queue`` (sorted set, score = -priority), ``dupefilter`` (set of fingerprints),
``workers`` (set), ``inflight:<worker>`` (sorted set), ``alive:<worker>`` (heartbeat, TTL),
``stats`` (hash of summed crawl stats), ``spec`` (the crawl's description), ``coordinator``
(the coordinator's heartbeat).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scrapy.utils.misc import load_object
from scrapy.utils.request import request_from_dict
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import Base
from scrapy_redis.scheduler import Scheduler

if TYPE_CHECKING:
    from redis import Redis
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler

KEY_ROOT = "backrank"
HEARTBEAT_TTL = 10  # seconds without a heartbeat before a worker's requests are requeued
STATS_TTL = 7 * 24 * 3600  # seconds a crawl's stats outlive its last update at most
MAX_UNSENT = 500  # buffered pushes sent at once at most (a sitemap yields thousands)


@dataclass(frozen=True)
class CrawlKeys:
    """The Redis key names of one distributed crawl, namespaced so crawls never collide."""

    crawl_id: str

    @classmethod
    def from_queue_key(cls, key: str) -> CrawlKeys:
        root, crawl_id, name = key.split(":", 2)
        if root != KEY_ROOT or name != "queue":
            raise ValueError(f"not a backrank queue key: {key!r}")
        return cls(crawl_id)

    @property
    def prefix(self) -> str:
        return f"{KEY_ROOT}:{self.crawl_id}"

    @property
    def pattern(self) -> str:
        """Every key of this crawl (for cleaning up)."""
        return f"{self.prefix}:*"

    @property
    def queue(self) -> str:
        return f"{self.prefix}:queue"

    @property
    def dupefilter(self) -> str:
        return f"{self.prefix}:dupefilter"

    @property
    def workers(self) -> str:
        return f"{self.prefix}:workers"

    @property
    def stats(self) -> str:
        return f"{self.prefix}:stats"

    @property
    def spec(self) -> str:
        return f"{self.prefix}:spec"

    @property
    def coordinator(self) -> str:
        return f"{self.prefix}:coordinator"

    def inflight(self, worker: str) -> str:
        return f"{self.prefix}:inflight:{worker}"

    def alive(self, worker: str) -> str:
        return f"{self.prefix}:alive:{worker}"

    def domain(self, domain: str, what: str) -> str:
        """Per-domain politeness keys (``next`` free slot, ``active`` leases)."""
        return f"{self.prefix}:domain:{what}:{domain}"


# -- serialisation: JSON, so a queue can be read with redis-cli (no pickle) ---------------------


def _plain(value: Any) -> Any:
    """A request dict made JSON-safe: bytes tagged, dicts with bytes keys as item lists."""
    if isinstance(value, bytes):
        return {"$b": base64.b64encode(value).decode("ascii")}
    if isinstance(value, Mapping):
        if all(isinstance(key, str) for key in value):
            return {key: _plain(item) for key, item in value.items()}
        return {"$items": [[_plain(key), _plain(item)] for key, item in value.items()]}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _unplain(value: dict[str, Any]) -> Any:
    if value.keys() == {"$b"}:
        return base64.b64decode(value["$b"])
    if value.keys() == {"$items"}:
        return dict(value["$items"])
    return value


class RequestCodec:
    """Request dicts to and from JSON bytes, with a short URL hash in front.

    The hash makes requests of equal priority come out of the sorted set in a shuffled
    order, so the stores of a catalog interleave instead of being crawled one after another.
    """

    def dumps(self, request_dict: dict[str, Any]) -> bytes:
        text = json.dumps(_plain(request_dict), separators=(",", ":"), sort_keys=True)
        order = hashlib.sha1(str(request_dict.get("url")).encode()).hexdigest()[:8]
        return f"{order}|{text}".encode()

    def loads(self, data: bytes) -> dict[str, Any]:
        return json.loads(data.split(b"|", 1)[1], object_hook=_unplain)


# -- Lua: each step one atomic script ------------------------------------------------------------

# KEYS: dupefilter, queue, inflight, workers, alive; ARGV: pop ('1' or '0'), worker, heartbeat
# ttl, then a (fingerprint, score, request) triple per request to push, '' = no dupefilter.
# Pushes the requests (each with its fingerprint, atomically), then pops one into the
# worker's in-flight set when asked: a worker's buffered follow-ups ride along with its next pop.
# Returns the popped member ('' if none, or not asked) and a 1 (queued) or 0 (seen) per push.
_PUSH_POP = """
local result = {''}
for i = 4, #ARGV, 3 do
  if ARGV[i] == '' or redis.call('SADD', KEYS[1], ARGV[i]) == 1 then
    redis.call('ZADD', KEYS[2], ARGV[i + 1], ARGV[i + 2])
    result[#result + 1] = 1
  else
    result[#result + 1] = 0
  end
end
if ARGV[1] == '1' then
  local popped = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  if #popped > 0 then
    redis.call('ZREM', KEYS[2], popped[1])
    redis.call('ZADD', KEYS[3], popped[2], popped[1])
    redis.call('SADD', KEYS[4], ARGV[2])
    redis.call('SET', KEYS[5], '1', 'EX', ARGV[3])
    result[1] = popped[1]
  end
end
return result
"""

# KEYS: dupefilter, queue; ARGV: fingerprint, score, request
_PUSH_UNSEEN = """
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
return 1
"""

# KEYS: queue, workers, stats; ARGV: key prefix, only this worker ('' = every dead one)
# A worker is dead when its alive key expired; its in-flight requests go back to the queue.
_REQUEUE = """
local moved = 0
local workers = redis.call('SMEMBERS', KEYS[2])
for _, worker in ipairs(workers) do
  local own = ARGV[2] ~= '' and worker == ARGV[2]
  if own or (ARGV[2] == '' and redis.call('EXISTS', ARGV[1] .. ':alive:' .. worker) == 0) then
    local inflight = ARGV[1] .. ':inflight:' .. worker
    local items = redis.call('ZRANGE', inflight, 0, -1, 'WITHSCORES')
    for i = 1, #items, 2 do redis.call('ZADD', KEYS[1], items[i + 1], items[i]) end
    moved = moved + #items / 2
    redis.call('DEL', inflight)
    redis.call('SREM', KEYS[2], worker)
  end
end
if moved > 0 then redis.call('HINCRBY', KEYS[3], 'backrank/requeued', moved) end
return moved
"""

# KEYS: queue, workers; ARGV: key prefix. Requests queued or in flight anywhere, atomically.
_PENDING = """
local pending = redis.call('ZCARD', KEYS[1])
for _, worker in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  pending = pending + redis.call('ZCARD', ARGV[1] .. ':inflight:' .. worker)
end
return pending
"""


class CrawlQueue:
    """The crawl-wide operations on a crawl's keys: seed, requeue the dead, count what is pending."""

    def __init__(self, server: Redis, keys: CrawlKeys) -> None:
        self.server = server
        self.keys = keys
        self.codec = RequestCodec()
        self._push_unseen = server.register_script(_PUSH_UNSEEN)
        self._requeue = server.register_script(_REQUEUE)
        self._pending = server.register_script(_PENDING)

    def encode(self, request: Request, spider: Spider) -> bytes:
        return self.codec.dumps(request.to_dict(spider=spider))

    def decode(self, data: bytes, spider: Spider) -> Request:
        return request_from_dict(self.codec.loads(data), spider=spider)

    def push(self, request: Request, spider: Spider, fingerprint: str | None) -> bool:
        """Queue a request; with a fingerprint, only if the dupefilter has not seen it (atomic)."""
        data = self.encode(request, spider)
        if fingerprint is None:
            self.server.zadd(self.keys.queue, {data: -request.priority})
            return True
        added = self._push_unseen(
            keys=[self.keys.dupefilter, self.keys.queue],
            args=[fingerprint, -request.priority, data],
        )
        return bool(added)

    def requeue_dead(self) -> int:
        """Move the in-flight requests of every worker whose heartbeat expired back to the queue."""
        return int(self._requeue(keys=self._requeue_keys(), args=[self.keys.prefix, ""]))

    def requeue_worker(self, worker: str) -> int:
        """Give back one worker's in-flight requests (a worker leaving), and unregister it."""
        return int(self._requeue(keys=self._requeue_keys(), args=[self.keys.prefix, worker]))

    def _requeue_keys(self) -> list[str]:
        return [self.keys.queue, self.keys.workers, self.keys.stats]

    def pending(self) -> int:
        """Requests queued plus in flight on any worker; 0 means the crawl is drained."""
        return int(
            self._pending(keys=[self.keys.queue, self.keys.workers], args=[self.keys.prefix])
        )

    def add_stats(self, deltas: Mapping[str, int | float], pipe: Any = None) -> None:
        target = pipe if pipe is not None else self.server.pipeline(transaction=True)
        for name, value in deltas.items():
            if isinstance(value, int):
                target.hincrby(self.keys.stats, name, value)
            else:
                target.hincrbyfloat(self.keys.stats, name, value)
        # A remote worker's last stats may come after the coordinator removed the crawl's keys:
        # they must not stay for ever.
        target.expire(self.keys.stats, STATS_TTL)
        if pipe is None:
            target.execute()

    def read_stats(self) -> dict[str, int | float]:
        stats: dict[str, int | float] = {}
        for name, value in self.server.hgetall(self.keys.stats).items():
            text = value.decode()
            stats[name.decode()] = float(text) if "." in text or "e" in text else int(text)
        return stats

    def delete_all(self) -> None:
        """Remove every key of this crawl."""
        names = list(self.server.scan_iter(match=self.keys.pattern, count=1000))
        for start in range(0, len(names), 500):
            self.server.delete(*names[start : start + 500])


class ReliableQueue(Base):
    """scrapy-redis queue (``SCHEDULER_QUEUE_CLASS``) whose pop moves a request in flight.

    `pop` records the popped request; `ack(requests)` forgets requests that are fully
    processed and committed. The worker's id comes from ``BACKRANK_WORKER_ID``.

    Pushes are buffered and sent with the next pop (one Lua call for both), or by `flush`;
    `ack` flushes first, so a request is never acked before the follow-ups it produced are
    queued. A worker killed with buffered pushes loses nothing: the requests that produced
    them are not acked, so they are requeued and parsed again.
    """

    def __init__(
        self, server: Redis, spider: Spider, key: str, serializer: Any = None, worker: str = ""
    ) -> None:
        super().__init__(server, spider, key, serializer or RequestCodec())
        self.keys = CrawlKeys.from_queue_key(self.key)
        self.crawl = CrawlQueue(server, self.keys)
        self.crawl.codec = self.serializer
        crawler = getattr(spider, "crawler", None)
        self.worker = worker or (crawler.settings.get("BACKRANK_WORKER_ID") if crawler else "")
        if not self.worker:
            raise ValueError("a ReliableQueue needs a worker id (BACKRANK_WORKER_ID)")
        self.in_flight: dict[Request, bytes] = {}  # popped, not yet acknowledged
        # Pushed, not yet in Redis: request, fingerprint ('' = unfiltered), score, encoded.
        self.unsent: list[tuple[Request, str, int, bytes]] = []
        # Told which flushed requests were queued and which the dupefilter had seen.
        self.on_flushed: Callable[[list[Request], list[Request]], None] | None = None
        self._push_pop = server.register_script(_PUSH_POP)

    def __len__(self) -> int:
        self.flush()
        return self.server.zcard(self.key)

    def push(self, request: Request) -> None:
        """Queue a request past the dupefilter (sent with the next pop, flush or ack)."""
        self._buffer(request, "")

    def push_unseen(self, request: Request, fingerprint: str) -> None:
        """Queue a request unless the dupefilter has seen its fingerprint (checked when sent)."""
        self._buffer(request, fingerprint)

    def _buffer(self, request: Request, fingerprint: str) -> None:
        # Encoded now, so a request that cannot be fails its own enqueue, not a later pop.
        self.unsent.append((request, fingerprint, -request.priority, self._encode_request(request)))
        if len(self.unsent) >= MAX_UNSENT:
            self.flush()

    def flush(self) -> None:
        """Send the buffered pushes now (one Lua call)."""
        if self.unsent:
            self._send(pop=False)

    def pop(self, timeout: int = 0) -> Request | None:
        """Send the buffered pushes and pop the queue's first request into this worker's in-flight set."""
        data = self._send(pop=True)
        if not data:
            return None
        request = self._decode_request(data)
        self.in_flight[request] = data
        return request

    def _send(self, *, pop: bool) -> bytes:
        unsent = self.unsent
        args: list[Any] = ["1" if pop else "0", self.worker, HEARTBEAT_TTL]
        for _, fingerprint, score, data in unsent:
            args += (fingerprint, score, data)
        popped, *queued = self._push_pop(
            keys=[
                self.keys.dupefilter,
                self.key,
                self.keys.inflight(self.worker),
                self.keys.workers,
                self.keys.alive(self.worker),
            ],
            args=args,
        )
        self.unsent = []  # only once Redis has them: a failed call keeps them for the next
        if unsent and self.on_flushed is not None:
            outcomes = list(zip((request for request, *_ in unsent), queued, strict=True))
            self.on_flushed(
                [request for request, new in outcomes if new],
                [request for request, new in outcomes if not new],
            )
        return popped

    def ack(self, requests: Iterable[Request], stats: Mapping[str, int | float]) -> int:
        """Acknowledge processed requests and add this worker's stats deltas, in one transaction.

        The buffered pushes go first: the follow-ups of an acked request are always queued.
        """
        self.flush()
        members = [self.in_flight.pop(request) for request in requests]
        pipe = self.server.pipeline(transaction=True)
        if members:
            pipe.zrem(self.keys.inflight(self.worker), *members)
        self.crawl.add_stats(stats, pipe)
        pipe.execute()
        return len(members)

    def clear(self) -> None:
        """Never flush the shared queue from a worker: the coordinator cleans up."""


class ReliableScheduler(Scheduler):
    """scrapy-redis' Scheduler on Scrapy 2.19 with the reliable queue.

    Differences: the queue is always `ReliableQueue`; a request and its dupefilter
    fingerprint are pushed in one atomic step, buffered until the next pop (so a duplicate
    is counted and logged then, and `enqueue_request` cannot tell: it returns True); closing
    never flushes the shared queue; no ``Spider.log`` and no ``spider`` argument to stats,
    both deprecated in Scrapy 2.19.
    """

    queue: ReliableQueue

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ReliableScheduler:
        scheduler = cls.from_settings(crawler.settings)
        scheduler.stats = crawler.stats
        return scheduler

    def open(self, spider: Spider) -> None:
        self.spider = spider
        self.queue = ReliableQueue(
            self.server, spider, self.queue_key, self.serializer or RequestCodec()
        )
        self.queue.on_flushed = self._count_flushed
        if not self.df:
            self.df = load_object(self.dupefilter_cls).from_spider(spider)

    def enqueue_request(self, request: Request) -> bool:
        if request.dont_filter:
            self.queue.push(request)
        else:
            self.queue.push_unseen(request, self.df.request_fingerprint(request))
        return True

    def _count_flushed(self, queued: list[Request], seen: list[Request]) -> None:
        for request in seen:
            self.df.log(request, self.spider)
        if self.stats:
            if queued:
                self.stats.inc_value("scheduler/enqueued/redis", len(queued))
            if seen:
                self.stats.inc_value("dupefilter/filtered", len(seen))

    def next_request(self) -> Request | None:
        request = self.queue.pop()
        if request is not None and self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def close(self, reason: str) -> None:
        """Send the buffered pushes; the queue and dupefilter are shared: the coordinator
        removes them when the crawl ends."""
        self.queue.flush()


def dupefilter(server: Redis, keys: CrawlKeys) -> RFPDupeFilter:
    """The crawl's dupefilter (scrapy-redis fingerprints), for seeding outside a crawler."""
    return RFPDupeFilter(server, key=keys.dupefilter)
