"""Per-review behavioural features for the suspicion score: pure, vectorised pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd

# The features, in the order the suspicion model (pipelines/trust/model.json) reads them.
# Only reviewer_id (or author), product_id, rating and date go in: never a review or reviewer
# id's order, and never a label.
FEATURES: tuple[str, ...] = (
    # reviewer: how much and how the reviewer reviews, inside the frame
    "log_reviewer_count",
    "reviewer_span_days",  # log1p days between the reviewer's first and last review
    "reviewer_active_days",  # log of distinct days with a review
    "reviewer_max_per_day",  # log of the most reviews in one day (MNR)
    "reviewer_rating_std",
    "reviewer_abs_deviation",  # mean |rating - product mean| over the reviewer's reviews
    "reviewer_extreme_share",  # share of 1 and 5 stars
    "reviewer_negative_share",  # share of 1 and 2 stars
    "reviewer_days_before",  # log1p days since the reviewer's first review
    "reviewer_days_after",  # log1p days until the reviewer's last review
    "reviewer_first_to_newest",  # log1p days from the reviewer's first review to the newest one
    "reviewer_last_to_newest",  # log1p days from the reviewer's last review to the newest one
    # the review against its product
    "rating",
    "signed_deviation",  # rating - mean of the product's other reviews
    "abs_deviation",
    "window_abs_deviation",  # |rating - mean of the product's other reviews within 90 days|
    "early_review",  # percentile of the date among the product's reviews
    "product_age_days",  # log1p days since the product's first review
    "product_days_to_newest",  # log1p days until the product's newest review
    # the review's age: log1p days until the newest review in the frame (the data's "now")
    "days_to_newest",
    # the product as a whole
    "log_product_size",
    "product_singleton_share",  # share of its reviews by one-review reviewers
    "product_rating_std",
    # the product's reviews around the same time (other reviews within 14 days)
    "nearby_singleton_share",
    "nearby_extreme_share",
    "nearby_rate_ratio",  # log of the local review rate over the product's mean rate
)

NEARBY_DAYS = 14
WINDOW_DAYS = 90


def leave_one_out_mean(values: pd.Series, groups: pd.Series) -> pd.Series:
    """Mean of the group without the row itself (NaN for a group of one)."""
    grouped = values.groupby(groups, sort=False)
    total = grouped.transform("sum")
    count = grouped.transform("count")
    others = count - values.notna().astype(int)
    return ((total - values.fillna(0.0)) / others.where(others > 0)).astype(float)


def day_numbers(date: pd.Series) -> pd.Series:
    """Days since 1970-01-01 as float (NaN for NaT)."""
    return ((date - pd.Timestamp("1970-01-01")).dt.days).astype(float)


class ProductDays:
    """Reviews sorted by (product, day): counts and sums over a +-days window, vectorised.

    One sorted int64 key per review (product code, day) and two binary searches per query;
    a window holds the review itself, so callers subtract it to get "the other reviews".
    """

    def __init__(self, product: pd.Series, day: pd.Series) -> None:
        code = product.astype("category").cat.codes.to_numpy().astype(np.int64)
        self.known = day.notna().to_numpy()
        self.key = code * 10_000_000 + day.fillna(0).to_numpy(dtype=np.int64)
        self.order = np.argsort(np.where(self.known, self.key, -1), kind="stable")
        self.sorted_key = np.where(self.known, self.key, -1)[self.order]

    def window_sum(self, values: np.ndarray, days: int) -> np.ndarray:
        """Sum of ``values`` (NaN counts as 0) over the product's reviews within +-days."""
        cumulative = np.r_[0.0, np.cumsum(np.nan_to_num(values[self.order]))]
        high = np.searchsorted(self.sorted_key, self.key + days, "right")
        low = np.searchsorted(self.sorted_key, self.key - days, "left")
        return np.where(self.known, cumulative[high] - cumulative[low], np.nan)


def behaviour_features(reviews: pd.DataFrame) -> pd.DataFrame:
    """One row per review, the FEATURES columns; NaN where an input is missing.

    ``reviews`` has ``reviewer_id`` (NaN when unknown), ``product_id``, ``rating`` (1-5, NaN
    when unknown) and ``date`` (datetime64, NaT when unknown). At each split the suspicion
    model sends a NaN the way the fit chose (where it saw NaN), else down the larger side.
    """
    rating = reviews["rating"].astype(float)
    product = reviews["product_id"]
    reviewer = reviews["reviewer_id"]
    known_reviewer = reviewer.notna().to_numpy()
    day = day_numbers(reviews["date"])
    rated = rating.notna().astype(float)

    deviation = rating - leave_one_out_mean(rating, product)
    extreme = rating.isin([1.0, 5.0]).astype(float).where(rating.notna())
    negative = rating.le(2.0).astype(float).where(rating.notna())

    per_reviewer = pd.DataFrame(
        {
            "reviewer": reviewer,
            "rating": rating,
            "abs_dev": deviation.abs(),
            "extreme": extreme,
            "negative": negative,
            "day": day,
        }
    ).groupby("reviewer", sort=False)
    count = per_reviewer["rating"].transform("size").astype(float)
    first = per_reviewer["day"].transform("min")
    last = per_reviewer["day"].transform("max")
    active_days = per_reviewer["day"].transform("nunique").astype(float)
    on_day = reviews.groupby([reviewer, day], sort=False, dropna=True)["rating"].transform("size")
    max_per_day = on_day.groupby(reviewer, sort=False).transform("max").astype(float)

    by_product_day = day.groupby(product, sort=False)
    newest = day.max()
    window = ProductDays(product, day)
    singleton = (count == 1).astype(float).to_numpy()
    others = window.window_sum(np.ones(len(day)), NEARBY_DAYS) - 1.0
    other_singletons = window.window_sum(singleton, NEARBY_DAYS) - singleton
    other_extremes = (
        window.window_sum(extreme.to_numpy(), NEARBY_DAYS) - extreme.fillna(0).to_numpy()
    )
    nearby = np.where(others > 0, others, np.nan)
    product_span = by_product_day.transform("max") - by_product_day.transform("min") + 1.0
    product_rate = product.groupby(product, sort=False).transform("size") / product_span
    local_rate = (others + 1.0) / (2 * NEARBY_DAYS + 1)
    window_count = window.window_sum(rated.to_numpy(), WINDOW_DAYS) - rated.to_numpy()
    window_total = window.window_sum(rating.to_numpy(), WINDOW_DAYS) - rating.fillna(0).to_numpy()
    window_mean = window_total / np.where(window_count > 0, window_count, np.nan)

    # each column computed in turn straight into one float block (26 columns of a million
    # reviews: 200 MB; a frame of them built and copied would hold two to three times that)
    column = {
        "log_reviewer_count": lambda: np.log(count),
        "reviewer_span_days": lambda: np.log1p(last - first),
        "reviewer_active_days": lambda: np.log(active_days.where(active_days > 0)),
        "reviewer_max_per_day": lambda: np.log(max_per_day),
        "reviewer_rating_std": lambda: (
            per_reviewer["rating"].transform("std").where(count > 1, 0.0)
        ),
        "reviewer_abs_deviation": lambda: per_reviewer["abs_dev"].transform("mean"),
        "reviewer_extreme_share": lambda: per_reviewer["extreme"].transform("mean"),
        "reviewer_negative_share": lambda: per_reviewer["negative"].transform("mean"),
        "reviewer_days_before": lambda: np.log1p(day - first),
        "reviewer_days_after": lambda: np.log1p(last - day),
        "reviewer_first_to_newest": lambda: np.log1p(newest - first),
        "reviewer_last_to_newest": lambda: np.log1p(newest - last),
        "rating": lambda: rating,
        "signed_deviation": lambda: deviation,
        "abs_deviation": lambda: deviation.abs(),
        "window_abs_deviation": lambda: np.abs(rating.to_numpy() - window_mean),
        "early_review": lambda: by_product_day.rank(method="average", pct=True),
        "product_age_days": lambda: np.log1p(day - by_product_day.transform("min")),
        "product_days_to_newest": lambda: np.log1p(by_product_day.transform("max") - day),
        "days_to_newest": lambda: np.log1p(newest - day),
        "log_product_size": lambda: np.log(product.groupby(product, sort=False).transform("size")),
        "product_singleton_share": lambda: (
            pd.Series(singleton, index=reviews.index).groupby(product, sort=False).transform("mean")
        ),
        "product_rating_std": lambda: rating.groupby(product, sort=False).transform("std"),
        "nearby_singleton_share": lambda: other_singletons / nearby,
        "nearby_extreme_share": lambda: other_extremes / nearby,
        "nearby_rate_ratio": lambda: np.log(local_rate / product_rate),
    }
    values = np.empty((len(reviews), len(FEATURES)), order="F")  # a column is contiguous
    for position, name in enumerate(FEATURES):
        values[:, position] = np.asarray(column[name](), dtype=float)
    # a review without a reviewer id has no reviewer history: unknown, not "one review"
    reviewer_columns = [
        i for i, name in enumerate(FEATURES) if name.startswith(("log_reviewer", "reviewer_"))
    ]
    values[np.ix_(~known_reviewer, reviewer_columns)] = np.nan
    if not known_reviewer.any():
        shares = [
            FEATURES.index(name) for name in ("nearby_singleton_share", "product_singleton_share")
        ]
        values[:, shares] = np.nan
    # float sums depend on row order in the last bits; rounded, a review's features (and so the
    # side of a split it falls on) do not, and no feature needs more than 10 decimals
    np.round(values, 10, out=values)
    return pd.DataFrame(values, index=reviews.index, columns=list(FEATURES), copy=False)
