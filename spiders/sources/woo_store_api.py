"""The WooCommerce Store API: the public, unauthenticated JSON of a WooCommerce store.

``/wp-json/wc/store/v1/products`` lists the products (paged with ``page`` / ``per_page``, the
page count in the ``X-WP-TotalPages`` header), ``/wp-json/wc/store/v1/products/reviews``
their approved reviews. Prices are strings in the currency's minor units
(``prices.price = "4999"`` with ``currency_minor_unit = 2`` is 49.99 in ``currency_code``);
a variable product's price is its cheapest variation's. These are pure functions from the
API's JSON to the spiders' items. A store that disabled the API answers 401/403/404 or a
page of HTML: ``StoreApiUnavailable`` says so, and the crawl reads its HTML pages instead.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from html import unescape
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from spiders.extract.markup import origin, squash
from spiders.items import Listing, ProductPage, Review

PRODUCTS_PATH = "/wp-json/wc/store/v1/products"
REVIEWS_PATH = "/wp-json/wc/store/v1/products/reviews"
PER_PAGE = 100  # the Store API's largest page
MAX_PAGES = 2_000  # 200k products or reviews; past that something loops
_TAGS = re.compile(r"<[^>]+>")


class StoreApiUnavailable(ValueError):
    """The store does not serve the Store API (status, or a body that is not its JSON)."""


def products_url(store_url: str, page: int = 1, per_page: int = PER_PAGE) -> str:
    """Page `page` of the store's products."""
    query = urlencode({"page": page, "per_page": per_page})
    return f"{origin(store_url)}{PRODUCTS_PATH}?{query}"


def reviews_url(store_url: str, product_id: int | str, page: int = 1, per_page: int = PER_PAGE):
    """Page `page` of one product's approved reviews, newest first."""
    query = urlencode(
        {
            "product_id": product_id,
            "page": page,
            "per_page": per_page,
            "orderby": "date_created",
            "order": "desc",
        }
    )
    return f"{origin(store_url)}{REVIEWS_PATH}?{query}"


def total_pages(header: bytes | str | None) -> int | None:
    """The ``X-WP-TotalPages`` header as a number; None when absent or not a number."""
    if isinstance(header, bytes):
        header = header.decode("latin-1")
    text = (header or "").strip()
    return int(text) if text.isdigit() else None


def check_available(status: int, body: str | bytes) -> list:
    """The JSON list a Store API collection answered; StoreApiUnavailable for anything else."""
    if status != 200:  # 401/403/404: switched off, behind a login, or no WooCommerce
        raise StoreApiUnavailable(f"the Store API answered {status}")
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
    except ValueError:
        head = text.lstrip()[:15].lower()
        kind = "HTML" if head.startswith(("<!doctype", "<html", "<")) else "not JSON"
        raise StoreApiUnavailable(f"the Store API answered {kind}") from None
    if not isinstance(data, list):
        raise StoreApiUnavailable("the Store API answered JSON that is not a list")
    return data


def minor_units(amount: object, prices: dict) -> Decimal | None:
    """``"4999"`` with ``currency_minor_unit`` 2 -> ``Decimal("49.99")``; None when empty."""
    if amount is None or isinstance(amount, bool):
        return None
    text = str(amount).strip()
    if not text:
        return None
    unit = prices.get("currency_minor_unit", 2)
    if isinstance(unit, bool) or not isinstance(unit, int) or not 0 <= unit <= 6:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if not value.is_finite() or value < 0:
        return None
    return value.scaleb(-unit).quantize(Decimal(1).scaleb(-unit))


def entity_text(text: object) -> str | None:
    """A name as the API gives it (entities encoded, ``&amp;``), decoded and squashed; any
    markup in it is the seller's text and stays (escaped wherever it is shown)."""
    return squash(unescape(text)) if isinstance(text, str) else None


def plain_text(html: object) -> str | None:
    """Text of an HTML fragment (tags dropped, entities decoded), squashed; None when empty."""
    if not isinstance(html, str):
        return None
    return squash(unescape(_TAGS.sub(" ", html)))


def parse_product(record: dict, store_url: str) -> ProductPage:
    """One Store API product as the spiders' listing (its reviews come from their endpoint).

    The listing's URL is the product's ``permalink``: the same URL its HTML page has, so a
    store keeps one listing whichever path read it.
    """
    prices = record.get("prices") if isinstance(record.get("prices"), dict) else {}
    price = minor_units(prices.get("price"), prices)
    regular = minor_units(prices.get("regular_price"), prices)
    url = record.get("permalink") if isinstance(record.get("permalink"), str) else None
    listing = Listing(
        url=url or origin(store_url) + f"/?p={record.get('id')}",
        platform="woocommerce",
        canonical_url=url,
        title=entity_text(record.get("name")),
        brand=_first_name(record.get("brands")),
        price=price,
        currency=squash(prices.get("currency_code")) if price is not None else None,
        list_price=regular
        if regular is not None and price is not None and regular > price
        else None,
        availability=_availability(record),
        rating=_rating(record),
        review_count=record.get("review_count") if _is_count(record.get("review_count")) else None,
        gtin=squash(record.get("global_unique_id")),
        sku=squash(record.get("sku")),
        category=_first_name(record.get("categories")),
        description=plain_text(record.get("short_description") or record.get("description")),
        image_url=_first_image(record.get("images")),
    )
    review_urls = []
    if record.get("id") is not None and record.get("review_count") != 0:
        review_urls.append(reviews_url(store_url, record["id"]))
    return ProductPage(listing=listing, review_page_urls=review_urls)


def is_products_url(url: str) -> bool:
    """Whether `url` is a page of the Store API's product list."""
    return urlsplit(url).path.rstrip("/") == PRODUCTS_PATH


def is_reviews_url(url: str) -> bool:
    """Whether `url` is a page of the Store API's reviews."""
    return urlsplit(url).path.rstrip("/") == REVIEWS_PATH


def next_page_url(url: str, shown: int) -> str | None:
    """The next page of a Store API collection, or None: a page shorter than ``per_page``
    is the last (the ``X-WP-TotalPages`` header says the same where the caller has it)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    page = int(query["page"]) if query.get("page", "").isdigit() else 1
    per_page = int(query["per_page"]) if query.get("per_page", "").isdigit() else 10
    if shown < per_page or page >= MAX_PAGES:
        return None
    query["page"] = str(page + 1)
    return urlunsplit(parts._replace(query=urlencode(query)))


def parse_products(status: int, body: str | bytes, store_url: str) -> list[ProductPage]:
    """Every product of one page of ``/wp-json/wc/store/v1/products`` (variations are inside
    their parent: the parent's price is the cheapest variation's)."""
    return [
        parse_product(record, store_url)
        for record in check_available(status, body)
        if isinstance(record, dict) and record.get("type") != "variation"
    ]


def parse_reviews(status: int, body: str | bytes, listing_url: str) -> list[Review]:
    """The approved reviews of one page of ``/wp-json/wc/store/v1/products/reviews``."""
    reviews = []
    for record in check_available(status, body):
        if not isinstance(record, dict):
            continue
        verified = record.get("verified")
        rating = record.get("rating")
        reviews.append(
            Review(
                url=listing_url,
                review_id=None if record.get("id") is None else str(record["id"]),
                author=entity_text(record.get("reviewer")),
                rating=rating if _is_count(rating) else None,
                body=plain_text(record.get("review")),
                date=squash(record.get("date_created_gmt") or record.get("date_created")),
                verified=verified if isinstance(verified, bool) else None,
            )
        )
    return reviews


def _availability(record: dict) -> str | None:
    stock = record.get("is_in_stock")
    if isinstance(stock, bool):
        return "in_stock" if stock else "out_of_stock"
    return None


def _rating(record: dict) -> float | None:
    if not _is_count(record.get("review_count")) or not record["review_count"]:
        return None  # "0" with no reviews is no rating, not a zero rating
    try:
        value = float(record.get("average_rating"))
    except (TypeError, ValueError):
        return None
    return value if 0 < value <= 5 else None


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _first_name(items: object) -> str | None:
    if isinstance(items, list) and items and isinstance(items[0], dict):
        return entity_text(items[0].get("name"))
    return None


def _first_image(images: object) -> str | None:
    if isinstance(images, list) and images and isinstance(images[0], dict):
        src = images[0].get("src")
        return src if isinstance(src, str) and src.startswith(("http://", "https://")) else None
    return None
