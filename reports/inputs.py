"""Per-product input keys: a cheap, vectorised digest of everything a product's views are made of."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from backrank.core import amazon_rules
from backrank.core.frames import OFFERS, REVIEWS

# What the views read of a review and of the price history (a review's other columns never show).
VIEWED_REVIEW_COLUMNS = list(
    REVIEWS.pick(
        "listing_id", "store", "title", "body", "rating", "date", "helpful_votes", "content_hash"
    )
)
VIEWED_HISTORY_COLUMNS = list(OFFERS.pick("listing_id", "store", "fetched_at", "price"))


def _column_hashes(column: pd.Series) -> np.ndarray:
    """uint64 per value; text hashes as is, nested values (lists, dicts, Decimal) by their repr."""
    if column.dtype == object and pd.api.types.infer_dtype(column, skipna=True) not in (
        "string",
        "empty",
    ):
        column = column.map(repr)
    return pd.util.hash_array(column.to_numpy(), categorize=False)


def row_hashes(frame: pd.DataFrame, columns: list[str] | None = None) -> pd.Series:
    """A uint64 per row from ``columns`` (every column by default, in name order)."""
    names = (
        sorted((str(c) for c in frame.columns), key=str)
        if columns is None
        else [c for c in columns if c in frame]
    )
    hashes = pd.DataFrame({name: _column_hashes(frame[name]) for name in names}, index=frame.index)
    if hashes.empty:
        return pd.Series(np.zeros(len(frame), dtype="uint64"), index=frame.index)
    return pd.util.hash_pandas_object(hashes, index=False)


def _per_listing(frame: pd.DataFrame | None, columns: list[str] | None = None) -> pd.Series:
    """The sum of each listing's row hashes (order-free; wraps around at 2**64)."""
    if frame is None or frame.empty or "listing_id" not in frame:
        return pd.Series(dtype="uint64")
    linked = frame[frame["listing_id"].notna()]
    hashes = row_hashes(linked, columns)
    return hashes.groupby(linked["listing_id"].astype("int64").to_numpy()).sum()


def offers_with_freshness(
    offers: pd.DataFrame, now: datetime, max_age_hours: float
) -> pd.DataFrame:
    """Offers plus whether each price is still current at ``now`` (by the site's age, and by
    Amazon's 24 hours, ``amazon_rules.max_age``): a page shows it differently."""
    if offers.empty or "fetched_at" not in offers:
        return offers.assign(
            price_current=pd.Series(dtype=bool), within_amazon_age=pd.Series(dtype=bool)
        )
    fetched = pd.to_datetime(offers["fetched_at"], utc=True, errors="coerce", format="ISO8601")
    age = pd.Timestamp(now) - fetched
    return offers.assign(
        price_current=(age <= timedelta(hours=max_age_hours)).fillna(False).astype(bool),
        within_amazon_age=(age <= amazon_rules.max_age(max_age_hours)).fillna(False).astype(bool),
    )


def product_input_keys(
    products: pd.DataFrame,
    product_listings: pd.DataFrame,
    offers: pd.DataFrame,
    reviews: pd.DataFrame,
    now: datetime,
    max_age_hours: float,
    offer_history: pd.DataFrame | None = None,
) -> dict[str, str]:
    """``product_id -> 16 hex digits`` that change when the product's row, its listings, their
    offers (and whether each price is still current), reviews or price history change."""
    if products.empty:
        return {}
    ids = products["product_id"].astype(str).to_numpy()
    by_product = pd.DataFrame(index=pd.Index(ids, name="product_id"))
    by_product["row"] = row_hashes(products).to_numpy()
    if len(product_listings):
        links = product_listings[product_listings["listing_id"].notna()]
        listing_ids = links["listing_id"].astype("int64").to_numpy()
        owners = links["product_id"].astype(str).to_numpy()
        parts = {
            "listings": pd.Series(listing_ids.astype("uint64"), index=listing_ids),
            "offers": _per_listing(offers_with_freshness(offers, now, max_age_hours)),
            "reviews": _per_listing(reviews, VIEWED_REVIEW_COLUMNS),
            "history": _per_listing(offer_history, VIEWED_HISTORY_COLUMNS),
        }
        for name, per_listing in parts.items():
            hashed = per_listing.reindex(listing_ids, fill_value=0).astype("uint64").to_numpy()
            summed = pd.Series(hashed, index=owners).groupby(level=0).sum()
            by_product[name] = summed.reindex(by_product.index, fill_value=0).astype("uint64")
    keys = pd.util.hash_pandas_object(by_product.fillna(0).astype("uint64"), index=True)
    return dict(zip(ids, (f"{int(k):016x}" for k in keys.to_numpy()), strict=True))
