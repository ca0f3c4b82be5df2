"""Issue 15's crawl findings, each reproduced over real HTTP against a hostile store on 127.0.0.1:
crawler traps end at their budgets, a deep JSON-LD block costs only itself, oversized bodies
count as too_big, store text is capped, and a store cannot send the crawler to another's port."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from conftest import server_or_skip
from helpers import SITE_TOML, load_catalog_text, write_catalog
from hostile_store import HostileStore

from backrank.core.config import CatalogError, StoreConfig, load_catalog
from backrank.core.store import Store
from spiders.crawl import EXIT_FAILED, CrawlResult, resumable_run, run_crawl_subprocess
from spiders.distributed import run_distributed_crawl
from spiders.offsite import origin_of, store_origins
from spiders.refresh_report import read_report

REPO = Path(__file__).resolve().parent.parent
TIMEOUT = 90  # seconds; before the budgets, the trap crawls ran until this killed them
BIG = 11 * 1024 * 1024  # past the 10 MiB DOWNLOAD_MAXSIZE


@dataclass
class Crawl:
    """One crawl of a catalog into its own database, and what it left behind."""

    result: CrawlResult
    db: Path
    report: dict
    requested: list[str]  # paths the hostile store served during this crawl

    def stat(self, key: str) -> int:
        return int(self.result.stats.get(key, 0))

    def requests_for(self, prefix: str) -> list[str]:
        return [path for path in self.requested if path.startswith(prefix)]


def crawl(folder: Path, server: HostileStore, stores_toml: str, crawl_toml: str = "") -> Crawl:
    catalog = write_catalog(
        folder, f"{SITE_TOML}[crawl]\npolite = false\n{crawl_toml}\n{stores_toml}"
    )
    db = folder / "hostile.db"
    start = len(server.requested)
    result = run_crawl_subprocess(catalog, db, quiet=True, timeout=TIMEOUT)
    report = read_report(db, result.run_id) if result.run_id is not None else None
    return Crawl(result=result, db=db, report=report or {}, requested=server.requested[start:])


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileStore]:
    with HostileStore() as store:
        yield store


@pytest.fixture(scope="module")
def neighbour() -> Iterator[HostileStore]:
    """Another store's server on the same host, another port (an admin port, say)."""
    with HostileStore() as store:
        yield store


@pytest.fixture(scope="module")
def traps(hostile: HostileStore, tmp_path_factory: pytest.TempPathFactory) -> Crawl:
    """Endless listing pagination, endless sitemap indexes, a 60-product sitemap: each store
    with its own budget."""
    url = hostile.url
    return crawl(
        tmp_path_factory.mktemp("traps"),
        hostile,
        f"""
[[stores]]
name = "listing-trap"
platform = "woocommerce"
start_urls = ["{url}/listing/1"]
max_listing_pages = 5

[[stores]]
name = "sitemap-trap"
sitemap_urls = ["{url}/sitemaps/1.xml"]
max_sitemap_depth = 3

[[stores]]
name = "big-store"
sitemap_urls = ["{url}/products.xml?products=60"]
max_pages = 10
""",
    )


def test_endless_listing_pagination_ends_at_the_listing_budget(
    traps: Crawl,
) -> None:
    assert traps.requests_for("/listing/") == [f"/listing/{page}" for page in range(1, 6)]
    assert traps.stat("backrank/store/listing-trap/budget/max_listing_pages") == 1
    listing_trap = next(s for s in traps.report["stores"] if s["store"] == "listing-trap")
    assert listing_trap["budgets"] == {"max_listing_pages": 1}
    assert listing_trap["listings_stored"] == 5  # what it did fetch is kept


def test_endless_sitemap_indexes_end_at_the_sitemap_depth(
    traps: Crawl,
) -> None:
    # the seed (depth 0) and three levels of indexes below it; the fifth is never asked for
    assert traps.requests_for("/sitemaps/") == [f"/sitemaps/{level}.xml" for level in (1, 2, 3, 4)]
    assert traps.stat("backrank/store/sitemap-trap/budget/max_sitemap_depth") == 1


def test_a_store_gets_no_more_pages_than_its_page_budget(
    traps: Crawl,
) -> None:
    fetched = traps.requests_for("/product/mapped-")
    assert len(fetched) == 9  # its sitemap plus nine product pages
    assert traps.stat("backrank/store/big-store/pages") == 10
    assert traps.stat("backrank/store/big-store/budget/max_pages") == 60 - 9


def test_a_run_that_hits_a_budget_ends_as_warnings_with_the_budget_named(traps: Crawl) -> None:
    assert traps.result.complete
    assert traps.result.status == "warnings"
    assert traps.result.budgets == {
        "max_listing_pages": 1,
        "max_pages": 51,
        "max_sitemap_depth": 1,
    }
    assert traps.report["status"] == "warnings"
    warnings = "\n".join(traps.report["warnings"])
    for store, budget in (
        ("listing-trap", "max_listing_pages"),
        ("sitemap-trap", "max_sitemap_depth"),
        ("big-store", "max_pages"),
    ):
        assert f"{store}: stopped at its {budget} crawl budget" in warnings


def test_a_trap_run_ends_at_its_wall_time_and_is_not_resumed(
    hostile: HostileStore, tmp_path: Path
) -> None:
    stores = f"""
[[stores]]
name = "slow-trap"
platform = "woocommerce"
start_urls = ["{hostile.url}/listing/1"]
max_listing_pages = 1000000
max_pages = 1000000
"""
    first = crawl(tmp_path, hostile, stores, "max_run_minutes = 0.05\n")  # 3 s
    assert first.result.elapsed < 30
    assert first.result.status == "warnings"
    assert first.result.budgets == {"max_run_minutes": 1}
    assert any("max_run_minutes crawl budget" in line for line in first.report["warnings"])
    with Store.open(first.db) as db:
        runs = db.runs()
    assert runs["status"].tolist() == ["warnings"]
    second = crawl(tmp_path, hostile, stores, "max_run_minutes = 0.05\n")
    assert not second.result.resumed
    assert second.result.run_id != first.result.run_id


def test_a_distributed_trap_run_ends_at_its_wall_time_and_budgets(
    hostile: HostileStore, tmp_path: Path
) -> None:
    redis_url = server_or_skip("BACKRANK_TEST_REDIS", "Redis server")
    catalog = write_catalog(
        tmp_path,
        f"""{SITE_TOML}[crawl]\npolite = false\nmax_run_minutes = 0.25\n
[[stores]]
name = "listing-trap"
platform = "woocommerce"
start_urls = ["{hostile.url}/listing/1?distributed"]
max_listing_pages = 1000000

[[stores]]
name = "sitemap-trap"
sitemap_urls = ["{hostile.url}/sitemaps/1.xml?distributed"]
max_sitemap_depth = 2
""",
    )
    result = run_distributed_crawl(
        load_catalog(catalog), str(tmp_path / "distributed.db"), workers=1,
        redis_url=redis_url, quiet=True,
    )  # fmt: skip
    assert result.elapsed < 60  # 15 s of crawling, and the worker's start and stop
    assert (result.status, result.complete) == ("warnings", True)
    assert result.listings > 0  # what it stored in time is kept
    assert result.budgets == {"max_run_minutes": 1, "max_sitemap_depth": 1}
    with Store.open(tmp_path / "distributed.db") as db:
        assert db.runs()["status"].tolist() == ["warnings"]


def test_a_trap_run_stopped_mid_way_is_closed_not_resumed_once_out_of_time(
    hostile: HostileStore, tmp_path: Path
) -> None:
    """A refresh stopped (SIGTERM) in a trap leaves its run to resume; once the run is older
    than its wall time, the next refresh closes it and starts afresh."""
    catalog = write_catalog(
        tmp_path,
        f"""{SITE_TOML}[crawl]\npolite = false\nmax_run_minutes = 0.1\n
[[stores]]
name = "slow-trap"
platform = "woocommerce"
start_urls = ["{hostile.url}/listing/1?stopped"]
max_listing_pages = 1000000
""",
    )
    db = tmp_path / "stopped.db"
    command = [sys.executable, "-m", "spiders.crawl", "--catalog", str(catalog), "--db", str(db)]
    started, served = time.monotonic(), len(hostile.requested)
    stopped = subprocess.Popen([*command, "--quiet"], cwd=REPO)
    while len(hostile.requested) < served + 5:  # crawling the trap
        assert time.monotonic() - started < 30, "the crawl never reached the store"
        time.sleep(0.05)
    stopped.send_signal(signal.SIGTERM)
    assert stopped.wait(timeout=30) == EXIT_FAILED  # stopped early: kept to resume
    with Store.open(db) as store:
        assert store.runs()["status"].tolist() == ["running"]
    time.sleep(max(0.0, started + 7 - time.monotonic()))  # past its 6 s of wall time

    result = run_crawl_subprocess(catalog, db, quiet=True, timeout=TIMEOUT)
    assert not result.resumed
    with Store.open(db) as store:
        runs = store.runs()
    assert runs["status"].tolist() == ["warnings", "warnings"]  # closed, then a fresh run
    assert runs["stats"].iloc[0]["backrank/budget/max_run_minutes"] == 1
    assert result.run_id == runs["run_id"].iloc[1]


def test_a_resumed_run_older_than_the_wall_time_is_closed_not_resumed(tmp_path: Path) -> None:
    db_path = str(tmp_path / "stale.db")
    with Store.open(db_path) as db:
        run_id = db.start_run("catalog.toml")
        started = datetime.fromisoformat(db.runs()["started_at"].iloc[0])
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    state = json.dumps({"run_id": run_id, "clean_stop": True})
    (jobs / "run.json").write_text(state, encoding="utf-8")

    soon = resumable_run(db_path, jobs, max_age=3600, now=started + timedelta(seconds=600))
    assert soon == (run_id, 600.0)  # within the budget: resumed, with 50 minutes left

    late = resumable_run(db_path, jobs, max_age=3600, now=started + timedelta(hours=2))
    assert late is None
    assert not jobs.exists()
    with Store.open(db_path) as db:
        run = db.runs().iloc[0]
    assert run["status"] == "warnings"
    assert run["stats"]["backrank/budget/max_run_minutes"] == 1


def test_budgets_come_from_the_crawl_table_and_each_store(tmp_path: Path) -> None:
    catalog = load_catalog_text(
        tmp_path,
        f"{SITE_TOML}[crawl]\nmax_pages_per_store = 100\nmax_run_minutes = 0.5\n"
        '[[stores]]\nname = "a"\nmax_pages = 7\nmax_sitemap_depth = 2\n'
        'product_urls = ["http://127.0.0.1:8101/p"]\n',
    )
    assert catalog.crawl.max_pages_per_store == 100
    assert catalog.crawl.max_listing_pages == 500  # the default
    assert catalog.crawl.max_run_minutes == 0.5
    assert (catalog.stores[0].max_pages, catalog.stores[0].max_listing_pages) == (7, None)
    with pytest.raises(
        CatalogError, match=r"catalog.toml:\d+: stores\[0\].max_pages: must be more than 0"
    ):
        load_catalog_text(
            tmp_path,
            f'{SITE_TOML}[[stores]]\nmax_pages = 0\nproduct_urls = ["http://127.0.0.1:8101/p"]\n',
        )


@pytest.fixture(scope="module")
def hostile_pages(
    hostile: HostileStore, neighbour: HostileStore, tmp_path_factory: pytest.TempPathFactory
) -> Crawl:
    """One crawl of every hostile page, and of two stores on one host."""
    url = hostile.url
    return crawl(
        tmp_path_factory.mktemp("hostile"),
        hostile,
        f"""
[[stores]]
name = "deep-json"
product_urls = ["{url}/product/deep?deep=1000"]

[[stores]]
name = "bulky"
product_urls = ["{url}/streamed?bytes={BIG}", "{url}/gzipped?bytes={BIG}", "{url}/product/fine"]
sitemap_urls = ["{url}/bomb.xml.gz?bytes={BIG}"]

[[stores]]
name = "wordy"
product_urls = ["{url}/product/wordy?title_bytes=2000000"]

[[stores]]
name = "attacker"
sitemap_urls = ["{url}/links.xml?to={neighbour.url}/admin/secret"]
product_urls = ["{url}/product/attacker"]

[[stores]]
name = "neighbour"
product_urls = ["{neighbour.url}/product/neighbour"]
""",
    )


def _stored(crawl: Crawl, store: str) -> list[dict]:
    with Store.open(crawl.db) as db:
        offers = db.read_offers(latest=True)
    return offers[offers["store"] == store].to_dict("records")


def test_a_json_ld_block_nested_1000_deep_costs_only_itself(hostile_pages: Crawl) -> None:
    [listing] = _stored(hostile_pages, "deep-json")
    assert listing["title"] == "Hostile back stretcher deep"
    assert str(listing["price"]) == "19.99"  # from the page's other JSON-LD block
    assert hostile_pages.stat("backrank/store/deep-json/skipped/json_ld_too_deep") == 1
    assert not hostile_pages.stat("spider_exceptions/RecursionError")


def test_oversized_bodies_without_content_length_are_counted_too_big(
    hostile_pages: Crawl,
) -> None:
    # chunked/close-delimited, gzip Content-Encoding, and a gzip-bomb sitemap file
    assert hostile_pages.stat("backrank/store/bulky/errors/too_big") == 3
    for kind in ("downloadcancellederror", "ignored"):
        assert not hostile_pages.stat(f"backrank/errors/{kind}")
    assert not hostile_pages.stat("spider_exceptions/count")
    assert hostile_pages.report["too_big"] == 3
    assert [row["title"] for row in _stored(hostile_pages, "bulky")] == [
        "Hostile back stretcher fine"
    ]


def test_a_2_mb_title_is_cut_to_its_cap_and_counted(hostile_pages: Crawl) -> None:
    [listing] = _stored(hostile_pages, "wordy")
    assert listing["title"].startswith("Back stretcher AAAA")
    assert len(listing["title"]) == 1_000
    assert listing["title"].endswith("\u2026")
    assert hostile_pages.stat("backrank/store/wordy/truncated_text/title") == 1
    wordy = next(s for s in hostile_pages.report["stores"] if s["store"] == "wordy")
    assert wordy["truncated_text"] == {"title": 1}
    assert any("wordy: over-long text cut" in line for line in hostile_pages.report["warnings"])


def test_a_store_cannot_send_the_crawler_to_a_port_another_store_names(
    hostile_pages: Crawl, neighbour: HostileStore
) -> None:
    assert "/admin/secret" not in neighbour.requested
    assert "/product/neighbour" in neighbour.requested  # the neighbour itself is crawled
    assert hostile_pages.stat("backrank/store/attacker/skipped/offsite") == 1
    assert [row["title"] for row in _stored(hostile_pages, "attacker")] == [
        "Hostile back stretcher attacker"
    ]


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://shop.example/products/a", True),
        ("http://shop.example:80/sitemap.xml", True),  # the same origin, its port spelled out
        ("https://shop.example/products/a", True),  # the https upgrade of the store's http
        ("http://shop.example:8080/admin", False),  # another port of the same host
        ("https://shop.example:8443/", False),
        ("http://cdn.shop.example/products/a", False),  # another host, even a subdomain
        ("ftp://shop.example/products/a", False),
        ("http://shop.example:99999/", False),  # no port at all
    ],
)
def test_a_store_origin_is_its_scheme_host_and_port(url: str, allowed: bool) -> None:
    store = StoreConfig(name="shop", sitemap_urls=("http://shop.example/sitemap.xml",))
    assert (origin_of(url) in store_origins(store)) is allowed
