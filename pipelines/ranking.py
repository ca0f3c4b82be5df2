"""Rate, rank and price products: listing ratings, Bayesian average, ranks, best price."""

from __future__ import annotations

import pandas as pd


def listing_ratings(offers: pd.DataFrame, reviews: pd.DataFrame) -> pd.DataFrame:
    """Offers with ``rating``/``review_count`` filled from stored reviews where the page gave none.

    A page's own summary wins (it counts reviews we never fetched); a listing whose page showed
    a rating but no count takes the number of stored reviews as the count, else stays unweighted.
    """
    stored = (
        reviews.assign(rating=pd.to_numeric(reviews["rating"], errors="coerce"))
        .dropna(subset=["rating"])
        .groupby("listing_id")["rating"]
        .agg(stored_rating="mean", stored_count="count")
    )
    joined = offers.join(stored, on="listing_id")
    page_rating = pd.to_numeric(offers["rating"], errors="coerce").astype(float)
    page_count = pd.to_numeric(offers["review_count"], errors="coerce").astype(float)
    use_stored = page_rating.isna() & joined["stored_rating"].notna()
    rating = page_rating.where(~use_stored, joined["stored_rating"])
    count = page_count.where(~use_stored, joined["stored_count"])
    count = count.where(count.notna() | rating.isna(), joined["stored_count"])
    return offers.assign(rating=rating, review_count=count.astype("Float64").astype("Int64"))


def product_ratings(listings: pd.DataFrame) -> pd.DataFrame:
    """Per ``product_id``: ``rating`` (review-count-weighted mean of listing ratings) and
    ``review_count`` (reviews behind that rating; NA when no store gave a count)."""
    count = listings["review_count"].astype(float)
    weighted = listings["rating"].notna() & (count > 0)
    weight = count.where(weighted, 0.0)
    sums = (
        listings.assign(_weight=weight, _product=listings["rating"].fillna(0.0) * weight)
        .groupby("product_id", sort=True)[["_weight", "_product"]]
        .sum()
    )
    rating = (sums["_product"] / sums["_weight"]).where(sums["_weight"] > 0)
    # Unknown stays NA (never 0): the known counts when no listing had a rating to weigh.
    known = count.groupby(listings["product_id"], sort=True).sum(min_count=1)
    review_count = sums["_weight"].where(sums["_weight"] > 0, known)
    return pd.DataFrame(
        {"rating": rating, "review_count": review_count.round().astype("Int64")}
    ).reset_index()


def bayesian_average(products: pd.DataFrame, prior_strength: float) -> pd.DataFrame:
    """Add ``adjusted_rating`` = (C*m + n*r) / (C + n), m the category's review-weighted mean.

    C is ``prior_strength`` (in reviews), n a product's review count and r its rating. A
    product with no rating gets NaN, and so does one whose category has no rated product.
    """
    if prior_strength < 0:
        raise ValueError(f"prior_strength must be >= 0, got {prior_strength}")
    rating = products["rating"].astype(float)
    count = products["review_count"].astype(float)
    count = count.where(rating.notna() & (count > 0), 0.0)
    weighted = pd.DataFrame(
        {"category": products["category"], "n": count, "nr": rating.fillna(0.0) * count}
    )
    totals = weighted.groupby("category")[["n", "nr"]].transform("sum")
    prior = (totals["nr"] / totals["n"]).where(totals["n"] > 0)
    adjusted = (prior_strength * prior + count * rating) / (prior_strength + count)
    return products.assign(adjusted_rating=adjusted.where(count > 0).astype(float))


def rank_within_category(products: pd.DataFrame) -> pd.DataFrame:
    """Add ``rank`` 1..n per category: adjusted rating, review count, then name; unrated last."""
    order = products.assign(
        _adjusted=products["adjusted_rating"].astype(float),
        _reviews=products["review_count"].astype(float).fillna(0.0),
        _name=products["name"].fillna("").astype(str).str.casefold(),
    ).sort_values(
        ["category", "_adjusted", "_reviews", "_name", "product_id"],
        ascending=[True, False, False, True, True],
        na_position="last",
        kind="mergesort",
    )
    rank = order.groupby("category").cumcount() + 1
    return products.assign(rank=rank.reindex(products.index).astype("int64"))


def best_prices(listings: pd.DataFrame) -> pd.DataFrame:
    """Per ``product_id``: ``best_price`` (Decimal), ``currency``, ``best_store``.

    Only in-stock listings with a price count; when a product is sold in several currencies the
    one most of its priced listings use wins (ties: alphabetical), since prices in different
    currencies do not compare. A product with nothing in stock is absent.
    """
    priced = listings[
        (listings["availability"] == "in_stock")
        & listings["price"].notna()
        & listings["currency"].notna()
    ]
    columns = ["product_id", "best_price", "currency", "best_store"]
    if priced.empty:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in columns})
    main_currency = (
        priced.groupby(["product_id", "currency"])
        .size()
        .rename("n")
        .reset_index()
        .sort_values(["product_id", "n", "currency"], ascending=[True, False, True])
        .drop_duplicates("product_id")
        .set_index("product_id")["currency"]
    )
    same_currency = priced[priced["currency"] == priced["product_id"].map(main_currency)]
    # Decimal compares exactly; sort on it directly, never through float.
    cheapest = (
        same_currency.assign(_price=same_currency["price"].astype(object))
        .sort_values(["product_id", "_price", "store"], kind="mergesort")
        .drop_duplicates("product_id")
    )
    return pd.DataFrame(
        {
            "product_id": cheapest["product_id"].to_numpy(),
            "best_price": cheapest["price"].astype(object).to_numpy(),
            "currency": cheapest["currency"].to_numpy(),
            "best_store": cheapest["store"].to_numpy(),
        }
    )


def in_stock_anywhere(listings: pd.DataFrame) -> pd.Series:
    """Per ``product_id``: True when any listing is in stock."""
    return (listings["availability"] == "in_stock").groupby(listings["product_id"]).any()


__all__ = [
    "bayesian_average",
    "best_prices",
    "in_stock_anywhere",
    "listing_ratings",
    "product_ratings",
    "rank_within_category",
]
