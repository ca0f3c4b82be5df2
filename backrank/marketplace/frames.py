"""The marketplace's listings and reviews as frames, straight from its catalog, without a crawl."""

from __future__ import annotations

import pandas as pd

from backrank.marketplace.catalog import STORES, Catalog, StoreListing
from backrank.marketplace.reviews import review_at

LISTING_FRAME_COLUMNS = (
    "listing_id", "store", "url", "title", "brand", "price", "gtin", "mpn", "sku", "asin",
    "product_id",
)  # fmt: skip
REVIEW_FRAME_COLUMNS = (
    "store", "url", "review_id", "author", "rating", "title", "body", "date", "verified",
    "helpful_votes", "product_id", "brand", "pattern",
)  # fmt: skip


def listing_frame(truth: dict) -> pd.DataFrame:
    """Every listing as a crawl stores it (identifiers only where the page shows them).

    ``truth`` is ``Marketplace.truth()``; ``product_id`` is the ground truth, for scoring a
    matcher, and must not be given to one. Every demo page names its brand, so ``brand`` is
    the product's brand. As the crawl stores them: Shopify and WooCommerce show the model
    number only as the SKU (WooCommerce falls back to its post id), Walmart's SKU is its item id.
    """
    brands = {product["product_id"]: product["brand"] for product in truth["products"]}
    rows = [
        {
            "listing_id": number,
            "store": listing["store"],
            "url": listing["url"],
            "title": listing["title"],
            "brand": brands[listing["product_id"]],
            "price": listing["price"],
            "gtin": listing["gtin"],
            "mpn": listing["mpn"] if listing["store"] in ("amazon", "walmart") else None,
            "sku": listing.get("sku") or listing.get("item_id"),
            "asin": listing.get("asin"),
            "product_id": listing["product_id"],
        }
        for number, listing in enumerate(truth["listings"], start=1)
    ]
    return pd.DataFrame(rows, columns=list(LISTING_FRAME_COLUMNS)).astype(
        {column: object for column in LISTING_FRAME_COLUMNS if column != "listing_id"}
    )


def review_frame(catalog: Catalog, stores: tuple[str, ...] = STORES) -> pd.DataFrame:
    """Every review of the given stores' listings, with its listing's product, brand and pattern.

    ``pattern`` is the planted trust pattern a review belongs to (None for a natural review).
    Generates each review once; mind the size at large scales (about 100 per model).
    """
    rows = [
        _review_row(catalog.seed, listing, index)
        for store in stores
        for listing in catalog.listings[store]
        for index in range(listing.review_count)
    ]
    return pd.DataFrame(rows, columns=list(REVIEW_FRAME_COLUMNS))


def _review_row(seed: int, listing: StoreListing, index: int) -> dict:
    review = review_at(seed, listing, index)
    return {
        "store": listing.store,
        "url": listing.key,
        "review_id": review.review_id,
        "author": review.author,
        "rating": float(review.rating),
        "title": review.title,
        "body": review.body,
        "date": review.date.date().isoformat(),
        "verified": review.verified,
        "helpful_votes": review.helpful_votes,
        "product_id": listing.product.product_id,
        "brand": listing.product.brand,
        "pattern": listing.pattern if listing.is_planted(index) else None,
    }
