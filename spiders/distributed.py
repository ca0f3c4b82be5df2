"""Distributed crawl on Redis: the coordinator (`backrank crawl --workers N`) and the worker (`backrank worker`).

The coordinator opens the run in the store, describes the crawl in Redis (run id, database,
the catalog's TOML text, settings: a worker on another machine needs only the Redis URL and
access to the database), seeds the catalog's start requests once, starts N local workers and
waits until nothing is queued or in flight anywhere. Then it closes the run exactly as a
single-process crawl does (stats summed over the workers, health, refresh report) and
removes the crawl's keys. Workers (`spiders.redis_worker`) share the queue, dupefilter and
per-domain politeness through Redis and may join or leave at any time; the in-flight
requests of one that dies are requeued (`spiders.redis_queue`).

Keys: ``backrank:crawls`` (sorted set of crawl ids in progress, by start time) and
``backrank:<crawl id>:*`` (see `spiders.redis_queue.CrawlKeys`).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from redis import Redis
from redis.exceptions import RedisError
from scrapy.crawler import AsyncCrawlerProcess

from backrank.core.config import load_catalog
from backrank.core.lock import refresh_lock
from backrank.core.store import Store
from backrank.core.store.target import masked
from spiders import settings as project
from spiders.budgets import MAX_RUN_MINUTES
from spiders.catalog_spider import CatalogSpider
from spiders.crawl import (
    EXIT_FAILED,
    CrawlError,
    CrawlResult,
    close_complete_run,
    jsonable_stats,
    merge_stats,
    run_api_sources,
    summarise,
)
from spiders.redis_queue import CrawlKeys, CrawlQueue, dupefilter
from spiders.redis_worker import WorkerSpider
from spiders.run_status import run_status
from spiders.settings import settings_for

if TYPE_CHECKING:
    from backrank.core.config import Catalog

CRAWLS_KEY = "backrank:crawls"
COORDINATOR_TTL = 30  # seconds: workers leave a crawl whose coordinator stopped renewing this
POLL = 0.5  # seconds between the coordinator's looks at the queue
WORKER_EXIT_GRACE = 60  # seconds local workers get to close once the crawl is drained


@dataclass(kw_only=True)
class CrawlSpec:
    """What a worker needs to join a crawl, stored as JSON under ``backrank:<id>:spec``."""

    crawl_id: str
    run_id: int
    db: str
    catalog_name: str  # the catalog's file name, for file:line messages
    catalog_text: str
    store: str | None = None
    polite: bool | None = None
    settings: dict[str, Any] = field(default_factory=dict)  # extra Scrapy settings

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | bytes) -> CrawlSpec:
        return cls(**json.loads(text))


def connect(redis_url: str) -> Redis:
    """A Redis client that has answered a PING, else a CrawlError naming the URL."""
    try:
        server = Redis.from_url(redis_url, socket_connect_timeout=5)
        server.ping()
    except (RedisError, ValueError) as problem:
        raise CrawlError(f"cannot use Redis at {masked(redis_url)}: {problem}") from problem
    return server


def live_crawls(server: Redis) -> list[str]:
    """Crawl ids in progress (their coordinator is alive), oldest first."""
    ids = [crawl_id.decode() for crawl_id in server.zrange(CRAWLS_KEY, 0, -1)]
    return [crawl_id for crawl_id in ids if server.exists(CrawlKeys(crawl_id).coordinator)]


def remove_abandoned_crawls(server: Redis) -> list[str]:
    """Delete the keys of crawls whose coordinator died (no heartbeat); return their ids."""
    gone = []
    for raw in server.zrange(CRAWLS_KEY, 0, -1):
        keys = CrawlKeys(raw.decode())
        if not server.exists(keys.coordinator):
            CrawlQueue(server, keys).delete_all()
            server.zrem(CRAWLS_KEY, raw)
            gone.append(keys.crawl_id)
    return gone


def seed(server: Redis, spec: CrawlSpec, catalog: Catalog) -> int:
    """Queue the catalog's start requests once, through the crawl's dupefilter; return how many."""
    spider = CatalogSpider(catalog=catalog, store=spec.store)
    spider._bind_catalog(catalog)  # what from_crawler does; no crawler needed to list seeds

    async def start_requests() -> list[Any]:
        return [request async for request in spider.start()]

    keys = CrawlKeys(spec.crawl_id)
    crawl, seen = CrawlQueue(server, keys), dupefilter(server, keys)
    return sum(
        crawl.push(
            request, spider, None if request.dont_filter else seen.request_fingerprint(request)
        )
        for request in asyncio.run(start_requests())
    )


def worker_command(
    redis_url: str, crawl_id: str, *, db: str | None = None, quiet: bool = True
) -> list[str]:
    """`backrank worker` for one crawl, in a fresh Python process."""
    command = [sys.executable, "-m", "backrank.app.cli", "worker", "--redis", redis_url]
    command += ["--crawl", crawl_id] + (["--db", db] if db else [])
    return command + (["--quiet"] if quiet else [])


def run_distributed_crawl(
    catalog: Catalog,
    db_path: str,
    *,
    workers: int,
    redis_url: str,
    store: str | None = None,
    quiet: bool = False,
    polite: bool | None = None,
    settings: dict[str, Any] | None = None,
    wait_for_workers: float | None = None,
) -> CrawlResult:
    """Crawl the catalog with `workers` local worker processes (0: only workers started
    elsewhere with `backrank worker`) sharing one Redis queue; close the run as `run_crawl` does.

    Holds the database's refresh lock. Fails (status ``failed``, the run closed as failed)
    when no worker is left while requests are pending for `wait_for_workers` seconds
    (default: at once with local workers, 10 minutes without).
    """
    if workers < 0:
        raise ValueError("workers must be 0 or more")
    with refresh_lock(db_path):
        return _coordinate(
            catalog, db_path, workers=workers, redis_url=redis_url, store=store, quiet=quiet,
            polite=polite, settings=settings or {},
            wait_for_workers=(0.0 if workers else 600.0) if wait_for_workers is None
            else wait_for_workers,
        )  # fmt: skip


def _coordinate(
    catalog: Catalog,
    db_path: str,
    *,
    workers: int,
    redis_url: str,
    store: str | None,
    quiet: bool,
    polite: bool | None,
    settings: dict[str, Any],
    wait_for_workers: float,
) -> CrawlResult:
    server = connect(redis_url)
    remove_abandoned_crawls(server)
    with Store.open(db_path) as db:
        run_id = db.start_run(str(catalog.path))
    # API stores (Amazon's Creators API) are read here, once, beside the workers (which
    # fetch pages only), in a thread paced at the API's request rate.
    api_sources = ThreadPoolExecutor(max_workers=1, thread_name_prefix="api-sources")
    api_run = api_sources.submit(run_api_sources, catalog, str(db_path), run_id, store=store)
    spec = CrawlSpec(
        crawl_id=f"{run_id}-{secrets.token_hex(4)}", run_id=run_id, db=str(db_path),
        catalog_name=Path(catalog.path).name,
        catalog_text=Path(catalog.path).read_text(encoding="utf-8"),
        store=store, polite=polite, settings=settings,
    )  # fmt: skip
    keys = CrawlKeys(spec.crawl_id)
    crawl = CrawlQueue(server, keys)
    started, start_time = time.perf_counter(), datetime.now(UTC)
    server.set(keys.coordinator, os.getpid(), ex=COORDINATOR_TTL)
    server.set(keys.spec, spec.to_json())
    processes: list[subprocess.Popen] = []
    complete, out_of_time, seeded = False, False, 0
    try:
        seeded = seed(server, spec, catalog)
        server.zadd(CRAWLS_KEY, {spec.crawl_id: time.time()})
        processes = [
            subprocess.Popen(worker_command(redis_url, spec.crawl_id)) for _ in range(workers)
        ]
        outcome = _wait_until_drained(
            server, crawl, processes, quiet=quiet, wait_for_workers=wait_for_workers,
            started=started, wall_time=float(catalog.crawl.max_run_minutes) * 60,
        )  # fmt: skip
        # Out of wall time (spiders.budgets): the workers leave, the run closes with what it has.
        out_of_time = outcome == "out_of_time"
        complete = outcome in ("drained", "out_of_time")
        _stop_workers(processes, drained=outcome == "drained")
    finally:
        if not complete:  # failed, interrupted (Ctrl-C) or an error: workers leave too
            _stop_workers(processes, drained=False)
        if not quiet:
            print(file=sys.stderr)  # end the progress line
        stats: dict[str, Any] = dict(crawl.read_stats())
        api_sources.shutdown(wait=True)
        merge_stats(stats, api_run.result())
        server.zrem(CRAWLS_KEY, spec.crawl_id)
        crawl.delete_all()
        if sys.exc_info()[0] is not None:
            with Store.open(db_path) as db:
                db.finish_run(run_id, run_status(stats, complete=False), jsonable_stats(stats))
    finished = datetime.now(UTC)
    stats |= {
        "start_time": start_time,
        "finish_time": finished,
        "finish_reason": (
            "closespider_timeout" if out_of_time else "finished" if complete else "workers_gone"
        ),
        "elapsed_time_seconds": (finished - start_time).total_seconds(),
        "backrank/run_id": run_id,
        "backrank/crawl_id": spec.crawl_id,
        "backrank/workers": workers,
        "backrank/seeded": seeded,
    }
    if not complete:
        stats["backrank/errors/crawl_failed"] = 1
    if out_of_time:
        stats[f"backrank/budget/{MAX_RUN_MINUTES}"] = 1
    with Store.open(db_path) as db:
        # Summed over workers, a listing or review written by a worker killed before its ack
        # and written again by the one that redid the request would count twice: count the
        # run's rows instead.
        stats["backrank/stored/listings"] = db.count_offers(run_id)
        stats["backrank/stored/reviews"] = db.count_reviews(run_id)
        result = summarise(
            stats, run_id=run_id, elapsed=time.perf_counter() - started, complete=complete
        )
        if not complete:
            db.finish_run(run_id, result.status, result.stats)
            return result
        close_complete_run(db, catalog, str(db_path), stats, result, store=store)
    return result


def _wait_until_drained(
    server: Redis,
    crawl: Any,
    processes: list[subprocess.Popen],
    *,
    quiet: bool,
    wait_for_workers: float,
    started: float,
    wall_time: float,
) -> str:
    """Renew the coordinator's heartbeat and requeue dead workers' requests until nothing is
    pending (``drained``), the run has taken `wall_time` seconds (``out_of_time``), or no
    worker has been left for `wait_for_workers` seconds (``workers_gone``)."""
    alone_since: float | None = None
    while True:
        server.set(crawl.keys.coordinator, os.getpid(), ex=COORDINATOR_TTL)
        crawl.requeue_dead()
        if crawl.pending() == 0:
            return "drained"
        if time.perf_counter() - started >= wall_time:
            return "out_of_time"
        running = any(process.poll() is None for process in processes)
        if running or _alive_workers(server, crawl):
            alone_since = None
        else:
            alone_since = alone_since or time.monotonic()
            if time.monotonic() - alone_since >= wait_for_workers:
                return "workers_gone"
        if not quiet:
            _print_progress(crawl.read_stats(), time.perf_counter() - started)
        time.sleep(POLL)


def _alive_workers(server: Redis, crawl: Any) -> int:
    """Workers (anywhere) whose heartbeat is current."""
    members = [member.decode() for member in server.smembers(crawl.keys.workers)]
    return sum(bool(server.exists(crawl.keys.alive(worker))) for worker in members)


def _print_progress(stats: dict[str, Any], elapsed: float) -> None:
    print(
        f"\rcrawling {elapsed:.0f}s: {stats.get('response_received_count', 0)} pages, "
        f"{stats.get('backrank/stored/listings', 0)} listings, "
        f"{stats.get('backrank/stored/reviews', 0)} reviews, "
        f"{stats.get('backrank/requeued', 0)} requeued",
        end="",
        file=sys.stderr,
        flush=True,
    )


def _stop_workers(processes: list[subprocess.Popen], *, drained: bool) -> None:
    """Drained: workers close by themselves (wait for them). Else: SIGTERM, so each requeues
    what it holds and leaves; SIGKILL after the grace period."""
    for process in processes:
        if not drained and process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + WORKER_EXIT_GRACE
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- the worker --------------------------------------------------------------------------------


def worker_id() -> str:
    """This worker's name in Redis: host, process and a random part (pids repeat across hosts)."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


def wait_for_crawl(server: Redis, timeout: float, skip: set[str] = frozenset()) -> str | None:
    """The oldest live crawl not in `skip`, waiting up to `timeout` seconds for one to start."""
    deadline = time.monotonic() + timeout
    while True:
        for crawl_id in live_crawls(server):
            if crawl_id not in skip:
                return crawl_id
        if time.monotonic() >= deadline:
            return None
        time.sleep(1.0)


def run_worker(redis_url: str, crawl_id: str, *, db: str | None = None, quiet: bool = False) -> int:
    """Work on one crawl in this process until it is drained (Twisted: once per process)."""
    server = connect(redis_url)
    raw = server.get(CrawlKeys(crawl_id).spec)
    if raw is None:
        raise CrawlError(f"no crawl {crawl_id} in Redis at {masked(redis_url)} (finished already?)")
    spec = CrawlSpec.from_json(raw)
    with tempfile.TemporaryDirectory(prefix="backrank-worker-") as scratch:
        catalog_path = Path(scratch) / spec.catalog_name
        catalog_path.write_text(spec.catalog_text, encoding="utf-8")
        catalog = load_catalog(catalog_path)
        settings = worker_settings(spec, catalog, redis_url, db=db or spec.db, quiet=quiet)
        process = AsyncCrawlerProcess(settings)
        crawler = process.create_crawler(WorkerSpider)
        process.crawl(crawler, catalog=catalog, store=spec.store)
        process.start()
    reason = crawler.stats.get_value("finish_reason") if crawler.stats else None
    return 0 if reason == "finished" else EXIT_FAILED


def worker_settings(
    spec: CrawlSpec, catalog: Catalog, redis_url: str, *, db: str, quiet: bool
) -> Any:
    """The single-process settings of the catalog plus the shared queue, dupefilter and politeness."""
    keys = CrawlKeys(spec.crawl_id)
    distributed = {
        "SCHEDULER": "spiders.redis_queue.ReliableScheduler",
        "SCHEDULER_QUEUE_CLASS": "spiders.redis_queue.ReliableQueue",
        "SCHEDULER_QUEUE_KEY": keys.queue,
        "SCHEDULER_DUPEFILTER_KEY": keys.dupefilter,
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_PERSIST": True,
        "REDIS_URL": redis_url,
        "DOWNLOADER": "spiders.redis_politeness.SharedPolitenessDownloader",
        "EXTENSIONS": {**project.EXTENSIONS, "spiders.redis_worker.DistributedWorker": 100},
        "BACKRANK_CRAWL_ID": spec.crawl_id,
        "BACKRANK_WORKER_ID": worker_id(),
    }
    settings = settings_for(
        catalog, db, run_id=spec.run_id, polite=spec.polite, quiet=True,
        extra={**spec.settings, **distributed},
    )  # fmt: skip
    if not quiet:
        settings.set(
            "LOG_LEVEL", os.environ.get("BACKRANK_WORKER_LOG", "WARNING"), priority="cmdline"
        )
    return settings


def serve_crawls(
    redis_url: str,
    *,
    crawl_id: str | None = None,
    db: str | None = None,
    quiet: bool = False,
    forever: bool = False,
    wait: float = 60.0,
) -> int:
    """`backrank worker`: join the given crawl, else the oldest live one (waiting up to `wait`
    seconds for one to start); with `forever`, join every crawl that starts, each in a fresh
    process (Twisted's reactor runs once per process)."""
    if crawl_id is not None:
        return run_worker(redis_url, crawl_id, db=db, quiet=quiet)
    server = connect(redis_url)
    joined: set[str] = set()
    while True:
        current = wait_for_crawl(server, wait, joined)
        if current is None:
            if forever:
                continue
            print(
                f"backrank worker: no crawl on {masked(redis_url)} within {wait:.0f} s",
                file=sys.stderr,
            )
            return EXIT_FAILED
        if not forever:
            return run_worker(redis_url, current, db=db, quiet=quiet)
        joined.add(current)
        exit_code, stopped = run_worker_process(
            worker_command(redis_url, current, db=db, quiet=quiet)
        )
        if stopped:
            return exit_code


def run_worker_process(command: list[str]) -> tuple[int, bool]:
    """Run one crawl's worker in a child process until it ends: its exit status, and whether
    this process was stopped (SIGTERM) meanwhile.

    A SIGTERM (`docker compose stop`, systemd) goes to this process only: it is passed on, so
    the child gives back what it holds at once rather than being left crawling, or killed
    with its requests held until its heartbeat expires. On Ctrl-C the child, in the same
    process group, got SIGINT too: wait for it to leave likewise.
    """
    stopped = False
    child: subprocess.Popen | None = None

    def pass_on(signum: int, frame: Any) -> None:
        nonlocal stopped
        stopped = True
        if child is not None:
            child.send_signal(signal.SIGTERM)

    previous = signal.signal(signal.SIGTERM, pass_on)
    try:
        child = subprocess.Popen(command)
        if stopped:  # a SIGTERM came while it was starting
            child.send_signal(signal.SIGTERM)
        try:
            return child.wait(), stopped
        except KeyboardInterrupt:
            child.wait()
            raise
    finally:
        signal.signal(signal.SIGTERM, previous)
