"""Score stored offers and reviews into ranked products: the scoring stage, chained."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

import pandas as pd

from pipelines.categories import CategoryRuleLike, assign_category
from pipelines.grouping import group_listings
from pipelines.ranking import (
    bayesian_average,
    best_prices,
    in_stock_anywhere,
    listing_ratings,
    product_ratings,
    rank_within_category,
)

OFFER_COLUMNS = (
    "listing_id", "store", "url", "canonical_url", "title", "brand", "price", "currency",
    "availability", "rating", "review_count", "gtin", "mpn", "sku", "asin", "fetched_at",
    "category",
)  # fmt: skip
REVIEW_COLUMNS = (
    "listing_id", "store", "url", "review_id", "author", "rating", "title", "body", "date",
    "verified", "helpful_votes",
)  # fmt: skip
PRODUCT_COLUMNS = (
    "product_id", "name", "brand", "category", "listings", "best_price", "currency",
    "best_store", "in_stock", "rating", "review_count", "adjusted_rating", "rank",
)  # fmt: skip
PRODUCT_LISTING_COLUMNS = ("product_id", "listing_id")


class SchemaError(ValueError):
    """A frame handed to the scoring stage lacks columns it needs."""


def require_columns(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """Raise SchemaError naming every column of ``columns`` that ``frame`` lacks."""
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        raise SchemaError(f"{what} frame is missing columns: {', '.join(missing)}")


def as_decimal(value: object) -> Decimal | None:
    """A price as Decimal (from Decimal, str or int), None when missing or not a number."""
    if value is None or (not isinstance(value, str | Decimal) and pd.isna(value)):
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, float):
        raise TypeError(f"price {value!r} is a float; prices must be Decimal or decimal strings")
    try:
        price = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return price if price.is_finite() else None


def with_decimal_prices(offers: pd.DataFrame) -> pd.DataFrame:
    """Offers whose ``price`` is Decimal or None (object dtype): never NaN, never 0 for unknown."""
    prices = [as_decimal(value) for value in offers["price"]]
    return offers.assign(price=pd.Series(prices, index=offers.index, dtype=object))


def _clean(text: pd.Series) -> pd.Series:
    """Text with runs of whitespace collapsed; empty becomes NaN."""
    cleaned = [" ".join(value.split()) if isinstance(value, str) else "" for value in text]
    return pd.Series(cleaned, index=text.index, dtype=object).replace("", None)


def _most_common(listings: pd.DataFrame, column: str) -> pd.Series:
    """Per product, the most common clean value of ``column`` (ties: shortest, alphabetical)."""
    values = listings[["product_id"]].assign(value=_clean(listings[column])).dropna()
    if values.empty:
        return pd.Series(dtype=object)
    counts = values.groupby(["product_id", "value"]).size().rename("n").reset_index()
    counts = counts.assign(length=counts["value"].str.len()).sort_values(
        ["product_id", "n", "length", "value"], ascending=[True, False, True, True]
    )
    return counts.drop_duplicates("product_id").set_index("product_id")["value"]


def _display_name(title: str | None, brand: str | None, product_id: str) -> str:
    """The title, prefixed by the brand when the title does not name it."""
    if title is None:
        return brand or product_id
    if brand and brand.casefold() not in title.casefold():
        return f"{brand} {title}"
    return title


def product_names(listings: pd.DataFrame) -> pd.DataFrame:
    """Per product: ``name`` (its most common title, brand-prefixed when the title lacks it),
    ``brand``, ``listings`` count and ``category_text`` (all titles and breadcrumbs)."""
    products = pd.DataFrame({"product_id": sorted(listings["product_id"].unique())})
    titles = products["product_id"].map(_most_common(listings, "title")).astype(object)
    brands = products["product_id"].map(_most_common(listings, "brand")).astype(object)
    names = [
        _display_name(
            title if isinstance(title, str) else None,
            brand if isinstance(brand, str) else None,
            pid,
        )
        for title, brand, pid in zip(titles, brands, products["product_id"], strict=True)
    ]
    text = (
        listings.assign(
            _text=listings["title"].fillna("").astype(str)
            + " | "
            + listings["category"].fillna("").astype(str)
        )
        .groupby("product_id")["_text"]
        .agg(" | ".join)
    )
    return products.assign(
        name=pd.Series(names, index=products.index, dtype=object),
        brand=brands.where(brands.notna(), None),
        listings=products["product_id"].map(listings.groupby("product_id").size()).astype("int64"),
        category_text=products["product_id"].map(text),
    )


def score(
    offers: pd.DataFrame,
    reviews: pd.DataFrame,
    *,
    categories: Iterable[CategoryRuleLike],
    prior_strength: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(products, product_listings)`` from the latest offers and the stored reviews.

    products: one row per product with PRODUCT_COLUMNS; product_listings: PRODUCT_LISTING_COLUMNS.
    """
    require_columns(offers, OFFER_COLUMNS, "offers")
    require_columns(reviews, REVIEW_COLUMNS, "reviews")
    offers = offers.drop_duplicates("listing_id", keep="last").pipe(with_decimal_prices)
    membership = group_listings(offers)
    listings = (
        offers.merge(membership, on="listing_id", how="inner")
        .pipe(listing_ratings, reviews)
        .reset_index(drop=True)
    )
    if listings.empty:
        empty = {name: pd.Series(dtype=object) for name in PRODUCT_COLUMNS}
        return pd.DataFrame(empty), membership[list(PRODUCT_LISTING_COLUMNS)]

    products = (
        product_names(listings)
        .merge(product_ratings(listings), on="product_id", how="left")
        .merge(best_prices(listings), on="product_id", how="left")
        .pipe(assign_category, categories, text_column="category_text")
        .pipe(bayesian_average, prior_strength)
        .pipe(rank_within_category)
    )
    stocked = products["product_id"].map(in_stock_anywhere(listings)).fillna(False)
    products = products.assign(
        in_stock=stocked.astype(bool),
        best_price=[p if isinstance(p, Decimal) else None for p in products["best_price"]],
    ).sort_values(["category", "rank"], ignore_index=True)
    product_listings = membership[list(PRODUCT_LISTING_COLUMNS)].sort_values(
        ["product_id", "listing_id"], ignore_index=True
    )
    return products[list(PRODUCT_COLUMNS)], product_listings
