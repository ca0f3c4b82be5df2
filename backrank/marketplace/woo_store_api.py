"""The WooCommerce Store API of the demo WooCommerce store (``/wp-json/wc/store/v1/...``).

The shapes are WooCommerce's own: prices in minor units as strings with ``currency_code`` and
``currency_minor_unit``, ``X-WP-Total`` / ``X-WP-TotalPages`` headers on every collection, and
approved reviews with ``reviewer``, ``rating``, ``verified`` and the review text as HTML.
Every third listing (index 1, 4, 7, ...) is a variable product with two colour variations,
whose ids are the post ids after the parent's; its price is the cheaper variation's, which is
the price its product page shows. A store can switch the API off (as the "Disable REST API"
plugins do): every ``/wp-json/`` path then answers 401.
"""

from __future__ import annotations

import re
from html import escape

from backrank.marketplace.catalog import COLORS, StoreListing
from backrank.marketplace.response import Response, json_response
from backrank.marketplace.reviews import GeneratedReview, review_at
from backrank.marketplace.storefront import page_number

PREFIX = "/wp-json/wc/store/v1"
PRODUCTS_PATH = f"{PREFIX}/products"
REVIEWS_PATH = f"{PREFIX}/products/reviews"
PRODUCT_PATH = re.compile(rf"^{PREFIX}/products/(\d+)/?$")
DEFAULT_PER_PAGE = 10
MAX_PER_PAGE = 100  # WooCommerce refuses more
VARIATION_STEP_CENTS = 1_500  # the second colour costs this much more
CURRENCY = {
    "currency_code": "USD",
    "currency_symbol": "$",
    "currency_minor_unit": 2,
    "currency_decimal_separator": ".",
    "currency_thousand_separator": ",",
    "currency_prefix": "$",
    "currency_suffix": "",
}
DISABLED = {
    "code": "rest_login_required",
    "message": "REST API restricted to authenticated users.",
    "data": {"status": 401},
}


def is_variable(row: StoreListing) -> bool:
    """Whether the listing is a variable product (two colours) in the Store API."""
    return row.index % 3 == 1


def variation_ids(row: StoreListing) -> list[int]:
    """The variation post ids of a variable listing (none for a simple one)."""
    return [row.number_id + 1, row.number_id + 2] if is_variable(row) else []


def variation_colors(row: StoreListing) -> list[str]:
    other = COLORS[(COLORS.index(row.product.color) + 1) % len(COLORS)]
    return [row.product.color, other]


def variation_price_cents(row: StoreListing, position: int) -> int | None:
    """The price of variation `position` (0 = the cheaper one, the listing's own price)."""
    if row.price_cents is None:
        return None
    return row.price_cents + position * VARIATION_STEP_CENTS


class StoreApi:
    """Answers the Store API paths of one WooCommerce store."""

    def __init__(self, store) -> None:
        self.store = store  # the WooCommerceStore: listings, URLs, images, seed
        self.by_id: dict[int, tuple[StoreListing, int | None]] = {}
        for row in store.listings:
            self.by_id[row.number_id] = (row, None)
            for position, variation in enumerate(variation_ids(row)):
                self.by_id[variation] = (row, position)

    def route(self, path: str, query: dict[str, str], enabled: bool) -> Response | None:
        """The answer to a ``/wp-json/`` path; None for any other path."""
        if not path.startswith("/wp-json"):
            return None
        if not enabled:
            return json_response(DISABLED, status=401)
        if path.rstrip("/") == PRODUCTS_PATH:
            listed = [row for row in self.store.listings if not self.store.delisted(row)]
            return self._collection([self.product(row) for row in listed], query, DEFAULT_PER_PAGE)
        if path.rstrip("/") == REVIEWS_PATH:
            return self.reviews(query)
        if match := PRODUCT_PATH.match(path):
            found = self.by_id.get(int(match.group(1)))
            if found is None:
                return _error(404, "woocommerce_rest_product_invalid_id", "Invalid product ID.")
            row, position = found
            return json_response(
                self.product(row) if position is None else self.variation(row, position)
            )
        return _error(
            404, "rest_no_route", "No route was found matching the URL and request method."
        )

    def _collection(self, items: list, query: dict[str, str], default: int) -> Response:
        page = page_number(query.get("page", "1"))
        per_page = page_number(query.get("per_page", str(default)))
        if page is None or per_page is None or per_page > MAX_PER_PAGE:
            return _error(400, "rest_invalid_param", "Invalid parameter(s): page, per_page")
        pages = -(-len(items) // per_page)
        shown = items[(page - 1) * per_page : page * per_page]
        return json_response(
            shown, headers=(("X-WP-Total", str(len(items))), ("X-WP-TotalPages", str(pages)))
        )

    def _prices(self, cents: int | None, list_cents: int | None) -> dict:
        price = "" if cents is None else str(cents)
        regular = price if list_cents is None else str(list_cents)
        return {"price": price, "regular_price": regular, "sale_price": price, **CURRENCY}

    def product(self, row: StoreListing) -> dict:
        """A product as ``/wp-json/wc/store/v1/products`` lists it."""
        product = row.product
        url = self.store.url(row)
        prices = self._prices(row.price_cents, row.list_price_cents)
        variations = []
        if is_variable(row):
            prices["price_range"] = (
                None
                if row.price_cents is None
                else {
                    "min_amount": str(variation_price_cents(row, 0)),
                    "max_amount": str(variation_price_cents(row, 1)),
                }
            )
            variations = [
                {"id": vid, "attributes": [{"name": "Color", "value": color.lower()}]}
                for vid, color in zip(variation_ids(row), variation_colors(row))
            ]
        else:
            prices["price_range"] = None
        record = {
            "id": row.number_id,
            "name": row.title,
            "slug": row.key,
            "parent": 0,
            "type": "variable" if is_variable(row) else "simple",
            "variation": "",
            "permalink": url,
            "sku": product.mpn if row.show_mpn else "",
            "short_description": f"<p>{escape(product.description())}</p>",
            "description": f"<p>{escape(product.description())}</p>",
            "on_sale": row.list_price_cents is not None,
            "prices": prices,
            "price_html": "",
            "average_rating": f"{row.rating or 0:.2f}",
            "review_count": row.review_count,
            "images": [
                {
                    "id": row.number_id + 50_000,
                    "src": self.store._image(row),
                    "name": row.key,
                    "alt": "",
                }
            ],
            "categories": [
                {
                    "id": 15 + [k for k in self.store.by_category].index(product.category),
                    "name": product.category,
                    "slug": product.category,
                    "link": f"{self.store.base_url}/product-category/{product.category}/",
                }
            ],
            "tags": [],
            "brands": [{"id": 7, "name": product.brand, "slug": product.brand.lower()}],
            "attributes": [],
            "variations": variations,
            "has_options": is_variable(row),
            "is_purchasable": row.price_cents is not None,
            "is_in_stock": row.in_stock,
            "is_on_backorder": False,
            "low_stock_remaining": None,
            "sold_individually": False,
            "add_to_cart": {"text": "Add to cart" if row.in_stock else "Read more"},
            "extensions": {},
        }
        if row.show_gtin:
            record["global_unique_id"] = product.gtin  # WooCommerce 9.2's GTIN/UPC/EAN/ISBN field
        return record

    def variation(self, row: StoreListing, position: int) -> dict:
        """One variation as ``/wp-json/wc/store/v1/products/<variation id>`` gives it."""
        record = self.product(row)
        cents = variation_price_cents(row, position)
        color = variation_colors(row)[position]
        list_cents = row.list_price_cents
        if list_cents is not None and cents is not None:
            list_cents += position * VARIATION_STEP_CENTS
        record.update(
            id=variation_ids(row)[position],
            parent=row.number_id,
            type="variation",
            variation=f"Color: {color}",
            name=f"{row.title} - {color}",
            prices={**self._prices(cents, list_cents), "price_range": None},
            variations=[],
            has_options=False,
        )
        return record

    def reviews(self, query: dict[str, str]) -> Response:
        """Approved reviews, newest first, of the listings ``product_id`` names (else all)."""
        wanted = query.get("product_id")
        if wanted:
            ids = [int(part) for part in wanted.split(",") if part.strip().isdigit()]
            rows = [self.by_id[i][0] for i in ids if i in self.by_id and self.by_id[i][1] is None]
        else:
            rows = list(self.store.listings)
        page = page_number(query.get("page", "1"))
        per_page = page_number(query.get("per_page", str(DEFAULT_PER_PAGE)))
        if page is None or per_page is None or per_page > MAX_PER_PAGE:
            return _error(400, "rest_invalid_param", "Invalid parameter(s): page, per_page")
        # (row, index) pairs in order, without generating reviews outside the page
        total = sum(row.review_count for row in rows)
        start, stop = (page - 1) * per_page, min(page * per_page, total)
        shown: list[dict] = []
        offset = 0
        for row in rows:
            first, last = max(start - offset, 0), min(stop - offset, row.review_count)
            for index in range(first, last):
                shown.append(self.review(row, review_at(self.store.catalog.seed, row, index)))
            offset += row.review_count
            if offset >= stop:
                break
        pages = -(-total // per_page)
        return json_response(
            shown, headers=(("X-WP-Total", str(total)), ("X-WP-TotalPages", str(pages)))
        )

    def review(self, row: StoreListing, review: GeneratedReview) -> dict:
        stamp = review.date.isoformat(timespec="seconds")
        return {
            "id": review.number,
            "date_created": stamp,
            "formatted_date_created": f"{review.date:%B} {review.date.day}, {review.date.year}",
            "date_created_gmt": stamp,
            "product_id": row.number_id,
            "product_name": row.title,
            "product_permalink": self.store.url(row),
            "reviewer": review.author,
            "review": f"<p>{escape(review.body)}</p>\n",
            "rating": review.rating,
            "verified": review.verified,
            "reviewer_avatar_urls": {},
        }


def _error(status: int, code: str, message: str) -> Response:
    return json_response({"code": code, "message": message, "data": {"status": status}}, status)
