"""Walmart pages: the __NEXT_DATA__ product/reviews JSON, or loose itemprops on saved fragments."""

from __future__ import annotations

import json
import re

from parsel import Selector

from spiders.extract.generic import merge
from spiders.extract.markup import absolute, squash, text_of
from spiders.items import Listing, Review, ReviewPage
from spiders.sources.base import Page, Source

_MARKERS = re.compile(
    r'id=["\']__NEXT_DATA__["\'][^>]*>[^<]{0,200000}?"initialData"|class=["\'][^"\']*wm-item-number'
    r'|class=["\']prod-brandName|data-automation-id=["\']product-price'
)
_HINTS = ("__NEXT_DATA__", "wm-item-number", "prod-brandName", "data-automation-id=")

_NEXT_DATA = re.compile(r'<script[^>]+id=["\']__NEXT_DATA__["\'][^>]*>(.*?)</script>', re.S)
_ITEM_NUMBER = re.compile(r"Walmart\s*#\s*(\d+)")


def next_data(html: str) -> dict:
    """props.pageProps.initialData.data of the __NEXT_DATA__ script, or {}."""
    match = _NEXT_DATA.search(html)
    if not match:
        return {}
    try:
        payload = json.loads(match.group(1))
    except json.JSONDecodeError:
        return {}
    data = payload.get("props", {}).get("pageProps", {}).get("initialData", {}).get("data")
    return data if isinstance(data, dict) else {}


def _dig(value: object, *keys: str) -> object:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def parse_listing(sel: Selector, html: str, url: str) -> Listing:
    """Listing from __NEXT_DATA__ when present, else from the fragment's loose itemprops."""
    product = next_data(html).get("product")
    if isinstance(product, dict):
        return _listing_from_next_data(product, html, url)
    return _listing_from_fragment(sel, url)


def _listing_from_next_data(product: dict, html: str, url: str) -> Listing:
    price = _dig(product, "priceInfo", "currentPrice")
    was = _dig(product, "priceInfo", "wasPrice")
    path = _dig(product, "category", "path")
    category = (
        " > ".join(
            squash(step.get("name")) for step in path if isinstance(step, dict) and step.get("name")
        )
        if isinstance(path, list)
        else None
    )
    image = _dig(product, "imageInfo", "thumbnailUrl")
    return Listing(
        url=url,
        platform="walmart",
        title=squash(product.get("name")),
        brand=squash(product.get("brand")),
        price=_dig(price, "price") if isinstance(price, dict) else None,
        currency=squash(_dig(price, "currencyUnit")) if isinstance(price, dict) else None,
        list_price=_dig(was, "price") if isinstance(was, dict) else None,
        availability=squash(product.get("availabilityStatus")),
        rating=product.get("averageRating"),
        review_count=product.get("numberOfReviews"),
        gtin=squash(product.get("upc")),
        mpn=squash(product.get("model")),
        sku=squash(str(product["usItemId"])) if product.get("usItemId") is not None else None,
        category=category or None,
        description=squash(re.sub(r"<[^>]+>", " ", product.get("shortDescription") or "")),
        image_url=squash(image) if isinstance(image, str) else None,
    )


def _listing_from_fragment(sel: Selector, url: str) -> Listing:
    """Saved item-page fragments carry itemprops without a Product itemscope around them."""

    def prop(name: str) -> str | None:
        node = sel.css(f'[itemprop="{name}"]')
        if not node:
            return None
        attrs = node[0].attrib
        return squash(attrs.get("content") or attrs.get("href")) or text_of(node)

    item_number = _ITEM_NUMBER.search(text_of(sel.css(".wm-item-number")) or "")
    title = text_of(sel.css("h1.prod-ProductTitle")) or text_of(sel.css('h1[itemprop="name"]'))
    return Listing(
        url=url,
        platform="walmart",
        title=title,
        brand=text_of(sel.css('[itemprop="brand"]')),
        price=prop("price"),
        currency=prop("priceCurrency"),
        availability=prop("availability"),
        rating=prop("ratingValue"),
        review_count=prop("reviewCount"),
        gtin=prop("gtin13") or prop("gtin12") or prop("gtin"),
        sku=item_number.group(1) if item_number else prop("sku"),
    )


def parse_reviews(html: str, url: str) -> list[Review]:
    """customerReviews of the __NEXT_DATA__ reviews block."""
    block = next_data(html).get("reviews")
    if not isinstance(block, dict):
        return []
    reviews = []
    for entry in block.get("customerReviews") or []:
        if not isinstance(entry, dict):
            continue
        badges = entry.get("badges") or []
        reviews.append(
            Review(
                url=url,
                review_id=squash(str(entry["reviewId"]))
                if entry.get("reviewId") is not None
                else None,
                author=squash(entry.get("userNickname")),
                rating=entry.get("rating"),
                title=squash(entry.get("reviewTitle")),
                body=squash(entry.get("reviewText")),
                date=squash(entry.get("reviewSubmissionTime")),
                verified=any(
                    isinstance(b, dict) and b.get("id") == "VerifiedPurchaser" for b in badges
                ),
                helpful_votes=entry.get("positiveFeedback"),
                language="en",
            )
        )
    return reviews


def _next_reviews_url(html: str, url: str) -> str | None:
    return absolute(_dig(next_data(html).get("reviews"), "pagination", "next", "url"), url)


def review_page_urls(html: str, url: str) -> list[str]:
    """The next reviews page announced by the product page's reviews block."""
    next_url = _next_reviews_url(html, url)
    return [next_url] if next_url else []


def parse_review_page(sel: Selector, html: str, url: str) -> ReviewPage:
    """A Walmart reviews page (same __NEXT_DATA__ shape)."""
    data = next_data(html)
    block = data.get("reviews") if isinstance(data.get("reviews"), dict) else {}
    product = data.get("product") if isinstance(data.get("product"), dict) else {}
    return ReviewPage(
        reviews=parse_reviews(html, url),
        next_url=_next_reviews_url(html, url),
        rating=block.get("averageOverallRating"),
        total_ratings=block.get("totalReviewCount"),
        product_name=squash(product.get("name")),
    )


class Walmart(Source):
    """Walmart: the ``__NEXT_DATA__`` JSON of product and review pages."""

    name = "walmart"
    product_path = re.compile(r"/ip/(?:[^/?#]+/)?\d+")
    product_link_css = ('[data-item-id] a[href*="/ip/"]', 'a[href*="/ip/"]')
    next_page_css = (
        'a[aria-label="Next Page"]',
        'nav[aria-label="pagination"] a[data-testid="NextPage"]',
    )

    def detect(self, page: Page) -> bool:
        return page.has_any(_HINTS) and bool(_MARKERS.search(page.text))

    def parse_listing(self, page: Page) -> Listing:
        own = parse_listing(page.sel, page.text, page.url)
        return merge(super().parse_listing(page), own, prefer_second=True)

    def parse_reviews(self, page: Page) -> list[Review]:
        return parse_reviews(page.text, page.url) or super().parse_reviews(page)

    def review_page_urls(self, page: Page, listing: Listing) -> list[str]:
        return review_page_urls(page.text, page.url)

    def parse_review_page(self, page: Page) -> ReviewPage:
        return parse_review_page(page.sel, page.text, page.url)
