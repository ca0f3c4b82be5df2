"""The Store API and review-app readers over real HTTP against the demo marketplace: what they
read equals the marketplace's ground truth, every listing and every review."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from decimal import Decimal

import pytest

from backrank.marketplace import Marketplace
from backrank.marketplace.reviews import review_at
from backrank.marketplace.woo_store_api import variation_ids
from spiders.sources import review_apps, woo_store_api


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items()), error.read()


@pytest.fixture(scope="module")
def marketplace():
    with Marketplace(seed=7, review_apps=("judgeme", "yotpo")) as running:
        yield running


def all_products(store_url: str, per_page: int) -> tuple[list, int]:
    """Every product, page after page until X-WP-TotalPages; and how many pages that took."""
    pages, page, listings = None, 1, []
    while pages is None or page <= pages:
        status, headers, body = get(woo_store_api.products_url(store_url, page, per_page))
        listings += [p.listing for p in woo_store_api.parse_products(status, body, store_url)]
        pages = woo_store_api.total_pages(headers.get("X-WP-TotalPages"))
        page += 1
    return listings, page - 1


def test_store_api_products_equal_the_ground_truth(marketplace) -> None:
    truth = marketplace.truth()
    expected = {row["url"]: row for row in truth["listings"] if row["store"] == "woocommerce"}
    listings, pages = all_products(marketplace.store_urls["woocommerce"], per_page=10)
    assert pages == -(-len(expected) // 10) > 1  # paged to the end, not just the first page
    assert sorted(listing.url for listing in listings) == sorted(expected)
    for listing in listings:
        row = expected[listing.url]
        price = None if row["price"] is None else Decimal(row["price"])
        list_price = None if row["list_price"] is None else Decimal(row["list_price"])
        assert (listing.title, listing.price, listing.list_price) == (
            row["title"],
            price,
            list_price,
        )
        assert listing.currency == ("USD" if price is not None else None)
        assert listing.availability == row["availability"]
        assert (listing.gtin, listing.sku) == (row["gtin"], row["store_api_sku"])
        assert listing.category == row["category"]
        assert (listing.review_count, listing.rating) == (row["review_count"], row["rating"])
    assert sum(row["variations"] > 0 for row in expected.values()) >= 10  # variable products


def test_store_api_reviews_equal_every_review_of_every_product(marketplace) -> None:
    store_url = marketplace.store_urls["woocommerce"]
    rows = marketplace.catalog.listings["woocommerce"]
    total = 0
    for row in rows:
        reviews, page, pages = [], 1, None
        while pages is None or page <= pages:
            status, headers, body = get(
                woo_store_api.reviews_url(store_url, row.number_id, page, per_page=25)
            )
            reviews += woo_store_api.parse_reviews(status, body, "listing")
            pages = woo_store_api.total_pages(headers.get("X-WP-TotalPages"))
            page += 1
        assert len(reviews) == row.review_count
        for index, review in enumerate(reviews):
            made = review_at(marketplace.seed, row, index)
            assert (review.review_id, review.author, review.rating) == (
                str(made.number),
                made.author,
                made.rating,
            )
            assert (review.verified, review.body) == (made.verified, made.body)
            assert review.date == made.date.isoformat(timespec="seconds")
        total += len(reviews)
    assert total == sum(row.review_count for row in rows) > 1000


def test_a_store_api_switched_off_is_unavailable_so_the_crawl_falls_back() -> None:
    with Marketplace(seed=7, woo_store_api=False) as closed:
        store_url = closed.store_urls["woocommerce"]
        status, _, body = get(woo_store_api.products_url(store_url))
        with pytest.raises(woo_store_api.StoreApiUnavailable, match="401"):
            woo_store_api.parse_products(status, body, store_url)
        status, _, body = get(woo_store_api.reviews_url(store_url, 100))
        with pytest.raises(woo_store_api.StoreApiUnavailable, match="401"):
            woo_store_api.parse_reviews(status, body, store_url)
        # its HTML pages still carry every product
        status, _, body = get(store_url + "/product-sitemap.xml")
        assert status == 200 and body.count(b"<loc>") >= len(closed.catalog.listings["woocommerce"])


@pytest.mark.parametrize("app", ["judgeme", "yotpo"])
def test_each_shopify_review_app_reads_completely(marketplace, app) -> None:
    truth = marketplace.truth()
    rows = [
        row for row in truth["listings"] if row["store"] == "shopify" and row["review_app"] == app
    ]
    listings = {row.key: row for row in marketplace.catalog.listings["shopify"]}
    assert len(rows) >= 10
    read = 0
    for row in rows:
        status, _, html = get(row["url"])
        widget = review_apps.detect_widget(html.decode(), row["url"])
        assert status == 200 and widget is not None and widget.app == app and widget.readable
        url, reviews, pages = widget.first_url(per_page=7), [], 0
        while url:
            status, _, body = get(url)
            assert status == 200, url
            page = review_apps.parse(body, url, row["url"])
            reviews += page.reviews
            url, pages = page.next_url, pages + 1
            assert pages <= 50
        assert len(reviews) == row["review_count"], row["url"]
        listing = listings[row["handle"]]
        for index, review in enumerate(reviews):
            made = review_at(marketplace.seed, listing, index)
            assert (review.author, int(review.rating), review.verified) == (
                made.author,
                made.rating,
                made.verified,
            )
            assert (review.title, review.body) == (made.title, made.body)
            assert review.url == row["url"]
        read += len(reviews)
    assert read == sum(row["review_count"] for row in rows) > 500


@pytest.mark.parametrize(
    ("store", "path", "status"),
    [
        ("woocommerce", "/wp-json/wc/store/v1/products?per_page=101", 400),  # WooCommerce's cap
        ("woocommerce", "/wp-json/wc/store/v1/products?page=0", 400),
        ("woocommerce", "/wp-json/wc/store/v1/products/999999", 404),
        ("woocommerce", "/wp-json/wc/store/v1/nothing", 404),
        ("shopify", "/v1/widget/WrongKey/products/1/reviews.json", 404),
        ("shopify", "/api/v1/widgets/product_review?shop_domain=other.myshopify.com&handle=x", 404),
    ],
)
def test_the_demo_apis_refuse_bad_requests_as_the_real_ones(marketplace, store, path, status):
    code, headers, body = get(marketplace.store_urls[store] + path)
    assert code == status and headers["Content-Type"].startswith("application/json")


def test_a_variation_is_served_with_its_own_price(marketplace) -> None:
    row = next(
        r for r in marketplace.catalog.listings["woocommerce"] if variation_ids(r) and r.price_cents
    )
    store_url = marketplace.store_urls["woocommerce"]
    prices = []
    for variation in variation_ids(row):
        status, _, body = get(f"{store_url}/wp-json/wc/store/v1/products/{variation}")
        record = json.loads(body)
        assert status == 200 and record["type"] == "variation" and record["parent"] == row.number_id
        prices.append(woo_store_api.minor_units(record["prices"]["price"], record["prices"]))
    assert prices[0] == row.price < prices[1]  # the listing shows its cheaper variation
