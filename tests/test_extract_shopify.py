"""Shopify: product JSON records (.js cents, .json units), JSON-LD pages and Judge.me reviews."""

from __future__ import annotations

import json
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest

from spiders import sources
from spiders.normalise import normalise_listing, normalise_review
from spiders.sources.shopify import parse_shopify_product_json

URL = "https://backshop.example/products/lumbar-stretcher"
REALPAGES = Path(
    os.environ.get("BACKRANK_REALPAGES")
    or Path(__file__).resolve().parent.parent.parent / "shared" / "realpages"
)

PRODUCT_JS = {  # /products/<handle>.js: prices are integer cents
    "id": 7001,
    "title": "Lumbar Stretcher",
    "handle": "lumbar-stretcher",
    "vendor": "SpineWell",
    "type": "Back stretchers",
    "available": True,
    "price": 3499,
    "variants": [
        {
            "id": 1,
            "title": "Blue",
            "price": 3999,
            "available": False,
            "sku": "LS-BLU",
            "barcode": "5901885533094",
        },
        {
            "id": 2,
            "title": "Black",
            "price": 3499,
            "available": True,
            "sku": "LS-BLK",
            "barcode": "4054278533728",
            "compare_at_price": 4499,
        },
    ],
}
PRODUCTS_JSON_RECORD = {  # products.json: prices are strings in units
    "id": 7001,
    "title": "Lumbar Stretcher",
    "handle": "lumbar-stretcher",
    "vendor": "SpineWell",
    "product_type": "Back stretchers",
    "variants": [{"id": 2, "price": "34.99", "available": True, "sku": "LS-BLK", "barcode": None}],
}

JUDGEME_PAGE = """<html lang="en"><head><script>var Shopify = Shopify || {}; Shopify.theme = {"name":"Dawn"};</script>
<script type="application/ld+json">{"@context":"http://schema.org/","@type":"Product","name":"Lumbar Stretcher",
"brand":{"@type":"Brand","name":"SpineWell"},"offers":[{"@type":"Offer","price":"34.99","priceCurrency":"USD",
"availability":"http://schema.org/InStock","sku":"LS-BLK"}]}</script>
<meta property="og:price:amount" content="34.99"><meta property="og:price:currency" content="USD">
</head><body>
<div class="jdgm-rev-widg" data-average-rating="4.50" data-number-of-reviews="27">
<div class="jdgm-rev jdgm-divider-top" data-review-id="a1b2c3" data-verified-buyer="true">
  <span class="jdgm-rev__rating" data-score="5"></span>
  <span class="jdgm-rev__timestamp" data-content="2024-05-02 14:21:09 UTC">05/02/2024</span>
  <span class="jdgm-rev__author">Robin K.</span>
  <b class="jdgm-rev__title">Helped my sciatica</b>
  <div class="jdgm-rev__body"><p>Use it every evening.</p></div>
  <span class="jdgm-rev__thumb-up"><span class="jdgm-rev__thumb-count">4</span></span></div>
<div class="jdgm-rev" data-review-id="d4e5f6" data-verified-buyer="false">
  <span class="jdgm-rev__rating" data-score="2"></span>
  <span class="jdgm-rev__timestamp" data-content="2023-12-24 09:00:00 UTC"></span>
  <span class="jdgm-rev__author">Sam</span><b class="jdgm-rev__title">Too hard</b>
  <div class="jdgm-rev__body"><p>Hurts.</p></div></div>
<div class="jdgm-paginate">
  <a class="jdgm-paginate__page jdgm-curt" data-page="1">1</a>
  <a class="jdgm-paginate__page" data-page="2" href="/products/lumbar-stretcher?page=2#judgeme">2</a>
  <a class="jdgm-paginate__page" data-page="3" href="/products/lumbar-stretcher?page=3#judgeme">3</a></div>
</div></body></html>"""


def test_product_js_cents_cheapest_available_variant() -> None:
    listing = normalise_listing(
        parse_shopify_product_json(PRODUCT_JS, URL + ".js"), currency_hint="USD"
    )
    assert (listing.title, listing.brand, listing.category) == (
        "Lumbar Stretcher",
        "SpineWell",
        "Back stretchers",
    )
    assert (listing.price, listing.list_price, listing.currency) == (
        Decimal("34.99"),
        Decimal("44.99"),
        "USD",
    )
    assert (listing.availability, listing.sku, listing.gtin) == (
        "in_stock",
        "LS-BLK",
        "4054278533728",
    )
    assert listing.canonical_url == "https://backshop.example/products/lumbar-stretcher"


def test_products_json_strings_are_units_and_wrapper_is_unwrapped() -> None:
    for record in (PRODUCTS_JSON_RECORD, {"product": PRODUCTS_JSON_RECORD}):
        listing = normalise_listing(parse_shopify_product_json(record, URL + ".json"))
        assert (listing.price, listing.sku, listing.gtin) == (Decimal("34.99"), "LS-BLK", None)


def test_sold_out_product_js() -> None:
    sold_out = {
        **PRODUCT_JS,
        "available": False,
        "variants": [{**v, "available": False} for v in PRODUCT_JS["variants"]],
    }
    listing = normalise_listing(parse_shopify_product_json(sold_out, URL))
    assert listing.availability == "out_of_stock" and listing.price == Decimal("34.99")


def test_page_with_judgeme_reviews() -> None:
    assert sources.detect(JUDGEME_PAGE).name == "shopify"
    page = sources.parse_product_page(JUDGEME_PAGE, URL)
    listing = normalise_listing(page.listing)
    assert (listing.platform, listing.brand, listing.price, listing.sku) == (
        "shopify",
        "SpineWell",
        Decimal("34.99"),
        "LS-BLK",
    )
    reviews = [normalise_review(r) for r in page.reviews]
    assert [(r.review_id, r.author, r.rating, r.title, r.date, r.verified) for r in reviews] == [
        ("a1b2c3", "Robin K.", 5.0, "Helped my sciatica", "2024-05-02", True),
        ("d4e5f6", "Sam", 2.0, "Too hard", "2023-12-24", False),
    ]
    assert reviews[0].body == "Use it every evening." and reviews[0].helpful_votes == 4
    assert page.review_page_urls == [
        "https://backshop.example/products/lumbar-stretcher?page=2#judgeme"
    ]


def test_judgeme_review_page_next_is_the_page_after_the_current_one() -> None:
    second = JUDGEME_PAGE.replace(
        'jdgm-paginate__page jdgm-curt" data-page="1">1',
        'jdgm-paginate__page" data-page="1" href="/products/lumbar-stretcher?page=1#judgeme">1',
    ).replace(
        'class="jdgm-paginate__page" data-page="2"',
        'class="jdgm-paginate__page jdgm-curt" data-page="2"',
    )
    page = sources.parse_review_page(second, URL + "?page=2")
    assert page.next_url == "https://backshop.example/products/lumbar-stretcher?page=3#judgeme"
    assert (page.rating, page.total_ratings, len(page.reviews)) == ("4.50", "27", 2)


def test_og_price_in_cents_is_not_trusted_over_json_ld() -> None:
    cents = JUDGEME_PAGE.replace('content="34.99"', 'content="3499"')
    assert normalise_listing(sources.parse_product_page(cents, URL).listing).price == Decimal(
        "34.99"
    )


def _js_object_to_json(source: str) -> str:
    """The saved record is a JS module (single quotes, bare keys): turn that literal into JSON."""
    body = source[source.index("{") : source.rindex("}") + 1]
    out, pos = [], 0
    token = re.compile(
        r"'((?:\\.|[^'\\])*)'|\"((?:\\.|[^\"\\])*)\"|([A-Za-z_$][\w$]*)(\s*:)|,(\s*[}\]])"
    )
    for match in token.finditer(body):
        out.append(body[pos : match.start()])
        if match.group(1) is not None:
            out.append(json.dumps(re.sub(r"\\(.)", r"\1", match.group(1))))
        elif match.group(2) is not None:
            out.append(match.group(0))
        elif match.group(3) is not None:
            out.append(json.dumps(match.group(3)) + match.group(4))
        else:
            out.append(match.group(5))
        pos = match.end()
    out.append(body[pos:])
    return "".join(out)


def test_real_shopify_product_record() -> None:
    path = REALPAGES / "json" / "shopify-kamik-snowbug3-product.js"
    if not path.exists():
        pytest.skip(f"no realpages at {REALPAGES}")
    record = json.loads(_js_object_to_json(path.read_text(encoding="utf-8")))
    listing = normalise_listing(
        parse_shopify_product_json(record, "https://shop.example/products/kamik-snowbug3-olive")
    )
    assert listing.title == "Kamik Snowbug 3 Winter Boot (Olive)"
    assert (listing.brand, listing.price, listing.availability) == (
        "Kamik",
        Decimal("51.99"),
        "in_stock",
    )
    assert listing.sku == "008153 OL sz5"
    assert listing.canonical_url == "https://shop.example/products/kamik-snowbug3-olive"
