"""Crawls of the demo marketplace through the stores' own APIs: the WooCommerce Store API (and
the fallback to the pages when a store switched it off) and the Shopify review apps' endpoints.
Every listing and every review of the ground truth is stored, and the refresh report says
which path each store took."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from backrank.core.store import Store
from backrank.marketplace import Marketplace
from spiders.crawl import CrawlResult, run_crawl_subprocess
from spiders.refresh_report import build_report, table_rows

SCALE = 8
WOO = "demo-woocommerce"
SHOPIFY = "demo-shopify"


@dataclass
class Crawl:
    truth: dict
    result: CrawlResult
    requests: list[tuple[str, str]]
    offers: pd.DataFrame
    reviews: pd.DataFrame
    report: dict


def crawl(tmp: Path, *, store_api: bool) -> Crawl:
    with Marketplace(seed=11, scale=SCALE, woo_store_api=store_api) as marketplace:
        db_path = tmp / "backrank.db"
        catalog = tmp / "catalog.toml"
        catalog.write_text(marketplace.demo_catalog_text(db=str(db_path)), encoding="utf-8")
        result = run_crawl_subprocess(catalog, db_path, quiet=True, timeout=120)
        with Store.open(db_path) as store:
            return Crawl(
                truth=marketplace.truth(),
                result=result,
                requests=marketplace.requested_paths,
                offers=store.read_offers(latest=True),
                reviews=store.read_reviews(),
                report=build_report(store, result.run_id),
            )


@pytest.fixture(scope="module")
def with_api(tmp_path_factory) -> Crawl:
    return crawl(tmp_path_factory.mktemp("store-api"), store_api=True)


@pytest.fixture(scope="module")
def without_api(tmp_path_factory) -> Crawl:
    return crawl(tmp_path_factory.mktemp("no-store-api"), store_api=False)


def store_report(crawled: Crawl, name: str) -> dict:
    return next(row for row in crawled.report["stores"] if row["store"] == name)


def assert_every_listing_and_review(crawled: Crawl, key: str, name: str) -> None:
    rows = [row for row in crawled.truth["listings"] if row["store"] == key]
    offers = crawled.offers[crawled.offers["store"] == name].set_index("url")
    assert sorted(offers.index) == sorted(row["url"] for row in rows)
    reviews = crawled.reviews[crawled.reviews["store"] == name]
    per_listing = reviews.groupby("url").size()
    for row in rows:
        offer = offers.loc[row["url"]]
        price = None if pd.isna(offer["price"]) else Decimal(str(offer["price"]))
        assert price == (None if row["price"] is None else Decimal(row["price"])), row["url"]
        assert offer["availability"] == row["availability"], row["url"]
        assert per_listing.get(row["url"], 0) == row["review_count"], row["url"]
    assert len(reviews) == sum(row["review_count"] for row in rows) > 0


def test_the_store_api_gives_every_woocommerce_listing_and_review(with_api: Crawl) -> None:
    assert_every_listing_and_review(with_api, "woocommerce", WOO)
    asked = [path for key, path in with_api.requests if key == "woocommerce"]
    assert any(path.startswith("/wp-json/wc/store/v1/products/reviews?") for path in asked)
    assert not [path for path in asked if path.startswith("/product/")]  # no product page
    assert not [path for path in asked if "sitemap" in path]
    rows = {row["url"]: row for row in with_api.truth["listings"] if row["store"] == "woocommerce"}
    offers = with_api.offers[with_api.offers["store"] == WOO]
    for offer in offers.to_dict("records"):  # what only the API says as it is
        assert offer["sku"] == rows[offer["url"]]["store_api_sku"]
        assert offer["gtin"] == rows[offer["url"]]["gtin"]
    report = store_report(with_api, WOO)
    assert report["path"] == "store-api"
    assert with_api.result.status == "ok"


def test_a_store_api_switched_off_falls_back_to_the_pages(without_api: Crawl) -> None:
    assert without_api.truth["woocommerce_path"] == "html"
    assert_every_listing_and_review(without_api, "woocommerce", WOO)
    asked = [path for key, path in without_api.requests if key == "woocommerce"]
    assert [path for path in asked if path.startswith("/wp-json/")] == [
        "/wp-json/wc/store/v1/products?page=1&per_page=100"
    ]  # asked once, refused (401), never again
    assert any(path.startswith("/product/") for path in asked)
    report = store_report(without_api, WOO)
    assert report["path"] == "pages (API refused: http_401)"
    assert (
        f"{WOO}: read from its pages, its API refused: http_401" in without_api.report["warnings"]
    )
    assert report["errors"] == {}  # a refused API is a path taken, not an error
    row = next(row for row in table_rows(without_api.report) if row["cells"][0] == WOO)
    assert row["cells"][2] == "pages (API refused: http_401)"


@pytest.mark.parametrize("app", ["judgeme", "yotpo"])
def test_each_shopify_review_app_is_read_completely(with_api: Crawl, app: str) -> None:
    rows = [
        row
        for row in with_api.truth["listings"]
        if row["store"] == "shopify" and row["review_app"] == app
    ]
    assert rows
    reviews = with_api.reviews[with_api.reviews["store"] == SHOPIFY].groupby("url").size()
    for row in rows:
        assert reviews.get(row["url"], 0) == row["review_count"], row["url"]
    asked = [path for key, path in with_api.requests if key == "shopify"]
    endpoint = {"judgeme": "/api/v1/widgets/product_review?", "yotpo": "/v1/widget/"}[app]
    assert any(path.startswith(endpoint) for path in asked)
    assert not any(path.startswith("/apps/judgeme/") for path in asked)  # no HTML widget pages
    assert_every_listing_and_review(with_api, "shopify", SHOPIFY)
