"""Stores whose data is shown but never analysed (Amazon's, under its Associates rules).

Their listings still join products (so the site can offer the link), but their prices,
availability, page ratings and reviews feed no rating, trust grade, pros and cons, value
score, badge, price summary or chart. Which stores these are is decided by
``backrank.core.amazon_rules.amazon_stores``; scoring receives only their names.
"""

from __future__ import annotations

from collections.abc import Collection

import pandas as pd

# The offer columns a shown-only listing keeps empty for scoring.
ANALYSED_OFFER_COLUMNS = ("price", "availability", "rating", "review_count")
EMPTY = {"availability": "unknown"}  # what an emptied column holds; None for the rest


def of_other_stores(frame: pd.DataFrame, stores: Collection[str]) -> pd.DataFrame:
    """The rows of ``frame`` (offers, history or reviews) from any store but ``stores``."""
    if not stores or frame.empty:
        return frame
    return frame[~frame["store"].astype(str).isin(stores)].reset_index(drop=True)


def without_analysed_values(listings: pd.DataFrame, stores: Collection[str]) -> pd.DataFrame:
    """``listings`` with the price, availability and page rating of ``stores``' rows emptied
    (None, availability "unknown"), so the product's best price, stock and rating are the
    other stores' alone."""
    if not stores or listings.empty:
        return listings
    shown_only = listings["store"].astype(str).isin(stores).to_numpy()
    if not shown_only.any():
        return listings
    emptied = {
        column: listings[column].astype(object).where(~shown_only, EMPTY.get(column))
        for column in ANALYSED_OFFER_COLUMNS
    }
    return listings.assign(**emptied)


__all__ = ["ANALYSED_OFFER_COLUMNS", "of_other_stores", "without_analysed_values"]
