"""Typed items the spiders yield: one listing (a product offered by one store) and one review.

Extraction fills these with what the page says; values may still be raw text
(``price="8,33 €"``, ``availability="Only 2 left in stock"``, ``date="Reviewed in the
United States on July 1, 2024"``) until ``spiders.normalise`` turns them into typed values
(``Decimal``, ISO currency, ``in_stock``/``out_of_stock``/``unknown``, ISO date, 0-5 float).
Missing is ``None``: never ``0`` and never ``""``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(kw_only=True)
class Listing:
    """One product page of one store, as extracted (and later normalised)."""

    store: str | None = None  # catalog store name; the spider sets it
    url: str  # the URL fetched
    canonical_url: str | None = None  # the page's declared canonical URL, if any
    platform: str | None = None  # which extraction path read it: amazon, shopify, ...
    title: str | None = None
    brand: str | None = None
    price: Decimal | str | None = None
    currency: str | None = None  # ISO 4217 once normalised; a symbol or hint before
    list_price: Decimal | str | None = None  # the "was" price when on sale
    availability: str | None = None
    rating: float | str | None = None  # 0-5 once normalised
    review_count: int | str | None = None
    gtin: str | None = None
    mpn: str | None = None
    sku: str | None = None
    asin: str | None = None
    category: str | None = None  # breadcrumb / schema.org category, if the page gives one
    description: str | None = None
    image_url: str | None = None
    fetched_at: str | None = None  # ISO 8601 UTC; the spider sets it


@dataclass(kw_only=True)
class Review:
    """One customer review of one listing."""

    store: str | None = None
    url: str  # the listing URL the review belongs to (Listing.url of its product page)
    review_id: str | None = None  # the store's id; a content hash is used when absent
    author: str | None = None
    rating: float | str | None = None
    title: str | None = None
    body: str | None = None
    date: str | None = None  # ISO yyyy-mm-dd once normalised; raw text before
    verified: bool | None = None
    helpful_votes: int | str | None = None
    language: str | None = None  # page language hint for date parsing ("en", "de", ...)
    fetched_at: str | None = None


@dataclass(kw_only=True)
class ProductPage:
    """What one product page yields: its listing, the reviews shown on it, and where more are."""

    listing: Listing | None
    reviews: list[Review] = field(default_factory=list)
    review_page_urls: list[str] = field(default_factory=list)  # further review pages to fetch
    blocked: bool = False  # a robot-check / CAPTCHA page, never parsed as a product
    dropped_json_ld: int = 0  # JSON-LD blocks dropped as nested too deep (the rest was read)


@dataclass(kw_only=True)
class ReviewPage:
    """What one review page yields: its reviews, the next page, and the page's rating summary."""

    reviews: list[Review] = field(default_factory=list)
    next_url: str | None = None
    rating: float | str | None = None  # "4,7 su 5"
    total_ratings: int | str | None = None  # "5,849 global ratings"
    product_name: str | None = None
    asin: str | None = None
    blocked: bool = False
