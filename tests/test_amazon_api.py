"""Amazon through the Creators API, over real HTTP against the demo marketplace's API service.

The real client library (``python-amazon-paapi``'s ``amazon_creatorsapi``) talks to the demo
service: batching, token refresh after expiry, 429 backoff, refusals (401, 403, a spent quota)
reported as the refresh report's statuses, link-only offers without credentials, no Amazon
page ever requested, and the credential secret in no log, report, page or database.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest

from backrank.app.cli import main
from backrank.core.config import load_catalog
from backrank.core.store import Store
from backrank.marketplace import Marketplace
from backrank.marketplace.creators_api import (
    DEMO_CREDENTIAL_ID,
    DEMO_CREDENTIAL_SECRET,
    DEMO_CREDENTIAL_VERSION,
    INELIGIBLE_CREDENTIAL_ID,
    INELIGIBLE_CREDENTIAL_SECRET,
    MAX_ITEMS,
)
from spiders.crawl import CrawlResult, run_crawl, run_crawl_subprocess
from spiders.middlewares import AmazonPagesMiddleware
from spiders.refresh_report import read_report
from spiders.sources.amazon_credentials import (
    ENV_ID,
    ENV_SECRET,
    ENV_VARIABLES,
    ENV_VERSION,
    Credentials,
    find_credentials,
)

SCALE = 40  # 40 product models: more Amazon listings than one GetItems call takes
STORE = "demo-amazon"


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def market() -> Iterator[Marketplace]:
    with Marketplace(seed=7, scale=SCALE, api_interval=0.2).start() as running:
        yield running


def amazon_catalog(marketplace: Marketplace, folder: Path, *, interval: float = 0.25) -> Path:
    """The demo catalog with the client kept to `interval` seconds between calls."""
    text = re.sub(
        r"^api_interval = .*$",
        f"api_interval = {interval}",
        marketplace.demo_catalog_text(db=str(folder / "backrank.db")),
        count=1,
        flags=re.MULTILINE,
    )
    path = folder / "catalog.toml"
    path.write_text(text, encoding="utf-8")
    return path


def crawl_amazon(catalog: Path) -> CrawlResult:
    """A crawl of the Amazon store alone: an API store, so no Scrapy and no reactor."""
    return run_crawl(load_catalog(catalog), str(catalog.parent / "backrank.db"), store=STORE)


def amazon_offers(folder: Path):
    with Store.open(folder / "backrank.db") as db:
        offers = db.read_offers(latest=True)
    return offers[offers["store"] == STORE].set_index("asin")


def amazon_truth(marketplace: Marketplace) -> list[dict]:
    return [row for row in marketplace.truth()["listings"] if row["store"] == "amazon"]


def store_report(folder: Path, result: CrawlResult) -> dict:
    report = read_report(folder / "backrank.db", result.run_id)
    assert report is not None
    return next(store for store in report["stores"] if store["store"] == STORE) | {
        "warnings": report["warnings"]
    }


def test_every_asin_is_read_through_the_api_in_batches_of_ten(
    market: Marketplace, tmp_path: Path, demo_api_credentials: None
) -> None:
    truth = amazon_truth(market)
    assert len(truth) > 2 * MAX_ITEMS
    result = crawl_amazon(amazon_catalog(market, tmp_path))
    assert (result.status, result.listings, result.errors) == ("ok", len(truth), 0)
    calls = [call for call in market.api.calls if call[1] == 200]
    assert [asked for _, _, asked in calls] == [MAX_ITEMS] * (len(truth) // MAX_ITEMS) + (
        [len(truth) % MAX_ITEMS] if len(truth) % MAX_ITEMS else []
    )
    assert len(calls) == math.ceil(len(truth) / MAX_ITEMS) == len(market.api.calls)
    offers = amazon_offers(tmp_path)
    assert len(offers) == len(truth)
    now = datetime.now(UTC)
    for row in truth:
        offer = offers.loc[row["asin"]]
        assert offer["title"] == row["title"]
        expected_price = None if row["price"] is None else Decimal(row["price"])
        assert offer["price"] == expected_price, row["asin"]
        assert offer["availability"] == row["availability"], row["asin"]
        assert offer["mpn"] == row["mpn"]
        assert offer["url"].startswith(row["detail_page_url"])  # the API's detail page URL
        assert offer["image_url"].startswith(market.store_urls["amazon"] + "/images/")
        assert offer["source"] == "api"
        assert now - datetime.fromisoformat(offer["fetched_at"]) < timedelta(minutes=5)
        assert pd.isna(offer["rating"]) and pd.isna(offer["review_count"])  # no Amazon stars
    # Amazon's pages were never asked for: only the API was
    assert {store for store, _ in market.requested_paths} == {"creators_api"}
    report = store_report(tmp_path, result)
    assert (report["status"], report["path"]) == ("ok", "creators-api")
    assert report["api"] == {"api/calls": len(calls), "api/items": len(truth)}


def test_an_expired_token_is_refreshed_and_the_run_goes_on(
    tmp_path: Path, demo_api_credentials: None
) -> None:
    # Tokens that stop working after 0.4 s while advertising an hour: the client gets a 401
    # TokenExpired mid-run, fetches a new token and asks again.
    with Marketplace(seed=7, scale=SCALE, api_interval=0.2, token_lifetime=0.4).start() as market:
        result = crawl_amazon(amazon_catalog(market, tmp_path, interval=0.5))
        statuses = [status for _, status, _ in market.api.calls]
        tokens = market.api.tokens_issued
    assert 401 in statuses and tokens >= 2
    assert (result.status, result.errors) == ("ok", 0)
    assert (amazon_offers(tmp_path)["source"] == "api").all()


def test_a_429_is_waited_out_and_every_item_still_comes(
    tmp_path: Path, demo_api_credentials: None
) -> None:
    # The service allows a call every 1.2 s; the client is set to call without waiting.
    with Marketplace(seed=7, scale=SCALE, api_interval=1.2).start() as market:
        result = crawl_amazon(amazon_catalog(market, tmp_path, interval=0))
        statuses = [status for _, status, _ in market.api.calls]
        truth = amazon_truth(market)
    assert 429 in statuses
    assert statuses.count(200) == math.ceil(len(truth) / MAX_ITEMS)
    assert (result.status, result.errors) == ("ok", 0)
    offers = amazon_offers(tmp_path)
    assert (offers["source"] == "api").all() and len(offers) == len(truth)


def test_a_spent_quota_ends_the_api_path_with_links_and_a_warning(
    market: Marketplace, tmp_path: Path, demo_api_credentials: None
) -> None:
    market.api.daily_quota = 1  # one call answered, then 429 whatever the client waits
    result = crawl_amazon(amazon_catalog(market, tmp_path))
    truth = amazon_truth(market)
    offers = amazon_offers(tmp_path)
    assert len(offers) == len(truth)
    assert offers["source"].value_counts().to_dict() == {
        "link_only": len(truth) - MAX_ITEMS,
        "api": MAX_ITEMS,
    }
    assert offers.loc[offers["source"] == "link_only", "price"].isna().all()
    assert result.status == "warnings" and result.stats["backrank/errors/api_throttled"] == 1
    report = store_report(tmp_path, result)
    assert report["status"] == "failed"
    assert any("429" in warning and STORE in warning for warning in report["warnings"])


@pytest.mark.parametrize(
    ("credential_id", "secret", "expected"),
    [
        (DEMO_CREDENTIAL_ID, "not-the-secret-8c1d", "refused the credentials (HTTP 401)"),
        (INELIGIBLE_CREDENTIAL_ID, INELIGIBLE_CREDENTIAL_SECRET, "10 qualifying sales"),
    ],
    ids=["401", "403"],
)
def test_a_refused_credential_is_reported_and_offers_become_links(
    market: Marketplace,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    credential_id: str,
    secret: str,
    expected: str,
) -> None:
    monkeypatch.setenv(ENV_ID, credential_id)
    monkeypatch.setenv(ENV_SECRET, secret)
    monkeypatch.setenv(ENV_VERSION, DEMO_CREDENTIAL_VERSION)
    result = crawl_amazon(amazon_catalog(market, tmp_path))  # no exception: a status
    assert result.status == "warnings"
    offers = amazon_offers(tmp_path)
    assert (offers["source"] == "link_only").all() and offers["price"].isna().all()
    assert offers["image_url"].isna().all()
    report = store_report(tmp_path, result)
    assert (report["status"], report["path"]) == ("failed", "link-only")
    assert any(expected in warning for warning in report["warnings"]), report["warnings"]
    report_text = (tmp_path / "backrank.db.reports" / f"run-{result.run_id}.html").read_text()
    assert expected.split(" (")[0] in report_text
    assert secret not in json.dumps(report) + report_text + json.dumps(result.stats)


def test_without_credentials_amazon_offers_are_links_and_the_report_says_why(
    market: Marketplace, tmp_path: Path, no_credentials: None
) -> None:
    result = crawl_amazon(amazon_catalog(market, tmp_path))
    truth = amazon_truth(market)
    assert (result.status, result.listings) == ("ok", len(truth))
    assert market.requested_paths == []  # neither the API nor an Amazon page
    offers = amazon_offers(tmp_path)
    for row in truth:  # the catalog's title, a link to Amazon, nothing else
        offer = offers.loc[row["asin"]]
        assert offer["title"] == row["title"]
        assert offer["url"] == f"https://www.amazon.com/dp/{row['asin']}"
        assert offer["price"] is None and offer["image_url"] is None
        assert offer["source"] == "link_only"
    report = store_report(tmp_path, result)
    assert (report["status"], report["path"]) == ("ok", "link-only")
    assert any(f"{ENV_ID}" in warning for warning in report["warnings"])


def test_credentials_file_is_read_when_the_environment_has_none(
    tmp_path: Path, no_credentials: None
) -> None:
    path = tmp_path / "amazon.toml"
    path.write_text(
        f'credential_id = "{DEMO_CREDENTIAL_ID}"\ncredential_secret = "{DEMO_CREDENTIAL_SECRET}"\n'
        f'version = "{DEMO_CREDENTIAL_VERSION}"\n',
        encoding="utf-8",
    )
    found = find_credentials(path).credentials
    assert found is not None and found.credential_secret == DEMO_CREDENTIAL_SECRET
    assert DEMO_CREDENTIAL_SECRET not in repr(found)
    broken = tmp_path / "broken.toml"
    broken.write_text(f'credential_secret = "{DEMO_CREDENTIAL_SECRET}\n', encoding="utf-8")
    lookup = find_credentials(broken)
    assert lookup.credentials is None and DEMO_CREDENTIAL_SECRET not in (lookup.reason or "")
    partial = find_credentials(None, {ENV_ID: "x"})
    assert partial.credentials is None and ENV_SECRET in (partial.reason or "")
    assert isinstance(found, Credentials)


def test_an_amazon_url_in_the_catalog_is_read_as_its_asin_never_fetched(
    market: Marketplace, tmp_path: Path, demo_api_credentials: None
) -> None:
    (row, *_) = amazon_truth(market)
    text = amazon_catalog(market, tmp_path).read_text(encoding="utf-8")
    start = text.index("asins = {")
    end = text.index("\n", start)
    # the store's page URL (with its slug) instead of the ASIN list
    text = text[:start] + f'product_urls = ["{row["url"]}"]' + text[end:]
    (tmp_path / "catalog.toml").write_text(text, encoding="utf-8")
    result = crawl_amazon(tmp_path / "catalog.toml")
    assert (result.status, result.listings) == ("ok", 1)
    assert amazon_offers(tmp_path).loc[row["asin"], "source"] == "api"
    assert not [path for store, path in market.requested_paths if store == "amazon"]


class _Spider:
    stores: dict = {}


class _Crawler:
    spider = _Spider()


@pytest.mark.parametrize(
    "url", ["https://www.amazon.com/dp/B07YFVP6LZ", "https://amzn.to/3abc", "https://a.co/d/x"]
)
def test_a_link_to_amazon_from_another_store_is_never_followed(url: str) -> None:
    middleware = AmazonPagesMiddleware(_Crawler())
    with pytest.raises(IgnoreRequest, match="amazon page not fetched"):
        middleware.process_request(Request(url, cb_kwargs={"store": "demo-shopify"}))
    assert middleware.process_request(Request("https://shop.example/p/1")) is None


def test_secret_is_in_no_log_report_page_or_database(market: Marketplace, tmp_path: Path) -> None:
    """A whole refresh (every store, score, build) with the demo credentials, all output kept."""
    catalog = amazon_catalog(market, tmp_path)
    environment = os.environ | {
        ENV_ID: DEMO_CREDENTIAL_ID,
        ENV_SECRET: DEMO_CREDENTIAL_SECRET,
        ENV_VERSION: DEMO_CREDENTIAL_VERSION,
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
    }
    completed = subprocess.run(
        [sys.executable, "-m", "backrank.app.cli", "refresh", "--catalog", str(catalog),
         "--out", str(tmp_path / "site")],
        capture_output=True, text=True, env=environment, timeout=300, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert (tmp_path / "site" / "index.html").exists()
    # the API's detail page links are the Amazon store's own: none left off the site
    assert "links to other hosts dropped" not in completed.stdout
    with Store.open(tmp_path / "backrank.db") as db:
        assert (db.read_offers().query("store == @STORE")["source"] == "api").all()
    leaks = [
        str(path)
        for path in tmp_path.rglob("*")
        if path.is_file() and DEMO_CREDENTIAL_SECRET.encode() in path.read_bytes()
    ]
    assert not leaks
    assert DEMO_CREDENTIAL_SECRET not in completed.stdout + completed.stderr
    assert {store for store, _ in market.requested_paths} == {
        "creators_api", "shopify", "woocommerce", "walmart",
    }  # fmt: skip


def test_opting_into_amazon_scraping_says_it_breaks_amazons_conditions(
    tmp_path: Path, no_credentials: None
) -> None:
    """The HTML path is kept for people outside the Associates program: off by default, and a
    run that uses it says so in its report."""
    with Marketplace(seed=7, scale=5).start() as market:
        base = market.store_urls["amazon"]
        text = market.demo_catalog_text(db=str(tmp_path / "backrank.db"))
        start = text.index("asins = {")
        end = text.index("\n", start)
        text = (
            text[:start]
            + f'sitemap_urls = ["{base}/sitemap.xml"]\nallow_amazon_scraping = true'
            + text[end:]
        )
        (tmp_path / "catalog.toml").write_text(text, encoding="utf-8")
        result = run_crawl_subprocess(
            tmp_path / "catalog.toml", tmp_path / "backrank.db", store=STORE, quiet=True
        )
        pages = [path for store, path in market.requested_paths if store == "amazon"]
        truth = amazon_truth(market)
    assert pages and result.listings == len(truth)
    report = store_report(tmp_path, result)
    assert report["path"] == "amazon-html"
    assert any("breaks Amazon's conditions of use" in w for w in report["warnings"])
    assert (amazon_offers(tmp_path)["source"] == "crawl").all()


def test_demo_link_only_shows_amazon_as_links_without_prices(
    tmp_path: Path, demo_api_credentials: None
) -> None:
    """`backrank demo --amazon link-only`: the site an owner without API access gets, even when
    credentials are set (the demo drops them for the run, and puts them back after)."""
    site, db = tmp_path / "site", tmp_path / "demo.db"
    code = main(
        ["demo", "--no-serve", "--quiet", "--amazon", "link-only", "--out", str(site),
         "--db", str(db)]
    )  # fmt: skip
    assert code == 0
    assert os.environ[ENV_SECRET] == DEMO_CREDENTIAL_SECRET  # restored
    with Store.open(db) as store:
        run_id = int(store.runs()["run_id"].iloc[-1])
        offers = store.read_offers()
    amazon = offers[offers["store"] == STORE]
    assert len(amazon) and (amazon["source"] == "link_only").all()
    report = read_report(db, run_id)
    assert report is not None and any("link-only" in w for w in report["warnings"])
    products = json.loads((site / "api" / "products.json").read_text(encoding="utf-8"))
    amazon_offers_shown = [
        offer
        for product in products["products"]
        for offer in product["offers"]
        if offer["store"] == STORE
    ]
    assert amazon_offers_shown, "link-only Amazon offers are still linked"
    assert all(offer["price"] is None for offer in amazon_offers_shown)
    assert all(
        offer["url"].startswith("https://www.amazon.com/dp/") for offer in amazon_offers_shown
    )
