"""Per-review behavioural features for the suspicion score: pure, vectorised pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd

# Value a feature takes when its input is missing (no reviewer id, no date): the typical case,
# so a missing input neither raises nor lowers suspicion.
NEUTRAL: dict[str, float] = {
    "one_review": 0.0,
    "log_reviewer_count": 0.0,
    "extreme_rating": 0.0,
    "abs_deviation": 0.0,
    "signed_deviation": 0.0,
    "reviewer_abs_deviation": 0.0,
    "reviewer_extreme_share": 0.0,
    "reviewer_max_per_day": 0.0,
    "reviewer_span_days": 0.0,
    "early_review": 0.5,
    "product_age_days": 0.0,
    "burst_ratio": 0.0,
    "product_singleton_share": 0.0,
    "log_product_size": 0.0,
    "one_star": 0.0,
    "product_extreme_share": 0.0,
    "nearby_singletons": 0.0,
    "nearby_reviews": 0.0,
}


def leave_one_out_mean(values: pd.Series, groups: pd.Series) -> pd.Series:
    """Mean of the group without the row itself (NaN for a group of one)."""
    grouped = values.groupby(groups, sort=False)
    total = grouped.transform("sum")
    count = grouped.transform("count")
    others = count - values.notna().astype(int)
    return ((total - values.fillna(0.0)) / others.where(others > 0)).astype(float)


def daily_counts(reviews: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Reviews of the product on the review's day, and the product's median daily count."""
    day = reviews["date"].dt.normalize()
    on_day = reviews.groupby(["product_id", day], sort=False, dropna=False)["rating"].transform(
        "size"
    )
    on_day = on_day.where(day.notna())
    per_day = (
        reviews.assign(_day=day)
        .dropna(subset=["_day"])
        .groupby(["product_id", "_day"], sort=False)
        .size()
    )
    median = per_day.groupby(level="product_id", sort=False).median()
    return on_day.astype(float), reviews["product_id"].map(median).astype(float)


def nearby_counts(
    product: pd.Series, date: pd.Series, mask: pd.Series, days: int
) -> pd.Series:
    """Reviews of the same product within +-days of each review that satisfy ``mask``.

    Vectorised with one sorted key (product code, day) and two binary searches.
    """
    code = product.astype("category").cat.codes.to_numpy().astype(np.int64)
    day = (date - pd.Timestamp("1970-01-01")).dt.days
    known = day.notna().to_numpy()
    key = code * 1_000_000 + day.fillna(0).to_numpy(dtype=np.int64)
    chosen = np.sort(key[known & mask.to_numpy(dtype=bool)])
    count = np.searchsorted(chosen, key + days, "right") - np.searchsorted(chosen, key - days, "left")
    return pd.Series(count.astype(float), index=product.index).where(known)


def behaviour_features(reviews: pd.DataFrame) -> pd.DataFrame:
    """One row per review: the behavioural signals the suspicion score weighs.

    ``reviews`` has ``reviewer_id`` (NaN when unknown), ``product_id``, ``rating`` (1-5) and
    ``date`` (datetime64, NaT when unknown). Features whose input is missing take NEUTRAL.
    """
    rating = reviews["rating"].astype(float)
    product = reviews["product_id"]
    reviewer = reviews["reviewer_id"]
    known_reviewer = reviewer.notna()
    date = reviews["date"]

    reviewer_count = reviewer.groupby(reviewer, sort=False).transform("size").where(
        known_reviewer
    )
    deviation = rating - leave_one_out_mean(rating, product)
    extreme = rating.isin([1.0, 5.0]).astype(float).where(rating.notna())

    by_reviewer = pd.DataFrame(
        {"reviewer": reviewer, "abs_dev": deviation.abs(), "extreme": extreme, "date": date}
    ).groupby("reviewer", sort=False)
    reviewer_abs_dev = by_reviewer["abs_dev"].transform("mean")
    reviewer_extreme = by_reviewer["extreme"].transform("mean")
    span = (by_reviewer["date"].transform("max") - by_reviewer["date"].transform("min")).dt.days
    per_day = reviews.groupby([reviewer, date.dt.normalize()], sort=False, dropna=True)[
        "rating"
    ].transform("size")
    max_per_day = per_day.groupby(reviewer, sort=False).transform("max")

    product_size = product.groupby(product, sort=False).transform("size").astype(float)
    by_product_date = date.groupby(product, sort=False)
    early = by_product_date.rank(method="average", pct=True)
    age = (date - by_product_date.transform("min")).dt.days
    on_day, median_day = daily_counts(reviews)
    singleton = (reviewer_count == 1).astype(float).where(known_reviewer)
    singleton_share = singleton.groupby(product, sort=False).transform("mean")
    extreme_share = extreme.groupby(product, sort=False).transform("mean")
    nearby_singletons = nearby_counts(product, date, singleton.eq(1.0), 7)
    nearby_reviews = nearby_counts(product, date, pd.Series(True, index=product.index), 7)

    features = pd.DataFrame(
        {
            "one_review": singleton,
            "log_reviewer_count": np.log(reviewer_count.astype(float)),
            "extreme_rating": extreme,
            "abs_deviation": deviation.abs(),
            "signed_deviation": deviation,
            "reviewer_abs_deviation": reviewer_abs_dev,
            "reviewer_extreme_share": reviewer_extreme,
            "reviewer_max_per_day": np.log(max_per_day.astype(float)),
            "reviewer_span_days": np.log1p(span.astype(float)),
            "early_review": early.astype(float),
            "product_age_days": np.log1p(age.astype(float)),
            "burst_ratio": np.log(on_day / median_day),
            "product_singleton_share": singleton_share,
            "log_product_size": np.log(product_size),
            "one_star": rating.eq(1.0).astype(float).where(rating.notna()),
            "product_extreme_share": extreme_share,
            "nearby_singletons": np.log1p(nearby_singletons),
            "nearby_reviews": np.log1p(nearby_reviews),
        },
        index=reviews.index,
    )
    return features.fillna(NEUTRAL)
