"""Shopify stores: product JSON records (.js / .json / products.json) and Judge.me review widgets."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, urlsplit, urlunsplit

from parsel import Selector

from spiders.extract.markup import absolute, squash, text_of
from spiders.items import Listing, Review, ReviewPage
from spiders.normalise import parse_price
from spiders.sources import review_apps
from spiders.sources.base import FeedPage, FeedRequest, Page, Source

if TYPE_CHECKING:
    from backrank.core.config import StoreConfig

_MARKERS = re.compile(
    r"Shopify\.theme|cdn\.shopify\.com|shopify-digital-wallet|\bjdgm-|Shopify\.shop\b"
)
_HINTS = ("Shopify.", "cdn.shopify.com", "shopify-digital-wallet", "jdgm-")
_COLLECTION_PREFIX = re.compile(r"^/collections/[^/]+(?=/products/)")

_ANALYTICS_META = re.compile(r"var meta\s*=\s*(\{.*?\});\s*(?:\n|for|window)", re.S)


def parse_shopify_product_json(data: dict, url: str) -> Listing:
    """Listing from a Shopify product record.

    ``/products/<handle>.js`` gives integer cents; ``.json`` / ``products.json`` give unit strings.
    ``{"product": {...}}`` wrappers are unwrapped. The cheapest available variant sets price/sku/barcode.
    """
    product = data.get("product", data) if isinstance(data, dict) else {}
    if not isinstance(product, dict):
        return Listing(url=url, platform="shopify")
    variants = [v for v in product.get("variants") or [] if isinstance(v, dict)]
    available = [v for v in variants if v.get("available") is True]
    priced = [v for v in (available or variants) if _variant_price(v) is not None]
    variant = min(priced, key=_variant_price) if priced else (variants[0] if variants else {})
    availability = None
    if "available" in product:
        availability = "in_stock" if product["available"] else "out_of_stock"
    elif any("available" in v for v in variants):
        availability = "in_stock" if available else "out_of_stock"
    compare_at = variant.get("compare_at_price")
    image = product.get("featured_image") or _first_image(product)
    handle = product.get("handle")
    return Listing(
        url=url,
        platform="shopify",
        canonical_url=absolute(f"/products/{handle}", url) if handle else None,
        title=squash(product.get("title")),
        brand=squash(product.get("vendor")),
        price=_variant_price(variant) if variant else None,
        list_price=_money(compare_at),
        availability=availability,
        gtin=squash(variant.get("barcode")) if variant else None,
        sku=squash(variant.get("sku")) if variant else None,
        category=squash(product.get("product_type") or product.get("type")),
        description=squash(
            re.sub(r"<[^>]+>", " ", product.get("body_html") or product.get("description") or "")
        ),
        image_url=absolute(image, url) if isinstance(image, str) else None,
    )


def _first_image(product: dict) -> str | None:
    images = product.get("images") or []
    if images and isinstance(images[0], dict):
        return images[0].get("src")
    return images[0] if images and isinstance(images[0], str) else None


def _money(value: object) -> Decimal | None:
    """Integers are cents (the .js shape); strings are units ("51.99")."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return (Decimal(value) / 100).quantize(Decimal("0.01"))
    return parse_price(value)


def _variant_price(variant: dict) -> Decimal | None:
    return _money(variant.get("price"))


def _analytics_product(sel: Selector) -> dict:
    """ShopifyAnalytics ``var meta = {"product": {...}}``: vendor and variant prices in cents."""
    for script in sel.css("script::text").getall():
        if "var meta" not in script:
            continue
        match = _ANALYTICS_META.search(script)
        if match:
            try:
                product = json.loads(match.group(1)).get("product")
            except json.JSONDecodeError:
                return {}
            return product if isinstance(product, dict) else {}
    return {}


def fix_listing(listing: Listing, sel: Selector) -> Listing:
    """Fill brand from the analytics vendor; undo an og price that a theme wrote in cents."""
    product = _analytics_product(sel)
    if listing.brand is None and product.get("vendor"):
        listing.brand = squash(product["vendor"])
    cents = [v.get("price") for v in product.get("variants") or [] if isinstance(v, dict)]
    price = parse_price(listing.price)
    if price is not None and cents and all(isinstance(c, int) for c in cents):
        in_units = {Decimal(c) / 100 for c in cents}
        # A theme that puts cents into product:price:amount shows 100x a real variant price.
        if price not in in_units and (price / 100).quantize(Decimal("0.01")) in in_units:
            listing.price = (price / 100).quantize(Decimal("0.01"))
    listing.platform = "shopify"
    return listing


def parse_reviews(sel: Selector, url: str) -> list[Review]:
    """Judge.me reviews: div.jdgm-rev blocks."""
    reviews = []
    for block in sel.css("div.jdgm-rev"):
        attrs = block.attrib
        verified = attrs.get("data-verified-buyer")
        thumbs = text_of(block.css(".jdgm-rev__thumb-up .jdgm-rev__thumb-count")) or squash(
            block.css(".jdgm-rev__thumb-count::text").get()
        )
        reviews.append(
            Review(
                url=url,
                review_id=squash(attrs.get("data-review-id")),
                author=text_of(block.css(".jdgm-rev__author")),
                rating=squash(block.css("span.jdgm-rev__rating::attr(data-score)").get()),
                title=text_of(block.css(".jdgm-rev__title")),
                body=text_of(block.css(".jdgm-rev__body")),
                date=squash(block.css("span.jdgm-rev__timestamp::attr(data-content)").get())
                or text_of(block.css("span.jdgm-rev__timestamp")),
                verified=None if verified is None else verified.strip().lower() == "true",
                helpful_votes=thumbs,
            )
        )
    return reviews


def review_page_urls(sel: Selector, url: str) -> list[str]:
    """The next Judge.me page after the current one."""
    next_url = _next_page(sel, url)
    return [next_url] if next_url else []


def _next_page(sel: Selector, url: str) -> str | None:
    pages = sel.css("a.jdgm-paginate__page, span.jdgm-paginate__page")
    for index, page in enumerate(pages):
        classes = page.attrib.get("class", "")
        if "jdgm-curt" in classes or page.attrib.get("aria-current"):
            for following in pages[index + 1 :]:
                href = following.attrib.get("href")
                if href:
                    return absolute(href, url)
            return None
    next_link = sel.css("a.jdgm-paginate__next-page::attr(href)").get()
    return absolute(next_link, url)


def parse_review_page(sel: Selector, url: str) -> ReviewPage:
    """A Judge.me reviews page: reviews, the next page, the widget's average and count."""
    widget = sel.css(".jdgm-rev-widg, .jdgm-widget")
    attrs = widget[0].attrib if widget else {}
    return ReviewPage(
        reviews=parse_reviews(sel, url),
        next_url=_next_page(sel, url),
        rating=squash(attrs.get("data-average-rating")),
        total_ratings=squash(attrs.get("data-number-of-reviews")),
    )


def products_json_url(url: str, page: int) -> str:
    """The ``/products.json`` page `page` of the Shopify store `url` belongs to."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/products.json", f"page={page}", ""))


def product_urls_in_products_json(data: object, url: str) -> list[str]:
    """Product page URLs for the handles in one ``/products.json`` page (empty at the end)."""
    products = data.get("products") if isinstance(data, dict) else None
    if not isinstance(products, list):
        raise ValueError(f"{url}: no 'products' list in products.json")  # noqa: TRY004 (bad data)
    parts = urlsplit(url)
    return [
        urlunsplit((parts.scheme, parts.netloc, f"/products/{product['handle']}", "", ""))
        for product in products
        if isinstance(product, dict) and product.get("handle")
    ]


class Shopify(Source):
    """Shopify stores: ``/products.json`` for discovery, Judge.me widgets for reviews."""

    name = "shopify"
    product_path = re.compile(r"/products/[^/?#.]+/?(?:[?#]|$)")
    product_link_css = ('a[href*="/products/"]',)
    next_page_css = (".pagination .next a", "a.pagination__item--prev ~ a.pagination__item--next")
    feed_name = "products_json"

    def detect(self, page: Page) -> bool:
        return page.has_any(_HINTS) and bool(_MARKERS.search(page.text))

    def canonical_product_url(self, parts: SplitResult) -> str | None:
        """``/products/<handle>``: a collection prefix is the same page, and the query only
        picks a variant or a tracker."""
        path = parts.path or "/"
        if "/products/" not in path:
            return None
        path = _COLLECTION_PREFIX.sub("", path)
        return urlunsplit((parts.scheme, parts.netloc, path, "", ""))

    def feed_requests(self, store: StoreConfig) -> list[FeedRequest]:
        first_pages = sorted({products_json_url(url, 1) for url in store.urls})
        return [FeedRequest(url=url) for url in first_pages]

    def parse_feed(self, page: Page, page_number: int) -> FeedPage:
        product_urls = product_urls_in_products_json(json.loads(page.text), page.url)
        # the spider's listing-page budget (spiders.budgets) ends a feed that never ends
        more = bool(product_urls)
        return FeedPage(
            product_urls=product_urls,
            next=FeedRequest(url=products_json_url(page.url, page_number + 1)) if more else None,
        )

    def parse_listing(self, page: Page) -> Listing:
        return fix_listing(super().parse_listing(page), page.sel)

    def parse_reviews(self, page: Page) -> list[Review]:
        if self._readable_widget(page) is not None:
            return []  # all of them come from the review app's endpoint, page by page
        return parse_reviews(page.sel, page.url) or super().parse_reviews(page)

    def review_page_urls(self, page: Page, listing: Listing) -> list[str]:
        widget = self._readable_widget(page)
        if widget is not None:
            return [widget.first_url()]
        return review_page_urls(page.sel, page.url)

    @staticmethod
    def _readable_widget(page: Page) -> review_apps.AppWidget | None:
        """The product page's review app when backrank reads its public endpoint."""
        widget = review_apps.detect_widget(page.text, page.url, page.sel)
        return widget if widget is not None and widget.readable else None

    def parse_review_page(self, page: Page) -> ReviewPage:
        review_page = parse_review_page(page.sel, page.url)
        return review_page if review_page.reviews else super().parse_review_page(page)
