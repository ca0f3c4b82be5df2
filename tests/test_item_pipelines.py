"""Item pipelines run by a real Scrapy crawler: drops are counted, values typed, rows stored."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import scrapy
from helpers import SITE_TOML, load_catalog_text
from scrapy.utils.reactor import is_reactor_installed
from scrapy.utils.test import get_crawler
from sqlalchemy import text

from backrank.core.config import Catalog
from backrank.core.store import Store
from spiders.items import Listing, Review

PIPELINES = {
    "spiders.pipelines.ValidatePipeline": 100,
    "spiders.pipelines.NormalisePipeline": 200,
    "spiders.pipelines.StorePipeline": 300,
}
STORE = "maple-backcare"
PRODUCT = "https://maple.example/products/neck-traction"

CATALOG = (
    SITE_TOML
    + """
[[stores]]
name = "maple-backcare"
platform = "shopify"
product_urls = ["https://maple.example/products/neck-traction"]
currency = "CAD"
"""
)


class ItemsSpider(scrapy.Spider):
    """Yields the items it is given, as a catalog spider would after parsing pages."""

    name = "items"

    async def start(self):
        for item in self.items:
            yield item


class BlockedPageSpider(ItemsSpider):
    """Yields its items after a robot-check page, counted as the catalog spider counts one."""

    name = "blocked-items"

    async def start(self):
        self.crawler.stats.inc_value("backrank/blocked")
        async for item in super().start():
            yield item


def crawl(
    items: list[Any],
    db: Path,
    catalog: Catalog | None = None,
    spider: type[scrapy.Spider] = ItemsSpider,
    **settings: Any,
) -> dict:
    """Run one crawl through the project pipelines; return the crawl stats."""
    if is_reactor_installed():
        pytest.skip("a Twisted reactor was installed in this process; run this module alone")
    crawler = get_crawler(
        spider,
        {"ITEM_PIPELINES": PIPELINES, "BACKRANK_DB": str(db), "LOG_LEVEL": "ERROR", **settings},
    )
    spider_kwargs: dict[str, Any] = {"items": items}
    if catalog is not None:
        spider_kwargs["catalog"] = catalog
    asyncio.run(crawler.crawl_async(**spider_kwargs))
    assert crawler.stats is not None
    return crawler.stats.get_stats()


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    return load_catalog_text(tmp_path, CATALOG)


def good_listing(**fields: Any) -> Listing:
    values: dict[str, Any] = {
        "store": STORE,
        "url": PRODUCT,
        "title": "Neck Traction Device",
        "brand": "Maple",
        "price": "$49.00",
        "availability": "https://schema.org/InStock",
        "rating": "4.5 out of 5 stars",
        "review_count": "(36 reviews)",
        "image_url": "https://maple.example/img/neck.jpg",
    }
    return Listing(**(values | fields))


def good_review(**fields: Any) -> Review:
    values: dict[str, Any] = {
        "store": STORE,
        "url": PRODUCT,
        "review_id": "r-1",
        "author": "Sam",
        "rating": "5",
        "title": "Works",
        "body": "My neck pain eased within a week.",
        "date": "2024-07-01",
        "verified": True,
    }
    return Review(**(values | fields))


def test_valid_items_are_typed_and_stored(tmp_path: Path, catalog: Catalog) -> None:
    db = tmp_path / "backrank.db"
    stats = crawl([good_review(), good_listing()], db, catalog)

    assert stats["backrank/stored/listings"] == 1
    assert stats["backrank/stored/reviews"] == 1
    assert stats["item_scraped_count"] == 2
    with Store.open(db) as store:
        offer = store.read_offers().iloc[0]
        assert offer["price"] == Decimal("49.00")
        assert offer["currency"] == "CAD"  # "$" read with the store's currency hint
        assert offer["availability"] == "in_stock"
        assert offer["rating"] == 4.5
        assert offer["review_count"] == 36
        review = store.read_reviews().iloc[0]
        # The review came before its listing and still points at it.
        assert review["listing_id"] == offer["listing_id"]
        assert review["rating"] == 5.0
        runs = store.runs()
        assert list(runs["status"]) == ["ok"]  # the pipeline's own run, closed with stats
        assert runs.iloc[0]["stats"]["backrank/stored/listings"] == 1
        assert runs.iloc[0]["catalog_path"] == str(catalog.path)
        with store.engine.connect() as conn:
            rows = conn.execute(text("SELECT name, platform, base_url FROM stores"))
            saved_stores = [dict(row._mapping) for row in rows]
        assert saved_stores == [
            {"name": STORE, "platform": "shopify", "base_url": "https://maple.example"}
        ]


def test_a_run_the_pipeline_closes_follows_the_crawl_status_rule(
    tmp_path: Path, catalog: Catalog
) -> None:
    # Regression: a run opened and closed by the store pipeline (`scrapy crawl` without
    # BACKRANK_RUN_ID) had its own status rule, which ignored robot-check pages: closed "ok"
    # where `backrank crawl` says "warnings".
    db = tmp_path / "backrank.db"
    crawl([good_listing()], db, catalog, spider=BlockedPageSpider)
    with Store.open(db) as store:
        assert list(store.runs()["status"]) == ["warnings"]


def test_drops_are_counted_by_reason(tmp_path: Path, catalog: Catalog) -> None:
    db = tmp_path / "backrank.db"
    items = [
        good_listing(title=None),
        good_listing(title="  \x00 "),
        good_listing(url="javascript:alert(1)"),
        good_listing(url="ftp://maple.example/p"),
        good_review(rating=None, title=None, body=None),
        good_review(review_id="r-2", rating="7"),
        good_review(review_id="r-3", rating="-1", title="Bad"),
        good_review(review_id="r-4", rating=None, title=None, body="\x07 "),
        good_listing(),
        good_review(review_id="r-5", rating=None, title=None, body="Only words, no stars."),
    ]
    stats = crawl(items, db, catalog)

    assert stats["backrank/dropped/no_title"] == 2
    assert stats["backrank/dropped/bad_url"] == 2
    assert stats["backrank/dropped/empty_review"] == 2
    assert stats["backrank/dropped/bad_rating"] == 2
    assert stats["item_dropped_count"] == 8
    assert stats["backrank/stored/listings"] == 1
    assert stats["backrank/stored/reviews"] == 1
    with Store.open(db) as store:
        assert len(store.read_offers()) == 1
        (review_id,) = store.read_reviews()["review_id"]
        assert review_id == "r-5"


def test_bad_links_are_cleared_and_control_characters_stripped(
    tmp_path: Path, catalog: Catalog
) -> None:
    db = tmp_path / "backrank.db"
    listing = good_listing(
        title="Neck\x00 Traction\x1b Device",
        image_url="javascript:alert(document.cookie)",
        canonical_url="data:text/html,hi",
    )
    stats = crawl([listing], db, catalog)

    assert stats["backrank/cleared/image_url"] == 1
    assert stats["backrank/cleared/canonical_url"] == 1
    assert "backrank/dropped/bad_url" not in stats  # kept, only the bad links went
    with Store.open(db) as store:
        offer = store.read_offers().iloc[0]
        assert offer["title"] == "Neck Traction Device"
        assert offer["image_url"] is None
        assert offer["canonical_url"] is None


def test_every_store_string_is_cut_to_its_cap_and_counted(tmp_path: Path, catalog: Catalog) -> None:
    """A hostile store's megabyte of text in every field (issue 15: a 5 MB title made a 50 MB
    product page): stored within TEXT_CAPS, ending in an ellipsis, counted per field."""
    from spiders.normalise import LINK_CAP, TEXT_CAPS

    db = tmp_path / "backrank.db"
    huge = "word " * 200_000  # a megabyte
    listing = good_listing(
        title="Neck traction " + huge,
        brand=huge,
        sku=huge,
        mpn=huge,
        category=huge,
        description=huge,
        price="$49.00" + huge,
        image_url="https://maple.example/" + "a" * LINK_CAP,
    )
    review = good_review(author=huge, title=huge, body=huge, date="2024-07-01" + huge)
    stats = crawl([listing, review], db, catalog)

    listing_fields = ("title", "brand", "sku", "mpn", "category", "description")
    for name in (*listing_fields[1:], "author", "body", "price", "date"):
        assert stats[f"backrank/truncated_text/{name}"] == 1, name
        assert stats[f"backrank/store/{STORE}/truncated_text/{name}"] == 1, name
    assert stats["backrank/truncated_text/title"] == 1 + 1  # the listing's and the review's
    assert stats["backrank/cleared/image_url"] == 1
    with Store.open(db) as store:
        offer = store.read_listings().iloc[0]
        price = store.read_offers().iloc[0]["price"]
        stored_review = store.read_reviews().iloc[0]
    for name in listing_fields:
        assert len(offer[name]) <= TEXT_CAPS[name], name
        assert offer[name].endswith("\u2026"), name
    assert offer["title"].startswith("Neck traction word word")
    assert offer["image_url"] is None
    assert price == Decimal("49.00")
    for name in ("author", "title", "body"):
        assert len(stored_review[name]) <= TEXT_CAPS[name], name
    assert stored_review["date"] is None  # a megabyte is no date


def test_given_run_is_used_and_left_open_for_the_caller(tmp_path: Path) -> None:
    db = tmp_path / "backrank.db"
    with Store.open(db) as store:
        run_id = store.start_run("catalog.toml")
    items = [good_listing(url=f"https://maple.example/products/p{n}") for n in range(5)]
    stats = crawl(items, db, BACKRANK_RUN_ID=run_id, BACKRANK_STORE_BATCH=2)

    assert stats["backrank/stored/listings"] == 5  # batches of 2, 2 and the final 1
    assert stats["backrank/run_id"] == run_id
    with Store.open(db) as store:
        offers = store.read_offers()
        assert len(offers) == 5
        assert set(offers["run_id"]) == {run_id}
        assert offers["currency"].tolist() == ["USD"] * 5  # no catalog: "$" is USD
        assert list(store.runs()["status"]) == ["running"]  # the caller finishes its run


def test_second_crawl_adds_a_snapshot_not_a_listing(tmp_path: Path, catalog: Catalog) -> None:
    db = tmp_path / "backrank.db"
    crawl([good_listing(), good_review()], db, catalog)
    crawl([good_listing(price="$44.50"), good_review()], db, catalog)
    with Store.open(db) as store:
        assert len(store.read_listings()) == 1
        assert len(store.read_reviews()) == 1
        history = store.read_offers(latest=False)
        assert history["price"].tolist() == [Decimal("49.00"), Decimal("44.50")]
        assert list(store.runs()["status"]) == ["ok", "ok"]
