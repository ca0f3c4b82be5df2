"""Trust per product in a scoring run: judging a run's changed products, trusted ratings."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from backrank.core.settings import TrustConfig
from pipelines.trust.judge import judge_reviews


def trust_context(reviews: pd.DataFrame, products: Iterable[object]) -> pd.DataFrame:
    """The reviews of ``products`` plus every other review by their reviewers, so the
    reviewer-level trust signals (review counts, brands, days) see each reviewer whole."""
    wanted = reviews["product_id"].isin(set(products))
    if wanted.all():  # every product judged (a first run): no copy of every review
        return reviews
    reviewers = reviews.loc[wanted, "author"].dropna().unique()
    return reviews[wanted | reviews["author"].isin(reviewers)]


def store_review_keys(reviews: pd.DataFrame) -> pd.Series:
    """One number per review for (store, review_id): a review id is unique within its store
    only. Hashed (64 bits), not joined into new text: a million reviews take 8 MB, not 80."""
    pair = reviews[["store", "review_id"]].astype(str)
    return pd.util.hash_pandas_object(pair, index=False).set_axis(reviews.index)


def judge_products(
    reviews: pd.DataFrame,
    products: pd.Index,
    previous_reviews: pd.DataFrame | None,
    config: TrustConfig,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """``(per-product trust, per-review scores, skipped tests)`` for ``products`` only."""
    context = trust_context(reviews, products)
    if context.empty:
        none = reviews.iloc[:0].assign(suspicion=pd.Series(dtype=float), flags=None, kept=None)
        return pd.DataFrame(columns=["product_id"]), none, {}
    keyed = context.assign(review_id=store_review_keys(context))
    previous = None
    if previous_reviews is not None:
        previous = previous_reviews[previous_reviews["product_id"].isin(set(products))]
        previous = previous.assign(review_id=store_review_keys(previous))
    judged = judge_reviews(keyed, config=config, previous=previous)
    wanted = set(products)
    scored = context.assign(
        suspicion=judged.reviews["suspicion"].to_numpy(),
        flags=judged.reviews["flags"].to_numpy(),
        kept=judged.reviews["kept"].to_numpy(),
    )
    judged_here = scored["product_id"].isin(wanted)
    if not judged_here.all():  # other products' reviews came only as their reviewers' context
        scored = scored[judged_here]
    summary = judged.products[judged.products["product_id"].isin(wanted)]
    kept = scored[scored["kept"]]
    rated = pd.to_numeric(kept["rating"], errors="coerce")
    rated = rated.where((rated >= 1) & (rated <= 5))
    trusted = rated.groupby(kept["product_id"]).agg(["mean", "count"])
    summary = summary.assign(
        report_card=summary["product_id"].map(judged.report_cards),
        store_ratings=summary["product_id"].map(judged.store_ratings),
        trusted_mean=summary["product_id"].map(trusted["mean"]).astype(float),
        trusted_reviews=summary["product_id"].map(trusted["count"]).fillna(0).astype("int64"),
    )
    return summary, scored, judged.skipped_tests


def trust_adjusted_rating(products: pd.DataFrame, prior_strength: float) -> pd.Series:
    """Mean rating of the reviews trust kept, pulled toward the subcategory's kept mean by
    ``prior_strength`` reviews (few kept reviews say little); NaN without kept reviews."""
    count = pd.to_numeric(products["trusted_reviews"], errors="coerce").astype(float).fillna(0.0)
    mean = pd.to_numeric(products["trusted_mean"], errors="coerce").astype(float)
    count = count.where(mean.notna(), 0.0)
    frame = pd.DataFrame(
        {"group": products["subcategory"], "n": count, "nr": mean.fillna(0.0) * count}
    )
    totals = frame.groupby("group")[["n", "nr"]].transform("sum")
    prior = (totals["nr"] / totals["n"]).where(totals["n"] > 0)
    adjusted = (prior_strength * prior + count * mean) / (prior_strength + count)
    return adjusted.where(count > 0).astype("float64")


def with_trust_adjusted_rating(products: pd.DataFrame, prior_strength: float) -> pd.DataFrame:
    """Products with ``trust_adjusted_rating`` (see ``trust_adjusted_rating``)."""
    return products.assign(trust_adjusted_rating=trust_adjusted_rating(products, prior_strength))
