"""Review gating: a store whose reviews of a product hold far fewer low ratings than elsewhere.

A store that hosts its own reviews can hold back the bad ones. Its reviews of a product then
show fewer 1-3 star ratings than the same product's reviews at other stores, or none at all
past a volume where some are expected. Per product and store with enough rated reviews:

- when the product's other stores have ``gating_min_others`` rated reviews, the store's count
  of low ratings is compared with theirs by a one-sided Fisher exact test (the hypergeometric
  lower tail: how likely so few low ratings are if both drew from one pool);
- otherwise with a conservative base rate (``gating_base_rate``, a share of low ratings even
  well-liked products get) by a one-sided binomial test.

Only a store whose low share is at most ``gating_max_ratio`` of the reference is a candidate;
its p-value is multiplied by the number of the product's stores tested (Bonferroni), and the
smallest decides: Fail below ``fail_p``, Warn below ``warn_p``. On Fail the store's reviews of
that product are the flagged group (they count for less, as for the other tests).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from backrank.core.settings import TrustConfig

TEST = "review_gating"
OUTCOME_COLUMNS = (
    "product_id", "test", "product_reviews", "subset_size", "rated_subset", "rest_size",
    "subset_mean", "rest_mean", "p_value", "status", "share", "counted", "description",
)  # fmt: skip


def binomial_lower_tail(low: int, rated: int, rate: float) -> float:
    """P(X <= low) for X ~ Binomial(rated, rate), summed exactly in log space."""
    if rate <= 0.0:
        return 1.0
    if rate >= 1.0:
        return 1.0 if low >= rated else 0.0
    log_p, log_q = math.log(rate), math.log1p(-rate)
    head = math.lgamma(rated + 1)
    terms = [
        head - math.lgamma(j + 1) - math.lgamma(rated - j + 1) + j * log_p + (rated - j) * log_q
        for j in range(0, min(low, rated) + 1)
    ]
    return min(1.0, math.fsum(math.exp(t) for t in terms))


def _log_choose(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def fisher_lower_tail(low: int, rated: int, other_low: int, other_rated: int) -> float:
    """One-sided Fisher exact p: P(X <= low) for the store's low count X, given both margins
    (X is hypergeometric: ``rated`` draws from the pooled reviews of the product)."""
    pool = rated + other_rated
    pool_low = low + other_low
    first = max(0, rated - (pool - pool_low))
    whole = _log_choose(pool, rated)
    terms = [
        _log_choose(pool_low, j) + _log_choose(pool - pool_low, rated - j) - whole
        for j in range(first, low + 1)
    ]
    return min(1.0, math.fsum(math.exp(t) for t in terms))


def store_tallies(reviews: pd.DataFrame, config: TrustConfig) -> pd.DataFrame:
    """Per product and store: reviews, rated reviews, low ratings, rating sum; and the
    product's totals over all its stores (``prepare_reviews`` output with a ``store``)."""
    rating = reviews["rating"]
    frame = pd.DataFrame(
        {
            "product_id": reviews["product_id"],
            "store": reviews["store"].astype(object).where(reviews["store"].notna(), None),
            "reviews": 1,
            "rated": rating.notna().astype(int),
            "low": rating.le(config.gating_low_stars).astype(int),
            "stars": rating.fillna(0.0),
        }
    ).dropna(subset=["store"])
    tallies = frame.groupby(["product_id", "store"], sort=True).sum().reset_index()
    totals = tallies.groupby("product_id")[["reviews", "rated", "low", "stars"]].transform("sum")
    return tallies.join(totals.add_prefix("product_"))


def gating_outcomes(
    reviews: pd.DataFrame, tallies: pd.DataFrame, config: TrustConfig
) -> tuple[pd.DataFrame, pd.Series]:
    """``(outcomes, flagged)``: one report-card row per product (OUTCOME_COLUMNS) and, per
    review, True when it is at a store whose gating test warns or fails for its product
    (``tallies``: ``store_tallies`` of the same reviews)."""
    other_rated = tallies["product_rated"] - tallies["rated"]
    other_low = tallies["product_low"] - tallies["low"]
    tested = tallies["rated"] >= config.gating_min_reviews
    compare_stores = other_rated >= config.gating_min_others
    with np.errstate(divide="ignore", invalid="ignore"):
        own_share = tallies["low"] / tallies["rated"]
        reference = np.where(compare_stores, other_low / other_rated, config.gating_base_rate)
    candidate = tested & (reference > 0) & (own_share <= config.gating_max_ratio * reference)
    p_value = np.ones(len(tallies))
    for i in np.flatnonzero(candidate.to_numpy()):
        low, rated = int(tallies["low"].iat[i]), int(tallies["rated"].iat[i])
        if compare_stores.iat[i]:
            p_value[i] = fisher_lower_tail(
                low, rated, int(other_low.iat[i]), int(other_rated.iat[i])
            )
        else:
            p_value[i] = binomial_lower_tail(low, rated, config.gating_base_rate)
    stores_tested = tested.groupby(tallies["product_id"]).transform("sum").clip(lower=1)
    tallies = tallies.assign(
        tested=tested,
        compare_stores=compare_stores,
        own_share=own_share,
        reference=reference,
        p_value=np.where(tested, np.minimum(1.0, p_value * stores_tested), np.nan),
        other_rated=other_rated,
    )
    # the product's most suspicious store: smallest p, then lowest low share
    chosen = (
        tallies[tested]
        .sort_values(["product_id", "p_value", "own_share"])
        .drop_duplicates("product_id")
        .set_index("product_id")
    )
    products = pd.Index(reviews["product_id"].dropna().unique()).sort_values()
    chosen = chosen.reindex(products)
    counted = chosen["tested"].fillna(False).astype(bool)
    p = chosen["p_value"]
    status = np.select(
        [counted & (p < config.fail_p), counted & (p < config.warn_p)], ["Fail", "Warn"], "Pass"
    )
    product_reviews = reviews.groupby("product_id").size().reindex(products)
    with np.errstate(divide="ignore", invalid="ignore"):
        subset_mean = chosen["stars"] / chosen["rated"]
        rest_mean = (chosen["product_stars"] - chosen["stars"]) / chosen["other_rated"]
    outcomes = pd.DataFrame(
        {
            "product_id": products,
            "test": TEST,
            "product_reviews": product_reviews.to_numpy().astype(int),
            "subset_size": chosen["reviews"].fillna(0).to_numpy().astype(int),
            "rated_subset": chosen["rated"].fillna(0).to_numpy().astype(int),
            "rest_size": chosen["other_rated"].fillna(0).to_numpy().astype(int),
            "subset_mean": subset_mean.to_numpy(dtype=float),
            "rest_mean": rest_mean.where(chosen["other_rated"] > 0).to_numpy(dtype=float),
            "p_value": p.to_numpy(dtype=float),
            "status": status,
            "counted": counted.to_numpy(),
            "description": [
                _description(store, low, rated, ref, others)
                if ok
                else "reviews hosted by one store, tested for missing 1-3 star ratings"
                for store, low, rated, ref, others, ok in zip(
                    chosen["store"],
                    chosen["low"],
                    chosen["rated"],
                    chosen["reference"],
                    chosen["compare_stores"],
                    counted,
                    strict=True,
                )
            ],  # fmt: skip
        }
    )
    outcomes["share"] = outcomes["subset_size"] / outcomes["product_reviews"].where(
        outcomes["product_reviews"] > 0
    )
    gated = outcomes.loc[outcomes["status"].ne("Pass"), "product_id"]
    gated_store = chosen.loc[gated, "store"]
    flagged = pd.Series(
        pd.MultiIndex.from_arrays([reviews["product_id"], reviews["store"]]).isin(
            pd.MultiIndex.from_arrays([gated_store.index, gated_store.to_numpy()])
        ),
        index=reviews.index,
    )
    return outcomes[list(OUTCOME_COLUMNS)], flagged


def _description(store: str, low: float, rated: float, reference: float, others: bool) -> str:
    """What the test compared, in plain words."""
    against = (
        f"against {reference:.0%} of its reviews at other stores"
        if others
        else f"where at least {reference:.0%} would be expected of any product"
    )
    return (
        f"reviews hosted by {store}: {int(low)} of {int(rated)} ({low / rated:.0%}) rate it"
        f" 1-3 stars, {against}"
    )


def store_ratings(tallies: pd.DataFrame) -> dict[object, list[dict]]:
    """product_id -> one dict per store: its reviews, mean rating, low share and the mean
    rating of the product's reviews at the other stores (None when there are none), so a
    product page can show each store's rating beside the others' (``tallies``:
    ``store_tallies`` of the reviews)."""
    other_rated = tallies["product_rated"] - tallies["rated"]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = (tallies["stars"] / tallies["rated"]).where(tallies["rated"] > 0)
        others = ((tallies["product_stars"] - tallies["stars"]) / other_rated).where(
            other_rated > 0
        )
        low_share = (tallies["low"] / tallies["rated"]).where(tallies["rated"] > 0)
    ratings: dict[object, list[dict]] = {}
    for product_id, store, count, rating, low, other in zip(
        tallies["product_id"], tallies["store"], tallies["reviews"], mean, low_share, others,
        strict=True,
    ):  # fmt: skip
        ratings.setdefault(product_id, []).append(
            {
                "store": store,
                "reviews": int(count),
                "rating": _rounded(rating, 3),
                "low_share": _rounded(low, 4),
                "others_rating": _rounded(other, 3),
            }
        )
    return ratings


def _rounded(value: float, digits: int) -> float | None:
    return None if pd.isna(value) else round(float(value), digits)
