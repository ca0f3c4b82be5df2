"""Distributed crawls of the demo marketplace over real HTTP: several workers, one Redis queue.

Judged against a single-process crawl of the same marketplace: the same listings (store,
URL, price...) and the same reviews, with three workers, and with one of them killed by
SIGKILL mid-crawl. And cross-worker politeness: a store never sees two requests closer
together than the download delay, however many workers crawl it.
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
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from conftest import server_or_skip
from helpers import acked_by_worker, write_demo_catalog

from backrank.app.demo import amazon_credentials_env
from backrank.core.config import load_catalog
from backrank.core.store import Store
from backrank.marketplace import Marketplace
from spiders.crawl import CrawlResult, run_crawl_subprocess
from spiders.distributed import live_crawls, run_distributed_crawl, worker_command
from spiders.redis_queue import CrawlKeys

# Amazon is read through the demo Creators API (the coordinator calls it; see spiders.crawl)
pytestmark = pytest.mark.usefixtures("demo_api_credentials")

REPO = Path(__file__).resolve().parent.parent
SCALE = 2000  # 5,984 listings over four stores
# Review pages are what makes a crawl long; the product pages carry the first reviews, and
# the politeness test below follows review pages at a small scale.
MAX_REVIEW_PAGES = 0


@pytest.fixture(scope="module")
def redis_url() -> str:
    return server_or_skip("BACKRANK_TEST_REDIS", "Redis server")


@dataclass(frozen=True)
class Stored:
    """What a crawl left in the store, in a form two crawls can be compared by."""

    listings: frozenset[
        tuple
    ]  # (store, url, canonical_url, asin, price, currency, availability, rating, review_count)
    reviews: frozenset[tuple]  # (store, review_id, url, rating, title)

    @classmethod
    def read(cls, db_path: Path) -> Stored:
        with Store.open(db_path) as store:
            offers = store.read_offers(latest=True)
            reviews = store.read_reviews()
        listing_columns = [
            "store", "url", "canonical_url", "asin", "price", "currency", "availability",
            "rating", "review_count",
        ]  # fmt: skip
        return cls(
            listings=frozenset(_rows(offers, listing_columns)),
            reviews=frozenset(_rows(reviews, ["store", "review_id", "url", "rating", "title"])),
        )


def _rows(frame, columns: list[str]) -> list[tuple]:
    return [
        tuple(None if pd.isna(value) else str(value) for value in row)
        for row in frame[columns].itertuples(index=False)
    ]


@pytest.fixture(scope="module")
def marketplace() -> Iterator[Marketplace]:
    with Marketplace(seed=7, scale=SCALE).start(port=0) as running:
        yield running


@pytest.fixture(scope="module")
def amazon_api_env() -> Iterator[None]:
    """The demo Creators API's credentials for the module's crawls (the baseline's too)."""
    with amazon_credentials_env("api"):
        yield


@pytest.fixture(scope="module")
def catalog_path(
    marketplace: Marketplace, tmp_path_factory: pytest.TempPathFactory, amazon_api_env: None
) -> Path:
    return write_demo_catalog(marketplace, tmp_path_factory.mktemp("distributed"), MAX_REVIEW_PAGES)


@pytest.fixture(scope="module")
def single_process(catalog_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Stored:
    """The baseline: what one process crawling the same marketplace stores."""
    db_path = tmp_path_factory.mktemp("single") / "single.db"
    result = run_crawl_subprocess(catalog_path, db_path, quiet=True, timeout=600)
    assert (result.status, result.errors) == ("ok", 0)
    stored = Stored.read(db_path)
    assert len(stored.listings) == result.listings > 5000
    return stored


@pytest.mark.slow
def test_three_workers_store_exactly_what_one_process_stores(
    redis_url: str, catalog_path: Path, single_process: Stored, tmp_path: Path
) -> None:
    db_path = tmp_path / "three.db"
    crawled = subprocess.run(
        [sys.executable, "-m", "backrank.app.cli", "crawl", "--catalog", str(catalog_path),
         "--db", str(db_path), "--workers", "3", "--redis", redis_url, "--quiet"],
        cwd=REPO, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert crawled.returncode == 0, crawled.stderr[-3000:]
    stored = Stored.read(db_path)
    assert stored.listings == single_process.listings
    assert stored.reviews == single_process.reviews
    with Store.open(db_path) as store:
        runs = store.runs()
    assert runs["status"].tolist() == ["ok"]
    stats = runs["stats"].iloc[0]
    assert stats["backrank/workers"] == 3
    assert stats["backrank/stored/listings"] == len(single_process.listings)
    acked = acked_by_worker(stats)
    assert len(acked) == 3 and all(count > 0 for count in acked.values()), acked
    assert f", {len(single_process.listings)} listings," in crawled.stdout  # the summary line
    assert not _keys_left(redis_url, stats)


def _keys_left(redis_url: str, stats: dict) -> list[bytes]:
    """Keys of this run's crawl still in Redis (the coordinator removes them all)."""
    from redis import Redis

    server = Redis.from_url(redis_url)
    # By the crawl's own id: run ids start at 1 in every test's database, so another test's
    # crawl may carry the same run id at the same time.
    return list(server.scan_iter(match=f"backrank:{stats['backrank/crawl_id']}:*"))


@pytest.mark.slow
def test_a_worker_killed_mid_crawl_loses_nothing(
    redis_url: str, catalog_path: Path, single_process: Stored, tmp_path: Path
) -> None:
    from redis import Redis

    server = Redis.from_url(redis_url)
    db_path = tmp_path / "killed.db"
    outcome: dict[str, CrawlResult] = {}
    coordinator = threading.Thread(
        target=lambda: outcome.setdefault(
            "result",
            run_distributed_crawl(
                load_catalog(catalog_path),
                str(db_path),
                workers=2,
                redis_url=redis_url,
                quiet=True,
            ),
        )  # fmt: skip
    )
    coordinator.start()
    crawl_id = _wait_for_crawl_of(server, db_path)
    victim = subprocess.Popen(worker_command(redis_url, crawl_id), cwd=REPO)
    keys = CrawlKeys(crawl_id)
    name = f"{socket.gethostname()}-{victim.pid}-"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # once it has acked some requests and holds some
        worker = next(
            (w.decode() for w in server.smembers(keys.workers) if w.decode().startswith(name)),
            None,
        )
        acked = worker and int(server.hget(keys.stats, f"backrank/worker/{worker}/acked") or 0)
        in_flight = worker and server.zcard(keys.inflight(worker))
        if acked and acked >= 20 and in_flight:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the third worker never got to work")
    os.kill(victim.pid, signal.SIGKILL)
    assert victim.wait(timeout=10) == -signal.SIGKILL
    coordinator.join(timeout=600)
    result = outcome["result"]
    assert (result.status, result.complete) == ("ok", True)
    assert result.stats["backrank/requeued"] >= in_flight
    assert acked_by_worker(result.stats)[worker] >= 20
    stored = Stored.read(db_path)
    missing = single_process.listings - stored.listings
    assert not missing, f"{len(missing)} listings missing, e.g. {sorted(missing)[:3]}"
    assert stored.listings == single_process.listings
    assert stored.reviews == single_process.reviews
    assert result.listings == len(single_process.listings)


def _wait_for_crawl_of(server, db_path: Path) -> str:
    """The id of the live crawl that stores into `db_path` (other tests may crawl too)."""
    from spiders.distributed import CrawlSpec

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for crawl_id in live_crawls(server):
            spec = server.get(CrawlKeys(crawl_id).spec)
            if spec and CrawlSpec.from_json(spec).db == str(db_path):
                return crawl_id
        time.sleep(0.05)
    pytest.fail(f"no crawl into {db_path} started")


class TimedMarketplace(Marketplace):
    """The marketplace, also noting when each request arrived."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.arrivals: list[tuple[float, str, str]] = []

    def _log_request(self, store: str, path: str) -> int:
        self.arrivals.append((time.monotonic(), store, path))
        return super()._log_request(store, path)


@pytest.mark.slow
def test_workers_together_keep_the_download_delay_per_store(redis_url: str, tmp_path: Path) -> None:
    delay = 0.2
    # scale 16: with Amazon read through its Creators API and WooCommerce through its Store
    # API, about as many pages as scale 5 had when every store was crawled page by page: some
    # ten seconds at the delay, time enough for all three workers to start and share them
    with TimedMarketplace(seed=7, scale=16).start(port=0) as marketplace:
        catalog_path = write_demo_catalog(marketplace, tmp_path, max_review_pages=1)
        result = run_distributed_crawl(
            load_catalog(catalog_path), str(tmp_path / "polite.db"), workers=3,
            redis_url=redis_url, quiet=True, polite=True,
            settings={"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": delay,
                      "DOWNLOAD_DELAY_JITTER": 0},
        )  # fmt: skip
        truth = marketplace.truth()
        # pages only: the Creators API is called by the coordinator at the client's own rate
        arrivals = sorted(a for a in marketplace.arrivals if a[1] != "creators_api")
    assert result.status == "ok" and result.listings == len(truth["listings"])
    assert len(acked_by_worker(result.stats)) >= 2  # the work was shared
    # Scrapy paces per host (its download slot); all four demo stores share 127.0.0.1, so
    # every request, to whichever store, keeps the delay from the one before.
    times = [when for when, _, _ in arrivals]
    gaps = [later - earlier for earlier, later in zip(times, times[1:])]
    jitter = 0.03  # the server notes arrival, not sending: allow a little
    close = [
        (round(gap, 3), arrivals[i + 1][1:]) for i, gap in enumerate(gaps) if gap < delay - jitter
    ]
    assert not close, f"{len(close)} of {len(gaps)} requests came too soon: {close[:5]}"
    disallowed = truth["disallowed"]
    refused = [(store, path) for _, store, path in arrivals if path.startswith(disallowed[store])]
    assert not refused, f"robots-disallowed paths requested: {refused[:5]}"
