"""The source registry: one object per platform behind one interface, named in one place."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from helpers import write_catalog
from test_config import FULL

from backrank.app.cli import main
from backrank.core.config import StoreConfig
from spiders import discovery, sources
from spiders.items import Listing, ReviewPage

REPO = Path(__file__).resolve().parents[1]


def test_registry_names_each_source_once_with_generic_last() -> None:
    names = [source.name for source in sources.SOURCES]
    assert len(set(names)) == len(names)
    assert sources.PLATFORMS == tuple(names)
    assert sources.SOURCES[-1] is sources.GENERIC and sources.GENERIC.name == "generic"
    assert all(isinstance(source, sources.Source) for source in sources.SOURCES)


def test_auto_names_no_source_and_an_unknown_platform_is_an_error() -> None:
    assert sources.named("auto") is None
    assert sources.named("shopify").name == "shopify"
    with pytest.raises(
        ValueError, match=r"unknown platform 'ebay'; expected auto or one of amazon"
    ):
        sources.named("ebay")
    with pytest.raises(ValueError, match="unknown platform"):
        sources.parse_product_page("<html></html>", "https://shop.example/p", platform="ebay")


def _string_constants(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def test_no_platform_is_named_outside_the_registry() -> None:
    # A platform's rules live in its module under spiders/sources/: no "if platform ==
    # 'shopify'" and no per-platform dict anywhere else in the crawl.
    platforms = set(sources.PLATFORMS) - {sources.GENERIC.name}
    outside = [
        path
        for path in (REPO / "spiders").rglob("*.py")
        if "sources" not in path.relative_to(REPO / "spiders").parts
    ]
    named = {
        str(path.relative_to(REPO)): sorted(_string_constants(path) & platforms) for path in outside
    }
    assert {path: found for path, found in named.items() if found} == {}


@pytest.mark.parametrize("source", sources.SOURCES, ids=lambda source: source.name)
@pytest.mark.parametrize("body", [b"", b"<html><body>nothing here</body></html>", b'{"a": 1}'])
def test_every_source_reads_an_empty_page_as_nothing(source: sources.Source, body: bytes) -> None:
    page = sources.Page(body, "https://shop.example/p")
    listing = source.parse_listing(page)
    assert isinstance(listing, Listing) and listing.title is None and listing.price is None
    assert source.parse_reviews(page) == []
    assert source.review_page_urls(page, listing) == []
    review_page = source.parse_review_page(page)
    assert isinstance(review_page, ReviewPage) and review_page.reviews == []


def test_detection_order_puts_the_specific_platforms_before_generic() -> None:
    walmart_page = '<script id="__NEXT_DATA__" type="application/json">{"props": {"pageProps": {"initialData": {}}}}</script>'  # fmt: skip
    assert sources.detect(walmart_page).name == "walmart"
    assert sources.detect(b"<html><head><title>Shop</title></head></html>") is sources.GENERIC


def _feed_page(payload: object, page: int = 1) -> sources.Page:
    url = f"https://shop.example/products.json?page={page}"
    return sources.Page(json.dumps(payload).encode(), url)


def test_shopify_feed_pages_until_an_empty_page() -> None:
    source = sources.named("shopify")
    assert source.feed_name == "products_json"
    store = StoreConfig(
        name="maple",
        platform="shopify",
        sitemap_urls=("https://shop.example/sitemap.xml",),
        start_urls=("https://shop.example/collections/all",),
    )
    assert source.feed_requests(store) == [
        sources.FeedRequest(url="https://shop.example/products.json?page=1")
    ]
    first = source.parse_feed(_feed_page({"products": [{"handle": "spine-stretcher"}]}), 1)
    assert first.product_urls == ["https://shop.example/products/spine-stretcher"]
    assert first.next == sources.FeedRequest(url="https://shop.example/products.json?page=2")
    last = source.parse_feed(_feed_page({"products": []}, 2), 2)
    assert (last.product_urls, last.next) == ([], None)


@pytest.mark.parametrize("body", [b"<html>Not found</html>", b"[1, 2]", b'{"errors": "Not Found"}'])
def test_a_bad_feed_page_is_a_value_error_the_spider_counts(body: bytes) -> None:
    page = sources.Page(body, "https://shop.example/products.json?page=1")
    with pytest.raises(ValueError):
        sources.named("shopify").parse_feed(page, 1)
    with pytest.raises(ValueError):
        sources.GENERIC.parse_feed(page, 1)


@pytest.mark.parametrize(
    ("platform", "url", "canonical"),
    [
        ("amazon", "https://a.example/Some-Slug/dp/B07YFVP6LZ/ref=sr_1?th=1", "https://a.example/dp/B07YFVP6LZ"),
        ("shopify", "https://s.example/collections/sale/products/mat?variant=1", "https://s.example/products/mat"),
        ("walmart", "https://w.example/ip/Mat/123?utm_source=x#reviews", "https://w.example/ip/Mat/123"),
        ("generic", "https://g.example/item?id=9&gclid=x", "https://g.example/item?id=9"),
    ],
)  # fmt: skip
def test_each_source_owns_its_canonical_product_url(
    platform: str, url: str, canonical: str
) -> None:
    assert discovery.canonical_product_url(url, platform) == canonical


@pytest.mark.parametrize("command", ["check", "crawl"])
def test_backrank_names_the_line_of_an_unknown_platform(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    """The catalog cannot import the crawl, yet `backrank check` and `crawl` still check the
    store platform against the registry, with its line."""
    catalog = write_catalog(tmp_path, FULL.replace('platform = "shopify"', 'platform = "ebay"'))
    args = ["--catalog", str(catalog)] + (
        ["--db", str(tmp_path / "x.db")] if command == "crawl" else []
    )
    code = main([command, *args])
    out = capsys.readouterr()
    said = " ".join((out.out + out.err).split())  # the console wraps long lines
    assert code == 2
    assert (
        "catalog.toml:35: stores[1].platform: must be one of auto, amazon, walmart, shopify, "
        'woocommerce, generic (got "ebay")'
    ) in said
    assert not (tmp_path / "x.db").exists()  # nothing was crawled
