"""Shopify stores: product JSON records (.js / .json / products.json) and Judge.me review widgets."""

from __future__ import annotations

import json
import re
from decimal import Decimal

from parsel import Selector

from spiders.extract.markup import absolute, squash, text_of
from spiders.items import Listing, Review, ReviewPage
from spiders.normalise import parse_price

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
