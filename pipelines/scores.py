"""Product scores: rating histogram, Wilson lower bound, value for money and the weighted composite."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

# Composite weights when the catalog's [scoring.weights] table says nothing (normalised on use).
DEFAULT_WEIGHTS: dict[str, float] = {
    "rating": 0.35,
    "wilson": 0.2,
    "value": 0.2,
    "volume": 0.1,
    "trust": 0.15,
}
COMPONENT_LABELS: dict[str, str] = {
    "rating": "Adjusted rating",
    "wilson": "Share of 4-5 star reviews (lower bound)",
    "value": "Value for money",
    "volume": "Review volume",
    "trust": "Review trust grade",
}
# Trust grade as points on the 0-10 component scale (grades from pipelines.trust.judge).
GRADE_POINTS: dict[str, float] = {"A": 10.0, "B": 7.5, "C": 5.0, "D": 2.5, "F": 0.0}
STARS = ("1", "2", "3", "4", "5")
# A price this many doublings from the subcategory median counts as cheapest (-) or dearest (+).
VALUE_PRICE_SPAN = 1.0
# Share of the quality score the dearest product gives up in value_score.
VALUE_PRICE_WEIGHT = 0.5


def subcategory_of(products: pd.DataFrame) -> pd.Series:
    """Each product's subcategory slug (``subcategory``, else the ``category`` alias)."""
    if "subcategory" in products.columns:
        slug = products["subcategory"]
        if "category" in products.columns:
            slug = slug.where(slug.notna(), products["category"])
        return slug.astype(object)
    return products["category"].astype(object)


def scoring_weights(scoring_raw: Mapping[str, Any]) -> dict[str, float]:
    """Composite weights from the [scoring] table's ``weights`` sub-table, summing to 1.

    A key given there replaces its default; 0 drops a component. Unknown keys, negative or
    non-numeric weights, or all weights zero raise ValueError naming the problem.
    """
    table = scoring_raw.get("weights", {}) if scoring_raw else {}
    if not isinstance(table, Mapping):
        raise TypeError(f"[scoring.weights] must be a table, got {table!r}")
    weights = dict(DEFAULT_WEIGHTS)
    for key, value in table.items():
        if key not in DEFAULT_WEIGHTS:
            known = ", ".join(DEFAULT_WEIGHTS)
            raise ValueError(f"[scoring.weights] unknown weight {key!r} (known: {known})")
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ValueError(f"[scoring.weights] {key} must be a number, got {value!r}")
        if value < 0:
            raise ValueError(f"[scoring.weights] {key} must be >= 0, got {value!r}")
        weights[key] = float(value)
    total = sum(weights.values())
    if total <= 0:
        raise ValueError("[scoring.weights] at least one weight must be above 0")
    return {key: value / total for key, value in weights.items()}


def rating_histogram(reviews: pd.DataFrame) -> pd.DataFrame:
    """Per ``product_id`` of rated reviews: ``rating_histogram`` ({"1".."5": n}), ``positive``
    (4-5 stars) and ``total``. Ratings round to the nearest star (half up, 0 counts as 1);
    products without a rated review are absent."""
    columns = ["product_id", "rating_histogram", "positive", "total"]
    rating = pd.to_numeric(reviews["rating"], errors="coerce").astype(float)
    rated = reviews.loc[rating.notna(), ["product_id"]].assign(
        star=np.clip(np.floor(rating[rating.notna()] + 0.5), 1, 5).astype(int)
    )
    if rated.empty:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in columns})
    counts = (
        rated.groupby(["product_id", "star"]).size().unstack(fill_value=0)
        .reindex(columns=range(1, 6), fill_value=0)
    )  # fmt: skip
    histograms = [
        {star: int(n) for star, n in zip(STARS, row, strict=True)} for row in counts.to_numpy()
    ]
    return pd.DataFrame(
        {
            "product_id": counts.index.to_numpy(),
            "rating_histogram": pd.Series(histograms, dtype=object).to_numpy(),
            "positive": (counts[4] + counts[5]).to_numpy(dtype="int64"),
            "total": counts.sum(axis=1).to_numpy(dtype="int64"),
        }
    )


def wilson_lower_bound(positive: Any, total: Any, z: float = 1.96) -> Any:
    """Lower bound of the Wilson score interval for ``positive`` successes in ``total`` trials.

    Vectorised over scalars, arrays or Series (a Series keeps its index); NaN where ``total`` is
    0 or missing, since no reviews say nothing about the share.
    """
    p_count = np.asarray(positive, dtype=float)
    n = np.asarray(total, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = p_count / n
        z2 = z * z
        centre = share + z2 / (2 * n)
        margin = z * np.sqrt(share * (1 - share) / n + z2 / (4 * n * n))
        bound = (centre - margin) / (1 + z2 / n)
    bound = np.where(n > 0, np.clip(bound, 0.0, 1.0), np.nan)
    if isinstance(total, pd.Series):
        return pd.Series(bound, index=total.index, dtype="float64")
    return bound if bound.ndim else float(bound)


def add_rating_histogram(
    products: pd.DataFrame, histograms: pd.DataFrame, z: float = 1.96
) -> pd.DataFrame:
    """Add ``rating_histogram`` (None without stored reviews) and ``wilson_lower`` (NaN then)."""
    by_product = histograms.set_index("product_id")
    ids = products["product_id"]
    histogram = ids.map(by_product["rating_histogram"])
    positive = ids.map(by_product["positive"]).astype(float)
    total = ids.map(by_product["total"]).astype(float)
    return products.assign(
        rating_histogram=pd.Series(
            [h if isinstance(h, dict) else None for h in histogram], index=products.index,
            dtype=object,
        ),
        wilson_lower=wilson_lower_bound(positive, total, z),
    )  # fmt: skip


def quality_rating(products: pd.DataFrame) -> pd.Series:
    """The rating scores trust: ``trust_adjusted_rating`` where known, else ``adjusted_rating``."""
    adjusted = products["adjusted_rating"].astype(float)
    if "trust_adjusted_rating" not in products.columns:
        return adjusted
    trusted = pd.to_numeric(products["trust_adjusted_rating"], errors="coerce").astype(float)
    return trusted.where(trusted.notna(), adjusted)


def _float_prices(products: pd.DataFrame) -> pd.Series:
    """``best_price`` as float for ratios (never for money shown); NaN when missing."""
    return pd.Series(
        [math.nan if p is None or p is pd.NA else float(p) for p in products["best_price"]],
        index=products.index,
        dtype="float64",
    )


def price_position(products: pd.DataFrame) -> pd.Series:
    """0 (cheap) .. 1 (dear): price against its subcategory's median in the same currency.

    On a log scale: at the median 0.5; half the median or less 0; double or more 1. Unlike a
    percentile it weighs how much dearer a product is, and stays calm with two products.
    """
    price = _float_prices(products)
    price = price.where(price > 0)
    currency = (
        products["currency"]
        if "currency" in products.columns
        else pd.Series("", index=products.index)
    )
    groups = [subcategory_of(products).fillna(""), currency.fillna("").astype(str)]
    median = price.groupby(groups).transform("median")
    position = 0.5 + np.log2(price / median) / (2 * VALUE_PRICE_SPAN)
    return position.clip(0.0, 1.0)


def value_score(products: pd.DataFrame) -> pd.DataFrame:
    """Add ``value_score`` 0-10: quality (rating / 5) times a price factor within the subcategory.

    The factor is 1 for the cheapest and 1 - VALUE_PRICE_WEIGHT for the dearest (see
    price_position), so at equal quality cheaper is better and at equal price better rated is.
    NaN without a price or a rating.
    """
    quality = quality_rating(products).clip(0.0, 5.0) / 5.0
    factor = 1.0 - VALUE_PRICE_WEIGHT * price_position(products)
    return products.assign(value_score=(10.0 * quality * factor).astype("float64"))


def review_volume(products: pd.DataFrame) -> pd.Series:
    """0-10: log(1 + reviews) against the subcategory's most reviewed product; NaN when unknown."""
    count = pd.to_numeric(products["review_count"], errors="coerce").astype(float).clip(lower=0)
    logged = np.log1p(count)
    top = logged.groupby(subcategory_of(products).fillna("")).transform("max")
    volume = 10.0 * logged / top
    # Every product in the subcategory has 0 reviews: they all have the least volume there is.
    return volume.where(top > 0, 0.0).where(count.notna())


def score_components(products: pd.DataFrame) -> pd.DataFrame:
    """Each composite component on 0-10 (NaN when a product lacks it), one column per weight key."""
    components = pd.DataFrame(index=products.index)
    components["rating"] = (quality_rating(products).clip(0.0, 5.0) * 2.0).astype("float64")
    components["wilson"] = (
        products["wilson_lower"].astype(float) * 10.0
        if "wilson_lower" in products.columns
        else math.nan
    )
    components["value"] = (
        products["value_score"].astype(float)
        if "value_score" in products.columns
        else value_score(products)["value_score"]
    )
    components["volume"] = review_volume(products)
    components["trust"] = (
        products["trust_grade"].map(GRADE_POINTS).astype(float)
        if "trust_grade" in products.columns
        else math.nan
    )
    return components.astype("float64")


def composite_values(
    components: pd.DataFrame, weights: Mapping[str, float]
) -> tuple[pd.Series, pd.DataFrame]:
    """``(composite, effective weights)``: each product's weights renormalised over the
    components it has; composite NaN when it has none with weight."""
    keys = list(weights)
    values = components[keys].to_numpy(dtype=float)
    base = np.array([weights[k] for k in keys], dtype=float)
    present = ~np.isnan(values) & (base > 0)
    raw = np.where(present, base, 0.0)
    total = raw.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        effective = np.where(total > 0, raw / total, 0.0)
    composite = np.where(present, effective * values, 0.0).sum(axis=1)
    composite = np.where(total[:, 0] > 0, np.clip(composite, 0.0, 10.0), np.nan)
    return (
        pd.Series(composite, index=components.index, dtype="float64"),
        pd.DataFrame(effective, index=components.index, columns=keys),
    )


def composite_score(products: pd.DataFrame, weights: Mapping[str, float]) -> pd.DataFrame:
    """Add ``composite_score`` (0-10) and ``score_breakdown`` (a list per product).

    ``weights`` as from scoring_weights. A component a product lacks gets weight 0 and
    ``missing: True`` in its breakdown, and the others share its weight; the contributions
    sum to the composite. Breakdown entries: component, label, weight (effective), value
    (0-10 or None), contribution, configured_weight, missing.
    """
    unknown = [key for key in weights if key not in COMPONENT_LABELS]
    if unknown:
        raise ValueError(f"unknown score components: {', '.join(unknown)}")
    components = score_components(products)
    composite, effective = composite_values(components, weights)
    keys = list(weights)
    values = components[keys].to_numpy(dtype=float)
    shares = effective.to_numpy()
    breakdowns = []
    for row_values, row_weights in zip(values, shares, strict=True):
        breakdown = []
        for key, value, weight in zip(keys, row_values, row_weights, strict=True):
            missing = bool(math.isnan(value))
            breakdown.append(
                {
                    "component": key,
                    "label": COMPONENT_LABELS[key],
                    "weight": float(weight),
                    "value": None if missing else float(value),
                    "contribution": 0.0 if missing else float(weight * value),
                    "configured_weight": float(weights[key]),
                    "missing": missing,
                }
            )
        breakdowns.append(breakdown)
    return products.assign(
        composite_score=composite,
        score_breakdown=pd.Series(breakdowns, index=products.index, dtype=object),
    )


def composite_order(products: pd.DataFrame, composite: pd.Series) -> pd.Index:
    """Product index labels best first: composite, review count, name, product_id; unscored last."""
    order = pd.DataFrame(
        {
            "_score": composite.astype(float),
            "_reviews": pd.to_numeric(products["review_count"], errors="coerce")
            .astype(float)
            .fillna(0.0),
            "_name": products["name"].fillna("").astype(str).str.casefold(),
            "_id": products["product_id"].astype(str),
        },
        index=products.index,
    ).sort_values(
        ["_score", "_reviews", "_name", "_id"],
        ascending=[False, False, True, True],
        na_position="last",
        kind="mergesort",
    )
    return order.index


def rank_by_composite(products: pd.DataFrame) -> pd.DataFrame:
    """Set ``rank`` 1..n per subcategory by composite_order (replaces the rating rank)."""
    order = composite_order(products, products["composite_score"])
    subcategory = subcategory_of(products).fillna("")
    rank = subcategory.loc[order].groupby(subcategory.loc[order]).cumcount() + 1
    return products.assign(rank=rank.reindex(products.index).astype("int64"))


def score_products(
    products: pd.DataFrame,
    histograms: pd.DataFrame,
    weights: Mapping[str, float],
    z: float = 1.96,
) -> pd.DataFrame:
    """The scores stage: histogram and Wilson bound, value, composite and breakdown."""
    return (
        products.pipe(add_rating_histogram, histograms, z)
        .pipe(value_score)
        .pipe(composite_score, weights)
    )


__all__ = [
    "COMPONENT_LABELS",
    "DEFAULT_WEIGHTS",
    "GRADE_POINTS",
    "add_rating_histogram",
    "composite_order",
    "composite_score",
    "composite_values",
    "price_position",
    "quality_rating",
    "rank_by_composite",
    "rating_histogram",
    "review_volume",
    "score_components",
    "score_products",
    "scoring_weights",
    "subcategory_of",
    "value_score",
    "wilson_lower_bound",
]
