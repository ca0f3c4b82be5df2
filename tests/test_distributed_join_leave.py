"""Workers joining and leaving a distributed crawl mid-way, through the real CLI in subprocesses.

A worker stopped with SIGTERM (as `docker compose stop` and systemd do) gives back what it
holds at once, not after its heartbeat expires; a coordinator started with `--workers 0`
waits for workers from elsewhere; a worker that joins late takes part; `backrank worker
--forever` stays for the next crawl. Judged against the demo marketplace's ground truth.

Each test uses its own Redis database on the test server, so a `--forever` worker (which
joins any crawl it finds) never wanders into another test's crawl.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from conftest import server_or_skip
from helpers import acked_by_worker, write_demo_catalog
from redis import Redis

from backrank.core.config import load_catalog
from backrank.core.store import Store
from backrank.marketplace import Marketplace
from spiders.crawl import EXIT_FAILED, CrawlResult
from spiders.distributed import CrawlSpec, live_crawls, run_distributed_crawl
from spiders.redis_queue import HEARTBEAT_TTL, CrawlKeys, CrawlQueue

# Amazon is read through the demo Creators API (the coordinator calls it; see spiders.crawl)
pytestmark = pytest.mark.usefixtures("demo_api_credentials")

REPO = Path(__file__).resolve().parent.parent
SCALE = 100  # about 300 listings over four stores; with one review page each, about 600 pages
MAX_REVIEW_PAGES = 1
ACKED_BEFORE_LEAVING = 20  # requests a worker has finished before the test stops it


def redis_database(url: str, number: int) -> str:
    """`url` pointing at database `number` of the same Redis server."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{number}"))


@pytest.fixture(scope="module")
def redis_server_url() -> str:
    return server_or_skip("BACKRANK_TEST_REDIS", "Redis server")


@pytest.fixture(scope="module")
def marketplace() -> Iterator[Marketplace]:
    with Marketplace(seed=7, scale=SCALE).start(port=0) as running:
        yield running


@pytest.fixture(scope="module")
def catalog_path(marketplace: Marketplace, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_demo_catalog(marketplace, tmp_path_factory.mktemp("join-leave"), MAX_REVIEW_PAGES)


def listing_identity(store: str, url: str, asin: str | None) -> tuple[str, str]:
    """How a listing is known across truth and store: Amazon by ASIN (the store keeps the
    canonical /dp/ URL), the others by URL."""
    return (store, asin) if asin else (store, url)


def truth_listings(marketplace: Marketplace) -> set[tuple]:
    """(listing, price, availability) of every listing the marketplace shows."""
    return {
        (
            listing_identity(f"demo-{row['store']}", row["url"], row.get("asin")),
            row["price"],
            row["availability"],
        )
        for row in marketplace.truth()["listings"]
    }


def stored_listings(db_path: Path, run_id: int) -> set[tuple]:
    """(listing, price, availability) of what `run_id` stored."""
    with Store.open(db_path) as store:
        offers = store.read_offers(latest=False)  # every run's snapshots
    offers = offers[offers["run_id"] == run_id]
    return {
        (
            listing_identity(row.store, row.url, row.asin),
            None if row.price is None else str(row.price),
            row.availability,
        )
        for row in offers.itertuples()
    }


def backrank(*args: str) -> list[str]:
    return [sys.executable, "-m", "backrank.app.cli", *args]


def worker_prefix(pid: int) -> str:
    """The start of the Redis name of the worker running in process `pid`."""
    return f"{socket.gethostname()}-{pid}-"


def crawling_pid(process: subprocess.Popen, timeout: float = 30) -> int:
    """The process that crawls for `process`: itself, or for `--forever` its child."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = [int(pid) for pid in children.read_text().split()] if children.exists() else []
        if pids:
            return pids[0]
        if process.poll() is not None:
            pytest.fail(f"the worker ended with {process.returncode} before crawling")
        time.sleep(0.05)
    pytest.fail("the --forever worker started no crawling process")


def wait_for_crawl_into(server: Redis, db_path: Path, skip: frozenset[str] = frozenset()) -> str:
    """The id of the live crawl storing into `db_path` (and not in `skip`)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for crawl_id in live_crawls(server):
            spec = server.get(CrawlKeys(crawl_id).spec)
            if crawl_id not in skip and spec and CrawlSpec.from_json(spec).db == str(db_path):
                return crawl_id
        time.sleep(0.05)
    pytest.fail(f"no crawl into {db_path} started")


def wait_until_working(
    server: Redis,
    keys: CrawlKeys,
    pid: int,
    acked_at_least: int = ACKED_BEFORE_LEAVING,
    holding: bool = True,
) -> tuple[str, int]:
    """Once the worker in process `pid` has acked `acked_at_least` requests (and, when
    `holding`, holds some in flight): its Redis name and how many it holds."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        names = (name.decode() for name in server.smembers(keys.workers))
        worker = next((name for name in names if name.startswith(worker_prefix(pid))), None)
        if worker:
            acked = int(server.hget(keys.stats, f"backrank/worker/{worker}/acked") or 0)
            in_flight = server.zcard(keys.inflight(worker))
            if acked >= acked_at_least and (in_flight or not holding):
                return worker, in_flight
        time.sleep(0.02)
    pytest.fail(f"the worker in process {pid} never got to work")


def stop(process: subprocess.Popen) -> None:
    """End a process this test started, if it is still running."""
    if process.poll() is None:
        process.kill()
        process.wait()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("mode", "database"), [("one crawl", 11), ("forever", 12)], ids=["one-crawl", "forever"]
)
def test_a_worker_stopped_mid_crawl_gives_back_its_requests_at_once(
    redis_server_url: str,
    marketplace: Marketplace,
    catalog_path: Path,
    tmp_path: Path,
    mode: str,
    database: int,
) -> None:
    redis_url = redis_database(redis_server_url, database)
    server = Redis.from_url(redis_url)
    db_path = tmp_path / "leave.db"
    outcome: dict[str, CrawlResult] = {}
    coordinator = threading.Thread(
        target=lambda: outcome.setdefault(
            "result",
            run_distributed_crawl(
                load_catalog(catalog_path),
                str(db_path),
                workers=0,
                redis_url=redis_url,
                quiet=True,
                wait_for_workers=120,
            ),
        )  # fmt: skip
    )
    coordinator.start()
    crawl_id = wait_for_crawl_into(server, db_path)
    keys, crawl = CrawlKeys(crawl_id), CrawlQueue(server, CrawlKeys(crawl_id))
    joins = ["--crawl", crawl_id] if mode == "one crawl" else ["--forever"]
    leaver = subprocess.Popen(backrank("worker", "--redis", redis_url, *joins, "--quiet"), cwd=REPO)
    finisher: subprocess.Popen | None = None
    try:
        pid = leaver.pid if mode == "one crawl" else crawling_pid(leaver)
        worker, held = wait_until_working(server, keys, pid)

        stopped_at = time.monotonic()
        leaver.send_signal(signal.SIGTERM)
        leaver.wait(timeout=30)
        took = time.monotonic() - stopped_at
        # It is the only worker: once it is gone, every unfinished request is back in the
        # queue, none left in flight waiting for a heartbeat to expire.
        queued, pending = server.zcard(keys.queue), crawl.pending()
        assert queued == pending > 0, (queued, pending)
        assert not server.exists(keys.inflight(worker), keys.alive(worker))
        assert not server.sismember(keys.workers, worker)
        assert took < HEARTBEAT_TTL / 2, f"leaving took {took:.1f} s"
        # Stopped before the crawl was drained, it did not finish it.
        assert leaver.returncode == EXIT_FAILED
        if mode == "forever":
            with pytest.raises(ProcessLookupError):  # its crawling child left too
                os.kill(pid, 0)
        given_back = int(server.hget(keys.stats, "backrank/requeued") or 0)
        assert given_back <= held

        finisher = subprocess.Popen(
            backrank("worker", "--redis", redis_url, "--crawl", crawl_id, "--quiet"), cwd=REPO
        )
        coordinator.join(timeout=120)
        assert finisher.wait(timeout=60) == 0
    finally:
        for process in (leaver, finisher):
            if process is not None:
                stop(process)
        coordinator.join(timeout=120)
    result = outcome["result"]
    assert (result.status, result.complete) == ("ok", True)
    acked = acked_by_worker(result.stats)
    assert acked.pop(worker) >= ACKED_BEFORE_LEAVING
    assert len(acked) == 1 and next(iter(acked)).startswith(worker_prefix(finisher.pid))
    assert result.stats.get("backrank/requeued", 0) == given_back
    truth = truth_listings(marketplace)
    stored = stored_listings(db_path, result.run_id)
    assert not truth - stored, f"{len(truth - stored)} listings missing"
    assert stored == truth
    assert result.listings == len(truth)


@pytest.mark.slow
def test_remote_workers_join_a_coordinator_without_local_workers_and_stay_for_the_next_crawl(
    redis_server_url: str, marketplace: Marketplace, catalog_path: Path, tmp_path: Path
) -> None:
    redis_url = redis_database(redis_server_url, 13)
    server = Redis.from_url(redis_url)
    db_path = tmp_path / "remote.db"
    coordinate = backrank(
        "crawl", "--catalog", str(catalog_path), "--db", str(db_path), "--workers", "0",
        "--redis", redis_url, "--quiet",
    )  # fmt: skip
    # Started before any crawl: it waits for one.
    forever = subprocess.Popen(
        backrank("worker", "--redis", redis_url, "--forever", "--quiet"), cwd=REPO
    )
    started: list[subprocess.Popen] = [forever]
    try:
        first = subprocess.Popen(coordinate, cwd=REPO, stdout=subprocess.PIPE, text=True)
        started.append(first)
        first_id = wait_for_crawl_into(server, db_path)
        first_child = crawling_pid(forever)
        wait_until_working(server, CrawlKeys(first_id), first_child)
        # Joins after the crawl started, the oldest (only) one in progress on this Redis. The
        # first worker is paused meanwhile, so the crawl cannot end before the late one has
        # started up, however loaded the machine (past its heartbeat the late worker requeues
        # what the paused one holds: nothing is lost either way).
        os.kill(first_child, signal.SIGSTOP)
        try:
            late = subprocess.Popen(backrank("worker", "--redis", redis_url, "--quiet"), cwd=REPO)
            started.append(late)
            wait_until_working(server, CrawlKeys(first_id), late.pid, 1, holding=False)
        finally:
            os.kill(first_child, signal.SIGCONT)
        first_output, _ = first.communicate(timeout=120)
        assert first.returncode == 0
        assert late.wait(timeout=60) == 0  # the crawl was drained: it is done
        time.sleep(1.5)  # longer than the --forever worker's look for crawls
        assert forever.poll() is None, "the --forever worker left after its first crawl"

        second = subprocess.Popen(coordinate, cwd=REPO, stdout=subprocess.PIPE, text=True)
        started.append(second)
        second_id = wait_for_crawl_into(server, db_path, skip=frozenset({first_id}))
        second_child = crawling_pid(forever)
        assert second_child != first_child  # a fresh process per crawl
        second_output, _ = second.communicate(timeout=120)
        assert second.returncode == 0

        stopped_at = time.monotonic()
        forever.send_signal(signal.SIGTERM)  # between crawls: nothing to give back
        forever.wait(timeout=10)
        assert time.monotonic() - stopped_at < 5
        assert forever.returncode in (0, -signal.SIGTERM)
    finally:
        for process in started:
            stop(process)

    with Store.open(db_path) as store:
        runs = store.runs()
    assert runs["status"].tolist() == ["ok", "ok"]
    first_stats, second_stats = runs["stats"].tolist()
    truth = truth_listings(marketplace)
    for stats, output in ((first_stats, first_output), (second_stats, second_output)):
        assert stats["backrank/workers"] == 0  # the coordinator started none
        assert stored_listings(db_path, stats["backrank/run_id"]) == truth
        assert stats["backrank/stored/listings"] == len(truth)
        assert f", {len(truth)} listings," in output  # the summary line
    first_acked = acked_by_worker(first_stats)
    assert sorted(first_acked) == sorted(
        name
        for name in first_acked
        if name.startswith((worker_prefix(first_child), worker_prefix(late.pid)))
    )
    assert len(first_acked) == 2 and all(count > 0 for count in first_acked.values())
    second_acked = acked_by_worker(second_stats)
    assert len(second_acked) == 1
    assert next(iter(second_acked)).startswith(worker_prefix(second_child))
    for crawl_id in (first_id, second_id):  # removed, but for a late worker's last stats
        left = set(server.scan_iter(match=f"backrank:{crawl_id}:*"))
        assert left <= {CrawlKeys(crawl_id).stats.encode()}, left
