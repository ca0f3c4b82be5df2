"""The crawl: discovery helpers, settings, and real crawls of the demo marketplace over HTTP."""

from __future__ import annotations

import gzip
import subprocess
import sys
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import pytest
from helpers import SITE_TOML, load_catalog_text
from protego import Protego

from backrank.app.demo import amazon_credentials_env
from backrank.core.config import Catalog, load_catalog
from backrank.core.store import Store
from backrank.marketplace import Marketplace, amazon, shopify, walmart, woocommerce
from spiders import discovery
from spiders.crawl import CrawlResult, run_crawl_subprocess, summarise
from spiders.progress import crawl_counts, progress_line
from spiders.settings import settings_for
from spiders.sources import shopify as shopify_source

REPO = Path(__file__).resolve().parent.parent


# -- discovery: pure functions ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "platform", "expected"),
    [
        ("https://www.amazon.com/Teeter-Inversion-Table/dp/B07YFVP6LZ/ref=sr_1_3", "amazon", True),
        ("https://www.amazon.com/dp/B07YFVP6LZ", "amazon", True),
        ("https://www.amazon.com/s?k=inversion+table", "amazon", False),
        ("https://shop.example/products/back-stretcher", "shopify", True),
        ("https://shop.example/collections/back/products/back-stretcher", "shopify", True),
        ("https://shop.example/products.json?page=2", "shopify", False),
        ("https://shop.example/products/back-stretcher.js", "shopify", False),
        ("https://shop.example/collections/back", "shopify", False),
        ("https://woo.example/product/lumbar-traction-belt/", "woocommerce", True),
        ("https://woo.example/product-category/traction/", "woocommerce", False),
        ("https://www.walmart.com/ip/Inversion-Table-Pro/123456789", "walmart", True),
        ("https://www.walmart.com/browse/health/123", "walmart", False),
        ("https://woo.example/product/lumbar-traction-belt/", "amazon", False),
        ("https://woo.example/product/lumbar-traction-belt/", "auto", True),
        ("https://www.walmart.com/ip/Inversion-Table-Pro/123456789", "generic", True),
    ],
)
def test_is_product_url_knows_each_platform(url: str, platform: str, expected: bool) -> None:
    assert discovery.is_product_url(url, platform) is expected


@pytest.mark.parametrize(
    ("url", "platform", "canonical"),
    [
        (
            "https://www.amazon.com/Teeter-Inversion-Table/dp/B07YFVP6LZ/ref=sr_1_3?th=1&psc=1",
            "amazon",
            "https://www.amazon.com/dp/B07YFVP6LZ",
        ),
        (
            "http://127.0.0.1:8102/collections/back-care/products/spine-stretcher?variant=41#reviews",
            "shopify",
            "http://127.0.0.1:8102/products/spine-stretcher",
        ),
        (
            "https://woo.example/product/traction-belt/?utm_source=x&attribute_size=l",
            "woocommerce",
            "https://woo.example/product/traction-belt/?attribute_size=l",
        ),
        (
            "https://www.walmart.com/ip/Inversion-Table/123?athbdg=L1600#x",
            "walmart",
            "https://www.walmart.com/ip/Inversion-Table/123?athbdg=L1600",
        ),
    ],
)
def test_canonical_product_url_gives_one_url_per_product(
    url: str, platform: str, canonical: str
) -> None:
    assert discovery.canonical_product_url(url, platform) == canonical


@pytest.mark.parametrize(
    ("text", "include", "expected"),
    [
        ("https://shop.example/products/back-stretcher-pro", ["back"], True),
        ("https://shop.example/products/hiking-backpack", ["back"], False),
        ("Deluxe Inversion Table, 300 lb", ["inversion table"], True),
        ("inversion-tables-for-home", ["inversion table"], True),
        ("Lumbar Stretchers (2 pack)", ["stretcher"], True),
        ("https://www.amazon.com/dp/B07YFVP6LZ", ["traction", "back"], False),
        (None, ["back"], False),
        ("Yoga mat", [], True),  # no include keywords: every listing is in the niche
    ],
)
def test_matches_include_needs_whole_words(
    text: str | None, include: list[str], expected: bool
) -> None:
    assert discovery.matches_include(text, include) is expected


SITEMAP_INDEX = b"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>https://shop.example/sitemap_pages_1.xml</loc></sitemap>
  <sitemap><loc>https://shop.example/sitemap_products_1.xml?from=1&amp;to=99</loc></sitemap>
  <sitemap><loc>https://shop.example/sitemap_collections_1.xml</loc></sitemap>
</sitemapindex>"""

URLSET = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <url><loc>https://shop.example/</loc></url>
  <url><loc>https://shop.example/products/neck-traction-device</loc>
    <image:image><image:title>Neck Traction Device</image:title></image:image></url>
  <url><loc>https://shop.example/collections/all/products/neck-traction-device</loc></url>
  <url><loc>https://shop.example/products/back-stretcher</loc></url>
</urlset>"""


def test_sitemap_index_follows_the_product_sitemaps_only() -> None:
    kind, locs = discovery.read_sitemap(SITEMAP_INDEX)
    assert kind == "sitemapindex"
    assert discovery.sitemaps_to_follow(locs) == [
        "https://shop.example/sitemap_products_1.xml?from=1&to=99"
    ]


def test_gzipped_urlset_yields_each_product_once() -> None:
    body = discovery.sitemap_body(gzip.compress(URLSET), "https://shop.example/s.xml.gz")
    assert body is not None
    kind, locs = discovery.read_sitemap(body)
    assert kind == "urlset"
    assert discovery.product_urls_in_sitemap(locs, "shopify") == [
        "https://shop.example/products/neck-traction-device",
        "https://shop.example/products/back-stretcher",
    ]


def test_generic_sitemap_takes_every_url_and_html_is_no_sitemap() -> None:
    _, locs = discovery.read_sitemap(URLSET)
    assert len(discovery.product_urls_in_sitemap(locs, "generic")) == 3  # home page too
    assert discovery.sitemap_body(b"<html><body>Not found</body></html>", "https://x/s") is None


AMAZON_SEARCH = """
<div class="s-main-slot">
  <div data-component-type="s-search-result" data-asin="B000000001">
    <h2><a class="a-link-normal" href="/Inversion-Table/dp/B000000001/ref=sr_1_1?keywords=x">T</a></h2>
    <a href="/Inversion-Table/dp/B000000001/ref=sr_1_1?keywords=x#customerReviews">123</a>
  </div>
  <div data-component-type="s-search-result" data-asin="B000000002">
    <h2><a href="/dp/B000000002">T2</a></h2>
  </div>
  <a href="https://elsewhere.example/dp/B000000003">offsite</a>
</div>
<a class="s-pagination-item s-pagination-next" href="/s?k=inversion+table&amp;page=2">Next</a>
"""

WOO_CATEGORY = """
<ul class="products columns-4">
  <li class="product"><a href="https://woo.example/product/traction-belt/"
      class="woocommerce-LoopProduct-link woocommerce-loop-product__link">Belt</a>
      <a href="?add-to-cart=12" class="button add_to_cart_button">Add</a></li>
  <li class="product"><a href="https://woo.example/product/back-stretcher/"
      class="woocommerce-LoopProduct-link">Stretcher</a></li>
</ul>
<nav class="woocommerce-pagination"><a class="next page-numbers" href="/shop/page/2/">→</a></nav>
"""


def test_amazon_search_page_gives_canonical_products_and_next_page() -> None:
    links = discovery.listing_page_links(AMAZON_SEARCH, "https://www.amazon.com/s?k=inv", "amazon")
    assert links.product_urls == [
        "https://www.amazon.com/dp/B000000001",
        "https://www.amazon.com/dp/B000000002",
    ]
    assert links.next_url == "https://www.amazon.com/s?k=inversion+table&page=2"


def test_woocommerce_category_page_gives_products_and_next_page() -> None:
    links = discovery.listing_page_links(WOO_CATEGORY, "https://woo.example/shop/", "woocommerce")
    assert links.product_urls == [
        "https://woo.example/product/traction-belt/",
        "https://woo.example/product/back-stretcher/",
    ]
    assert links.next_url == "https://woo.example/shop/page/2/"


def test_last_listing_page_has_no_next_url() -> None:
    page = '<ul class="products"><li><a href="/product/a/">a</a></li></ul><link rel="prev" href="/p/1">'
    links = discovery.listing_page_links(page, "https://woo.example/shop/page/2/", "auto")
    assert links.product_urls == ["https://woo.example/product/a/"]
    assert links.next_url is None


def test_shopify_products_json_pages_become_product_urls() -> None:
    first = shopify_source.products_json_url("http://127.0.0.1:8102/collections/all", 1)
    assert first == "http://127.0.0.1:8102/products.json?page=1"
    data = {"products": [{"handle": "spine-stretcher", "title": "Spine"}, {"title": "no handle"}]}
    assert shopify_source.product_urls_in_products_json(data, first) == [
        "http://127.0.0.1:8102/products/spine-stretcher"
    ]
    assert shopify_source.product_urls_in_products_json({"products": []}, first) == []
    with pytest.raises(ValueError, match="products"):
        shopify_source.product_urls_in_products_json({"errors": "Not Found"}, first)


# -- settings ----------------------------------------------------------------------------------


def test_scrapy_list_from_the_repo_root_names_the_catalog_spider() -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "scrapy", "list"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert listed.stdout.split() == ["catalog"]


def _catalog(tmp_path: Path, crawl: str = "") -> Catalog:
    return load_catalog_text(
        tmp_path,
        f"{SITE_TOML}{crawl}\n"
        '[[stores]]\nname = "shop"\nproduct_urls = ["http://127.0.0.1:8101/products/back-stretcher"]\n',
    )


def test_polite_settings_throttle_and_name_the_bot(tmp_path: Path) -> None:
    settings = settings_for(_catalog(tmp_path), str(tmp_path / "b.db"), run_id=3)
    assert settings.getbool("ROBOTSTXT_OBEY")
    assert settings.getbool("AUTOTHROTTLE_ENABLED")
    assert settings.getfloat("DOWNLOAD_DELAY") > 0
    assert settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") <= 2
    assert 429 in settings.getlist("RETRY_HTTP_CODES")
    # the catalog's crawler names the site that runs it, so store owners know whom to ask
    assert settings["USER_AGENT"] == "backrank/0.1 (+https://example.com)"
    assert settings["BACKRANK_DB"] == str(tmp_path / "b.db")
    assert settings.getint("BACKRANK_RUN_ID") == 3
    assert settings.getbool("BACKRANK_PROGRESS")


def test_impolite_demo_settings_still_obey_robots_txt(tmp_path: Path) -> None:
    catalog = _catalog(tmp_path, "[crawl]\npolite = false\nconcurrency = 4\nmax_review_pages = 2")
    settings = settings_for(catalog, str(tmp_path / "b.db"), quiet=True)
    assert settings.getbool("ROBOTSTXT_OBEY")
    assert not settings.getbool("AUTOTHROTTLE_ENABLED")
    assert settings.getfloat("DOWNLOAD_DELAY") == 0
    assert settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") >= 4
    assert settings.getint("BACKRANK_MAX_REVIEW_PAGES") == 2
    assert not settings.getbool("BACKRANK_PROGRESS")
    # an explicit polite=True beats the catalog
    assert settings_for(catalog, "b.db", polite=True).getbool("AUTOTHROTTLE_ENABLED")


# -- the run's outcome ------------------------------------------------------------------------


def test_summary_counts_errors_drops_and_sets_the_run_status() -> None:
    stats = {
        "response_received_count": 40,
        "backrank/stored/listings": 6,
        "backrank/stored/reviews": 31,
        "backrank/errors/http_503": 2,
        "backrank/errors/timeout": 1,
        "backrank/skipped/robots_forbidden": 4,  # refused by robots.txt: not an error
        "backrank/dropped/off_niche": 3,
        "backrank/dropped/no_title": 1,
        "start_time": datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
    }
    result = summarise(stats, run_id=7, elapsed=1.5)
    assert (result.pages, result.listings, result.reviews, result.errors) == (40, 6, 31, 3)
    assert result.dropped == {"no_title": 1, "off_niche": 3}
    assert result.status == "warnings"
    assert result.stats["start_time"] == "2025-01-02T03:04:05+00:00"
    clean = {key: value for key, value in stats.items() if "errors" not in key}
    assert summarise(clean, run_id=7, elapsed=1.0).status == "ok"
    assert summarise({"response_received_count": 9}, run_id=7, elapsed=1.0).status == "failed"


def test_progress_line_shows_what_the_crawl_did() -> None:
    stats = {
        "response_received_count": 12,
        "backrank/found/listings": 3,
        "backrank/found/reviews": 20,
        "backrank/errors/http_404": 1,
        "backrank/blocked": 2,
    }
    line = progress_line(crawl_counts(stats), elapsed=4.0).plain
    assert line.split() == [
        "crawling", "4s", "pages", "12", "listings", "3", "reviews", "20",
        "dropped", "0", "errors", "1", "blocked", "2",
    ]  # fmt: skip


# -- real crawls of the demo marketplace ------------------------------------------------------

MARKETPLACE_SCALE = 5  # 12 listings over four stores, 2 of them without a price, 377 reviews


@dataclass
class Crawled:
    """Two crawls of one marketplace into one database, and what the marketplace saw."""

    truth: dict
    store_names: dict[str, str]  # marketplace store key -> catalog store name
    first: CrawlResult
    second: CrawlResult
    first_requests: list[tuple[str, str]]
    second_requests: list[tuple[str, str]]
    offers: pd.DataFrame  # latest snapshot per listing
    offer_history: pd.DataFrame
    reviews: pd.DataFrame
    robots: dict[str, str]  # store key -> robots.txt text


@pytest.fixture(scope="session")
def marketplace() -> Iterator[Marketplace]:
    with Marketplace(seed=7, scale=MARKETPLACE_SCALE).start(port=0) as running:
        yield running


@pytest.fixture(scope="session")
def crawled(marketplace: Marketplace, tmp_path_factory: pytest.TempPathFactory) -> Crawled:
    workdir = tmp_path_factory.mktemp("crawl")
    db_path = workdir / "backrank.db"
    store_urls = marketplace.store_urls
    # A catalog that names a robots-disallowed page: robots.txt must still win.
    cart = store_urls["walmart"] + marketplace.truth()["disallowed"]["walmart"] + "view"
    catalog_path = workdir / "catalog.toml"
    catalog_path.write_text(
        marketplace.demo_catalog_text(db=str(db_path)).replace(
            'name = "demo-walmart"\n', f'name = "demo-walmart"\nproduct_urls = ["{cart}"]\n', 1
        ),
        encoding="utf-8",
    )
    catalog = load_catalog(catalog_path)
    store_names = {"amazon": "demo-amazon"} | {
        key: next(
            store.name for store in catalog.stores if store.urls and store.urls[0].startswith(url)
        )
        for key, url in store_urls.items()
        if key != "amazon"  # Amazon is a list of ASINs read through the Creators API
    }
    start = len(marketplace.requested_paths)  # the request log is shared by every test
    with amazon_credentials_env("api"):  # the demo service's credentials
        first = run_crawl_subprocess(catalog_path, db_path, quiet=True, timeout=120)
        first_requests = marketplace.requested_paths[start:]
        second = run_crawl_subprocess(catalog_path, db_path, quiet=True, timeout=120)
        second_requests = marketplace.requested_paths[start + len(first_requests) :]
    robots = {
        key: urllib.request.urlopen(f"{url}/robots.txt", timeout=10).read().decode()
        for key, url in store_urls.items()
    }
    truth = marketplace.truth()
    with Store.open(db_path) as store:
        return Crawled(
            truth=truth,
            store_names=store_names,
            first=first,
            second=second,
            first_requests=first_requests,
            second_requests=second_requests,
            offers=store.read_offers(latest=True),
            offer_history=store.read_offer_history(),
            reviews=store.read_reviews(),
            robots=robots,
        )


def _stored_row(crawled: Crawled, listing: dict) -> pd.DataFrame:
    offers = crawled.offers[crawled.offers["store"] == crawled.store_names[listing["store"]]]
    if listing["store"] == "amazon":  # one Amazon page per ASIN, whatever slug links to it
        return offers[offers["asin"] == listing["asin"]]
    return offers[(offers["url"] == listing["url"]) | (offers["canonical_url"] == listing["url"])]


def test_crawl_finds_every_listing_the_marketplace_has(crawled: Crawled) -> None:
    listings = crawled.truth["listings"]
    missed = [
        f"{listing['store']} {listing['url']}"
        for listing in listings
        if len(_stored_row(crawled, listing)) != 1
    ]
    found = len(listings) - len(missed)
    assert not missed, f"found {found}/{len(listings)} listings; missed: {missed}"
    assert len(crawled.offers) == len(listings), "stored listings the marketplace does not have"
    assert crawled.first.listings == len(listings)
    assert (crawled.first.status, crawled.first.errors, crawled.first.blocked) == ("ok", 0, 0)


def test_crawl_never_requests_a_robots_disallowed_path(crawled: Crawled) -> None:
    # the pages crawled (the Creators API is called, not crawled: it has no robots.txt)
    requests = [
        (key, path)
        for key, path in crawled.first_requests + crawled.second_requests
        if key != "creators_api"
    ]
    disallowed = crawled.truth["disallowed"]
    forbidden = [(key, path) for key, path in requests if path.startswith(disallowed[key])]
    assert not forbidden, f"requested robots-disallowed paths: {forbidden[:5]}"
    for key, path in requests:  # and nothing else any store's robots.txt forbids
        parser = Protego.parse(crawled.robots[key])
        assert parser.can_fetch(path, "backrank"), f"{key} {path} is disallowed by robots.txt"
    # the catalog named the Walmart account page: it was refused, and that is not an error
    assert crawled.first.stats["backrank/skipped/robots_forbidden"] == 1
    assert any(path == "/robots.txt" for key, path in requests if key == "walmart")


def test_amazon_is_read_through_its_api_and_no_amazon_page_is_requested(
    crawled: Crawled,
) -> None:
    requests = crawled.first_requests + crawled.second_requests
    assert not [path for key, path in requests if key == "amazon"]
    api_calls = [path for key, path in requests if key == "creators_api"]
    assert api_calls.count("/catalog/v1/getItems") == 2  # one batch (under 10 ASINs) a run
    amazon = crawled.offers[crawled.offers["store"] == "demo-amazon"]
    assert (amazon["source"] == "api").all() and len(amazon) > 0
    others = crawled.offers[crawled.offers["store"] != "demo-amazon"]
    assert (others["source"] == "crawl").all()


def test_shopify_store_is_also_discovered_through_its_products_json_feed(crawled: Crawled) -> None:
    feed = [path for key, path in crawled.first_requests if key == "shopify" and path.startswith("/products.json")]  # fmt: skip
    assert feed[:2] == ["/products.json?page=1", "/products.json?page=2"]
    # pages with products, then the empty page that ends the feed; never a bad page
    assert crawled.first.stats["backrank/pages/products_json"] == len(feed) >= 2
    assert "backrank/errors/bad_products_json" not in crawled.first.stats


PRODUCT_PAGE = {
    "amazon": lambda path: (m := amazon.PRODUCT_PATH.match(path)) and m.group(1),
    "shopify": lambda path: (m := shopify.PRODUCT_PATH.match(path)) and not m.group(2) and m.group(1),
    "woocommerce": lambda path: (m := woocommerce.PRODUCT_PATH.match(path)) and not m.group(2) and m.group(1),
    "walmart": lambda path: (m := walmart.PRODUCT_PATH.match(path)) and m.group(1),
}  # fmt: skip


@pytest.mark.parametrize("run", ["first", "second"])
def test_each_product_page_is_fetched_once_per_run(crawled: Crawled, run: str) -> None:
    requests = crawled.first_requests if run == "first" else crawled.second_requests
    products = Counter(
        (key, product)
        for key, path in requests
        if key in PRODUCT_PAGE and (product := PRODUCT_PAGE[key](urlsplit(path).path))
    )
    # Amazon is read through its Creators API and the WooCommerce store's products come whole
    # from its Store API: no product page of either is fetched
    by_pages = [
        row for row in crawled.truth["listings"] if row["store"] not in {"amazon", "woocommerce"}
    ]
    assert crawled.truth["woocommerce_path"] == "store_api"
    assert len(products) == len(by_pages)
    assert any(path.startswith("/wp-json/wc/store/v1/products?") for key, path in requests)
    twice = {product: count for product, count in products.items() if count > 1}
    assert not twice, f"product pages fetched more than once: {twice}"


def test_second_run_adds_a_price_snapshot_not_a_duplicate_listing(crawled: Crawled) -> None:
    assert crawled.second.listings == crawled.first.listings
    assert crawled.second.run_id != crawled.first.run_id
    assert len(crawled.offers) == len(crawled.truth["listings"])
    snapshots = crawled.offer_history.groupby("listing_id")["run_id"].nunique()
    assert len(snapshots) == len(crawled.truth["listings"])
    assert (snapshots == 2).all(), snapshots[snapshots != 2].to_dict()


def test_listing_without_a_price_is_stored_with_no_price_not_zero(crawled: Crawled) -> None:
    unpriced = [listing for listing in crawled.truth["listings"] if listing["price"] is None]
    assert unpriced, "the marketplace at this scale should have a listing with no price"
    for listing in unpriced:
        row = _stored_row(crawled, listing).iloc[0]
        assert row["price"] is None, f"{listing['url']}: price {row['price']!r}"
    priced = [listing for listing in crawled.truth["listings"] if listing["price"] is not None]
    for listing in priced:
        row = _stored_row(crawled, listing).iloc[0]
        assert Decimal(str(row["price"])) == Decimal(listing["price"]), listing["url"]


def test_every_review_is_stored_once_across_two_runs(crawled: Crawled) -> None:
    # every review the stores show, except Amazon's: never collected (Associates policies)
    collected = crawled.truth["collected_review_total"]
    assert collected < crawled.truth["review_total"]
    assert crawled.first.reviews == collected
    assert len(crawled.reviews) == collected
    per_listing = crawled.reviews.groupby("listing_id").size()
    assert per_listing.sum() == collected  # every review found its listing
    assert "demo-amazon" not in set(crawled.reviews["store"])


def test_one_store_crawl_counts_a_dead_url_and_stops_at_max_review_pages(
    marketplace: Marketplace, tmp_path: Path
) -> None:
    dead = marketplace.store_urls["walmart"] + "/ip/no-such-item/1"  # no such item: a 404
    catalog_text = (
        marketplace.demo_catalog_text()
        .replace(
            'name = "demo-walmart"\n', f'name = "demo-walmart"\nproduct_urls = ["{dead}"]\n', 1
        )
        .replace("max_review_pages = 50", "max_review_pages = 1", 1)
    )
    catalog_path = tmp_path / "catalog.toml"
    catalog_path.write_text(catalog_text, encoding="utf-8")
    start = len(marketplace.requested_paths)
    result = run_crawl_subprocess(
        catalog_path, tmp_path / "one.db", store="demo-walmart", quiet=True, timeout=120
    )
    walmart_listings = [
        listing for listing in marketplace.truth()["listings"] if listing["store"] == "walmart"
    ]
    assert result.listings == len(walmart_listings)
    assert result.stats["backrank/errors/http_404"] == 1
    assert (result.errors, result.status) == (1, "warnings")
    asked = [path for key, path in marketplace.requested_paths[start:]]
    assert {key for key, _ in marketplace.requested_paths[start:]} == {"walmart"}
    # max_review_pages = 1: at most one review page per reviewed listing, so not every review
    reviewed = [listing for listing in walmart_listings if listing["review_count"]]
    review_pages = [path for path in asked if walmart.REVIEWS_PATH.match(urlsplit(path).path)]
    items = [walmart.REVIEWS_PATH.match(urlsplit(path).path).group(1) for path in review_pages]
    assert len(items) == len(set(items)) <= len(walmart_listings)
    assert 0 < result.reviews < sum(listing["review_count"] for listing in reviewed)
    with Store.open(tmp_path / "one.db") as store:
        runs = store.runs()
    assert runs["status"].tolist() == ["warnings"]
    assert runs["stats"].iloc[0]["backrank/errors/http_404"] == 1
