"""The Walmart-style demo store: product and review data only in the __NEXT_DATA__ JSON."""

from __future__ import annotations

import re
from html import escape

from backrank.marketplace.catalog import KINDS, XSS_IMAGE_URL, StoreListing, money
from backrank.marketplace.response import (
    Response,
    html_page,
    not_found,
    rendered_once,
    script_json,
    sitemap_index,
    text_response,
    xml_response,
)
from backrank.marketplace.reviews import GeneratedReview, page_count, reviews_page
from backrank.marketplace.storefront import StoreFront, page_number

STORE = "walmart"
DISALLOWED = "/account/"
REVIEWS_PER_PAGE = 10
RESULTS_PER_PAGE = 40
SITEMAP_CHUNK = 5000
BUILD_ID = "backrank-demo-build"
PRODUCT_PATH = re.compile(r"^/ip/(?:[^/]+/)?(\d+)/?$")
REVIEWS_PATH = re.compile(r"^/reviews/product/(\d+)/?$")
BROWSE_PATH = re.compile(r"^/browse/([a-z-]+)/?$")
SITEMAP_PATH = re.compile(r"^/sitemap_ip_(\d+)\.xml$")


def listing_path(listing: StoreListing) -> str:
    return f"/ip/{listing.slug}/{listing.key}"


class WalmartStore(StoreFront):
    """Routes Walmart-style paths to Next.js pages."""

    store = STORE
    listing_path = staticmethod(listing_path)
    sitemap_size = SITEMAP_CHUNK

    def route(self, path: str, query: dict[str, str]) -> Response:
        if match := PRODUCT_PATH.match(path):
            listing = self.by_key.get(match.group(1))
            return self.product_page(listing) if listing else not_found()
        if match := REVIEWS_PATH.match(path):
            listing = self.by_key.get(match.group(1))
            page = page_number(query.get("page", "1"))
            if listing is None or page is None:
                return not_found()
            return self.reviews_page(listing, page)
        if match := BROWSE_PATH.match(path):
            rows = self.by_category.get(match.group(1))
            page = page_number(query.get("page", "1"))
            return self.browse_page(match.group(1), rows, page) if rows and page else not_found()
        if path == "/robots.txt":
            return text_response(self.robots())
        if path == "/sitemap.xml":
            return xml_response(self.sitemap())
        if match := SITEMAP_PATH.match(path):
            text = self.sitemap_chunk(int(match.group(1)))
            return xml_response(text) if text else not_found()
        if path.startswith(DISALLOWED):
            return html_page("Sign in | Walmart", "<h1>Sign in or create your account</h1>")
        if path == "/":
            links = "".join(
                f'<li><a href="/browse/{k.category}">{k.category}</a></li>' for k in KINDS
            )
            return html_page("Walmart demo store", f"<h1>Back care</h1><ul>{links}</ul>")
        return not_found()

    def robots(self) -> str:
        return (
            f"User-agent: *\nDisallow: {DISALLOWED}\nDisallow: /cart\n\n"
            f"Sitemap: {self.base_url}/sitemap.xml\n"
        )

    @rendered_once
    def sitemap(self) -> str:
        chunks = self.sitemap_count()
        return sitemap_index([f"{self.base_url}/sitemap_ip_{n}.xml" for n in range(1, chunks + 1)])

    def _page(self, title: str, visible: str, page: str, query: dict, data: dict) -> Response:
        next_data = {
            "props": {"pageProps": {"initialData": {"data": data}}},
            "page": page,
            "query": query,
            "buildId": BUILD_ID,
            "isFallback": False,
        }
        header = (
            f'<header><a href="{DISALLOWED}login?vid=oaoh">Sign In</a> '
            f'<a href="{DISALLOWED}">Account</a></header>'
        )
        body = (
            f'<div id="__next">{header}<main>{visible}</main></div>'
            f'<script id="__NEXT_DATA__" type="application/json">{script_json(next_data)}'
            "</script>"
        )
        return html_page(title, body)

    def product_record(self, row: StoreListing) -> dict:
        product = row.product
        record = {
            "usItemId": row.key,
            "name": row.title,
            "brand": product.brand,
            "shortDescription": product.description(),
            "type": product.noun,
            "priceInfo": {
                "currentPrice": _price(row.price_cents),
                "wasPrice": _price(row.list_price_cents),
            },
            "availabilityStatus": "IN_STOCK" if row.in_stock else "OUT_OF_STOCK",
            "averageRating": row.rating,
            "numberOfReviews": row.review_count,
            "category": {
                "path": [
                    {"name": "Health"},
                    {"name": "Pain Relief"},
                    {"name": _category_name(product.category)},
                ]
            },
            "imageInfo": {
                "thumbnailUrl": XSS_IMAGE_URL
                if row.hostile
                else f"{self.base_url}/images/{row.key}.jpeg"
            },
        }
        if row.show_mpn:
            record["model"] = product.mpn
        if row.show_gtin:
            record["upc"] = product.upc
        return record

    def _reviews_data(self, row: StoreListing, page: int) -> dict:
        reviews = reviews_page(self.catalog.seed, row, page, REVIEWS_PER_PAGE)
        start = (page - 1) * REVIEWS_PER_PAGE
        pages = page_count(row, REVIEWS_PER_PAGE)
        nxt = (
            {"url": f"/reviews/product/{row.key}?page={page + 1}", "gpage": page + 1}
            if page < pages
            else None
        )
        span = f"{start + 1}-{start + len(reviews)}" if reviews else "0-0"
        return {
            "averageOverallRating": row.rating,
            "totalReviewCount": row.review_count,
            "roundedAverageOverallRating": row.rating,
            "customerReviews": [_review(review) for review in reviews],
            "pagination": {
                "currentSpan": span,
                "total": row.review_count,
                "next": nxt,
                "pages": [
                    {"num": n, "gpage": n}
                    for n in range(max(1, page - 2), min(pages, page + 2) + 1)
                ],
            },
        }

    def product_page(self, row: StoreListing) -> Response:
        visible = (
            f'<h1 id="main-title" class="lh-copy">{escape(row.title)}</h1>'
            f'<a href="/reviews/product/{row.key}">See all reviews</a>'
        )
        data = {"product": self.product_record(row), "reviews": self._reviews_data(row, 1)}
        return self._page(
            f"{row.title} - Walmart.com",
            visible,
            "/ip/[...seoItemId]",
            {"seoItemId": [row.slug, row.key]},
            data,
        )

    def reviews_page(self, row: StoreListing, page: int) -> Response:
        visible = f"<h1>Reviews for {escape(row.title)}</h1>"
        if page < page_count(row, REVIEWS_PER_PAGE):
            visible += f'<a href="/reviews/product/{row.key}?page={page + 1}">Next page</a>'
        data = {
            "product": {"usItemId": row.key, "name": row.title, "brand": row.product.brand},
            "reviews": self._reviews_data(row, page),
        }
        return self._page(
            f"Customer reviews for {row.title} - Walmart.com",
            visible,
            "/reviews/product/[itemId]",
            {"itemId": row.key, "page": str(page)},
            data,
        )

    def browse_page(self, category: str, rows: list[StoreListing], page: int) -> Response:
        shown = rows[(page - 1) * RESULTS_PER_PAGE : page * RESULTS_PER_PAGE]
        if page > 1 and not shown:
            return not_found()
        items = "".join(
            f'<div data-item-id="{row.key}" class="mb0 ph1"><a href="{listing_path(row)}">'
            f'<span class="w_iUH7">{escape(row.title)}</span></a>'
            + (
                f'<div data-automation-id="product-price">{money(row.price_cents)}</div>'
                if row.price_cents is not None
                else ""
            )
            + "</div>"
            for row in shown
        )
        more = ""
        if page * RESULTS_PER_PAGE < len(rows):
            more = f'<a aria-label="Next Page" href="/browse/{category}?page={page + 1}">Next</a>'
        return self._page(
            f"{_category_name(category)} - Walmart.com",
            f'<section data-testid="item-stack">{items}</section>{more}',
            "/browse/[...id]",
            {"id": [category], "page": str(page)},
            {
                "searchResult": {
                    "itemStacks": [
                        {
                            "count": len(rows),
                            "items": [
                                {
                                    "usItemId": row.key,
                                    "name": row.title,
                                    "canonicalUrl": listing_path(row),
                                }
                                for row in shown
                            ],
                        }
                    ]
                }
            },
        )


def _category_name(category: str) -> str:
    return category.replace("-", " ").title()


def _price(cents: int | None) -> dict | None:
    if cents is None:
        return None
    return {"price": cents / 100, "priceString": money(cents), "currencyUnit": "USD"}


def _review(review: GeneratedReview) -> dict:
    when = review.date
    return {
        "reviewId": str(review.number),
        "userNickname": review.author,
        "rating": review.rating,
        "reviewTitle": review.title,
        "reviewText": review.body,
        "reviewSubmissionTime": f"{when.month}/{when.day}/{when.year}",
        "badges": [{"id": "VerifiedPurchaser", "text": "Verified Purchase"}]
        if review.verified
        else [],
        "positiveFeedback": review.helpful_votes,
        "negativeFeedback": 0,
    }
