"""The WooCommerce Store API and the Shopify review apps' endpoints, read as pure functions."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from spiders.sources import review_apps, woo_store_api
from spiders.sources.woo_store_api import StoreApiUnavailable

STORE = "https://shop.example"


def product(**overrides) -> dict:
    record = {
        "id": 34,
        "name": "Lumbar Traction Belt &amp; Pump",
        "type": "simple",
        "permalink": f"{STORE}/product/lumbar-belt/",
        "sku": "LT-100",
        "short_description": "<p>Air <b>inflatable</b> belt.</p>",
        "prices": {
            "price": "4999",
            "regular_price": "5999",
            "sale_price": "4999",
            "currency_code": "GBP",
            "currency_minor_unit": 2,
        },
        "average_rating": "4.50",
        "review_count": 12,
        "images": [{"src": f"{STORE}/wp-content/uploads/belt.jpg"}],
        "categories": [{"id": 15, "name": "Lumbar traction", "slug": "lumbar-traction"}],
        "is_in_stock": True,
        "variations": [],
    }
    record.update(overrides)
    return record


def body(value) -> bytes:
    return json.dumps(value).encode()


def test_a_product_reads_minor_units_currency_stock_sku_and_category() -> None:
    (page,) = woo_store_api.parse_products(200, body([product()]), STORE)
    listing = page.listing
    assert listing.url == f"{STORE}/product/lumbar-belt/"
    assert listing.title == "Lumbar Traction Belt & Pump"
    assert (listing.price, listing.list_price, listing.currency) == (
        Decimal("49.99"),
        Decimal("59.99"),
        "GBP",
    )
    assert listing.availability == "in_stock"
    assert (listing.sku, listing.category, listing.gtin) == ("LT-100", "Lumbar traction", None)
    assert (listing.rating, listing.review_count) == (4.5, 12)
    assert listing.description == "Air inflatable belt."


@pytest.mark.parametrize(
    ("amount", "unit", "expected"),
    [
        ("4999", 2, Decimal("49.99")),
        ("4999", 0, Decimal("4999")),  # yen and other currencies without minor units
        ("49990", 3, Decimal("49.990")),  # Kuwaiti dinar: three decimals
        ("", 2, None),  # a product without a price
        ("abc", 2, None),
        ("-5", 2, None),
        ("4999", True, None),
    ],
)
def test_prices_are_minor_units_of_the_currency(amount, unit, expected) -> None:
    assert woo_store_api.minor_units(amount, {"currency_minor_unit": unit}) == expected


def test_missing_is_none_never_zero() -> None:
    record = product(
        prices={"price": "", "regular_price": "", "currency_code": "USD", "currency_minor_unit": 2},
        sku="",
        review_count=0,
        average_rating="0",
        is_in_stock=False,
        categories=[],
        images=[{"src": "javascript:alert(1)"}],
    )
    listing = woo_store_api.parse_products(200, body([record]), STORE)[0].listing
    assert (listing.price, listing.currency, listing.list_price) == (None, None, None)
    assert (listing.sku, listing.rating, listing.category, listing.image_url) == (None,) * 4
    assert listing.review_count == 0
    assert listing.availability == "out_of_stock"


def test_a_variable_product_is_one_listing_at_its_cheapest_variation_and_gtin_is_read() -> None:
    record = product(
        type="variable",
        global_unique_id="0012345678905",
        prices={
            "price": "2500",
            "regular_price": "2500",
            "currency_code": "USD",
            "currency_minor_unit": 2,
            "price_range": {"min_amount": "2500", "max_amount": "4000"},
        },
        variations=[{"id": 35, "attributes": []}, {"id": 36, "attributes": []}],
    )
    variation = product(id=35, type="variation", parent=34)
    pages = woo_store_api.parse_products(200, body([record, variation]), STORE)
    assert len(pages) == 1
    assert (pages[0].listing.price, pages[0].listing.gtin) == (Decimal("25.00"), "0012345678905")


@pytest.mark.parametrize(
    ("status", "payload", "why"),
    [
        (401, b'{"code":"rest_login_required"}', "401"),
        (403, b'{"code":"rest_forbidden"}', "403"),
        (404, b"<html>Not found</html>", "404"),
        (200, b"<!DOCTYPE html><html><body>Shop</body></html>", "HTML"),
        (200, b'{"code":"rest_no_route"}', "not a list"),
        (500, b"oops", "500"),
    ],
)
def test_a_disabled_store_api_is_unavailable_with_the_reason(status, payload, why) -> None:
    with pytest.raises(StoreApiUnavailable, match=why):
        woo_store_api.parse_products(status, payload, STORE)


def test_reviews_read_reviewer_rating_date_verified_and_text() -> None:
    record = {
        "id": 83,
        "date_created": "2022-01-12T15:42:43",
        "date_created_gmt": "2022-01-12T14:42:43",
        "product_id": 34,
        "reviewer": "Linda K.",
        "review": "<p>Works &amp; helps.</p>\n",
        "rating": 5,
        "verified": True,
    }
    unverified = dict(record, id=84, verified=False, rating="5", reviewer="")
    first, second = woo_store_api.parse_reviews(200, body([record, unverified]), STORE + "/p/")
    assert (first.review_id, first.author, first.rating) == ("83", "Linda K.", 5)
    assert (first.body, first.date, first.verified) == (
        "Works & helps.",
        "2022-01-12T14:42:43",
        True,
    )
    assert (second.verified, second.rating, second.author) == (False, None, None)


def test_urls_page_the_api_from_any_store_url() -> None:
    assert woo_store_api.products_url(f"{STORE}/shop/?x=1", page=3) == (
        f"{STORE}/wp-json/wc/store/v1/products?page=3&per_page=100"
    )
    assert "product_id=34&page=2" in woo_store_api.reviews_url(STORE, 34, page=2)
    assert woo_store_api.total_pages(b"17") == 17
    assert woo_store_api.total_pages(None) is None


# -- review apps --------------------------------------------------------------------------

JUDGEME_PAGE = """<html><head>
<script>jdgm.SHOP_DOMAIN = 'acme.myshopify.com'; jdgm.PLATFORM = 'shopify';
jdgm.PUBLIC_TOKEN = 'abc123';</script>
<script data-cfasync='false' async src='https://cdn.judge.me/widget_preloader.js'></script>
</head><body><div id='judgeme_product_reviews' class='jdgm-widget jdgm-review-widget'
data-id='711'></div></body></html>"""
YOTPO_PAGE = """<html><head>
<script src="https://cdn-widgetsrepository.yotpo.com/v1/loader/AbCdEf123" async></script>
</head><body><div class="yotpo-widget-instance" data-yotpo-instance-id="1"
data-yotpo-product-id="4242"></div></body></html>"""
OKENDO_PAGE = """<html><head><script type="application/json" id="oke-reviews-settings">
{"subscriberId":"1f2e3d4c-0000-4000-8000-123456789abc"}</script>
<script src="https://d3hw6dc1ow8pp2.cloudfront.net/reviews-widget-plus/js/okendo-reviews.js"></script>
</head><body><div data-oke-widget data-oke-reviews-product-id="shopify-555"></div></body></html>"""
STAMPED_PAGE = """<html><head><script src="https://cdn1.stamped.io/files/widget.min.js"></script>
<script>StampedFn.init({ apiKey: 'pubkey-XYZ', storeUrl: 'acme.myshopify.com' });</script>
</head><body><div id="stamped-main-widget" data-product-id="909"></div></body></html>"""
LOOX_PAGE = """<html><head>
<script async src="https://loox.io/widget/N1xLoox/loox.js?shop=acme.myshopify.com"></script>
</head><body><div id="looxReviews" data-product-id="313"></div></body></html>"""
PRODUCT_URL = "https://acme.example/products/lumbar-belt"


@pytest.mark.parametrize(
    ("page", "app", "first_url"),
    [
        (
            JUDGEME_PAGE,
            "judgeme",
            "https://judge.me/api/v1/widgets/product_review?shop_domain=acme.myshopify.com"
            "&platform=shopify&api_token=abc123&handle=lumbar-belt&page=1&per_page=100",
        ),
        (
            YOTPO_PAGE,
            "yotpo",
            "https://api-cdn.yotpo.com/v1/widget/AbCdEf123/products/4242/reviews.json"
            "?per_page=150&page=1",
        ),
        (
            OKENDO_PAGE,
            "okendo",
            "https://api.okendo.io/v1/stores/1f2e3d4c-0000-4000-8000-123456789abc/products/"
            "shopify-555/reviews?limit=100&orderBy=date+desc",
        ),
        (
            STAMPED_PAGE,
            "stamped",
            "https://stamped.io/api/widget/reviews?productId=909&apiKey=pubkey-XYZ&page=1"
            "&take=100&storeUrl=acme.myshopify.com",
        ),
        (LOOX_PAGE, "loox", "https://loox.io/widget/N1xLoox/reviews/313?page=1"),
    ],
)
def test_each_app_is_detected_with_its_public_endpoint(page, app, first_url) -> None:
    widget = review_apps.detect_widget(page, PRODUCT_URL)
    assert widget is not None and widget.app == app
    assert widget.first_url() == first_url
    assert widget.readable == (app != "loox")


def test_a_page_without_a_known_app_has_no_widget() -> None:
    page = "<html><body><div class='spr-reviews'>Shopify Product Reviews</div></body></html>"
    assert review_apps.detect_widget(page, PRODUCT_URL) is None


def test_a_loader_served_by_the_store_itself_keeps_the_store_origin() -> None:
    page = YOTPO_PAGE.replace("https://cdn-widgetsrepository.yotpo.com", "http://127.0.0.1:8101")
    widget = review_apps.detect_widget(page, "http://127.0.0.1:8101/products/lumbar-belt")
    assert widget.api_base == "http://127.0.0.1:8101"
    assert widget.first_url().startswith("http://127.0.0.1:8101/v1/widget/AbCdEf123/")


def test_an_app_missing_its_ids_is_not_read() -> None:
    page = YOTPO_PAGE.replace('data-yotpo-product-id="4242"', "")
    widget = review_apps.detect_widget(page, PRODUCT_URL)
    assert widget.app == "yotpo" and widget.first_url() is None and not widget.readable


def yotpo_body(page: int, per_page: int, total: int) -> bytes:
    reviews = [
        {
            "id": 1000 + i,
            "score": 4,
            "votes_up": 2,
            "content": "Helps &amp; holds",
            "title": "Good",
            "created_at": "2025-06-14T10:51:44.000Z",
            "verified_buyer": i % 2 == 0,
            "user": {"display_name": f"User {i}"},
        }
        for i in range((page - 1) * per_page, min(page * per_page, total))
    ]
    pagination = {"page": page, "per_page": per_page, "total": total}
    return body(
        {"status": {"code": 200}, "response": {"pagination": pagination, "reviews": reviews}}
    )


def test_yotpo_pages_to_the_end() -> None:
    widget = review_apps.detect_widget(YOTPO_PAGE, PRODUCT_URL)
    url, pages, reviews = widget.first_url(per_page=2), 0, []
    while url:
        page, per_page = pages + 1, 2
        result = review_apps.parse(yotpo_body(page, per_page, 5), url, PRODUCT_URL)
        reviews += result.reviews
        url, pages = result.next_url, page
    assert pages == 3 and len(reviews) == 5
    first = reviews[0]
    assert (first.author, first.rating, first.body, first.verified, first.helpful_votes) == (
        "User 0",
        4,
        "Helps & holds",
        True,
        2,
    )
    assert first.url == PRODUCT_URL and first.date == "2025-06-14T10:51:44.000Z"


def test_judgeme_reads_the_widget_html_inside_its_json() -> None:
    widget = review_apps.detect_widget(JUDGEME_PAGE, PRODUCT_URL)
    html = (
        '<div class="jdgm-rev-widg" data-number-of-reviews="3"><div class="jdgm-rev" '
        'data-review-id="r1" data-verified-buyer="true"><span class="jdgm-rev__rating" '
        'data-score="5"></span><span class="jdgm-rev__timestamp" data-content="2025-01-02 '
        '10:00:00 UTC"></span><span class="jdgm-rev__author">Ann B.</span><b class="jdgm-rev__'
        'title">Great</b><div class="jdgm-rev__body"><p>Works.</p></div><span class="jdgm-rev__'
        'thumb-count" data-count="3">3</span></div></div>'
    )
    url = widget.page_url(1, 1)
    result = review_apps.parse(body({"widget": html}), url, PRODUCT_URL)
    (review,) = result.reviews
    assert (review.review_id, review.author, review.rating, review.verified) == (
        "r1",
        "Ann B.",
        "5",
        True,
    )
    assert (review.title, review.body, review.helpful_votes) == ("Great", "Works.", "3")
    assert result.next_url == widget.page_url(2, 1) and result.total == 3


def test_okendo_follows_its_next_url_and_stamped_its_total() -> None:
    okendo = review_apps.detect_widget(OKENDO_PAGE, PRODUCT_URL)
    data = {
        "reviews": [
            {
                "reviewId": "u-1",
                "rating": 3,
                "title": "Fine",
                "body": "Okay belt",
                "dateCreated": "2024-05-01T00:00:00.000Z",
                "reviewer": {"displayName": "Sam", "isVerified": True},
            }
        ],
        "nextUrl": "/stores/x/products/shopify-555/reviews?lastEvaluated=abc",
    }
    result = review_apps.parse(body(data), okendo.first_url(), PRODUCT_URL)
    assert result.reviews[0].author == "Sam" and result.reviews[0].verified is True
    assert (
        result.next_url
        == "https://api.okendo.io/v1/stores/x/products/shopify-555/reviews?lastEvaluated=abc"
    )
    stamped = review_apps.detect_widget(STAMPED_PAGE, PRODUCT_URL)
    data = {
        "data": [
            {
                "id": 9,
                "author": "Kim",
                "reviewRating": 2,
                "reviewTitle": "Meh",
                "reviewMessage": "Broke",
                "reviewDate": "2024-02-02",
                "reviewVerifiedType": 1,
            }
        ],
        "total": 1,
    }
    result = review_apps.parse(body(data), stamped.page_url(1, 10), PRODUCT_URL)
    assert (result.reviews[0].author, result.reviews[0].rating, result.next_url) == ("Kim", 2, None)
    assert result.reviews[0].verified is True


@pytest.mark.parametrize("payload", [b"<html>Access denied</html>", b"[]", b"null"])
def test_an_app_answering_something_else_is_a_clear_error(payload) -> None:
    widget = review_apps.detect_widget(YOTPO_PAGE, PRODUCT_URL)
    with pytest.raises(ValueError, match="yotpo"):
        review_apps.parse(payload, widget.first_url(), PRODUCT_URL)


def test_a_url_that_is_no_apps_endpoint_is_refused() -> None:
    assert review_apps.endpoint_app(PRODUCT_URL) is None
    with pytest.raises(ValueError, match="not a review app's endpoint"):
        review_apps.parse(b"{}", PRODUCT_URL, PRODUCT_URL)


def test_a_product_with_reviews_points_at_its_reviews_and_pages_end_short() -> None:
    (page,) = woo_store_api.parse_products(200, body([product()]), STORE)
    assert page.review_page_urls == [woo_store_api.reviews_url(STORE, 34)]
    (none,) = woo_store_api.parse_products(200, body([product(review_count=0)]), STORE)
    assert none.review_page_urls == []
    first = woo_store_api.products_url(STORE, 1, per_page=2)
    assert woo_store_api.next_page_url(first, 2) == woo_store_api.products_url(STORE, 2, 2)
    assert woo_store_api.next_page_url(first, 1) is None
    assert woo_store_api.is_products_url(first) and not woo_store_api.is_reviews_url(first)


def test_markup_a_seller_typed_in_a_name_is_kept_as_text() -> None:
    payload = "Belt <script>alert(1)</script>"
    record = product(name=payload, brands=[{"name": '"><svg onload="x">'}])
    listing = woo_store_api.parse_products(200, body([record]), STORE)[0].listing
    assert listing.title == payload  # shown escaped on the site, never dropped or run
    assert listing.brand == '"><svg onload="x">'
