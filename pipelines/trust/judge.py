"""Review trust, ReviewMeta style: tests on review subsets, adjusted rating, grade, suspicion."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from backrank.core.settings import TrustConfig
from pipelines.trust.features import behaviour_features
from pipelines.trust.gating import gating_outcomes, store_ratings, store_tallies
from pipelines.trust.model import suspicion_model
from pipelines.trust.stats import subset_vs_rest
from pipelines.trust.text import incentivised, near_duplicates, text_shape

REQUIRED_COLUMNS = ("review_id", "product_id", "rating", "date")

# test name -> what its subset is, in the words of the report card
TEST_DESCRIPTIONS: dict[str, str] = {
    "unverified": "reviews not marked as verified purchases",
    "one_review": "reviewers with only one review",
    "burst_day": "reviews posted on days far above the product's daily norm",
    "incentivised": "reviews that mention a free or discounted product in exchange for a review",
    "repeated_text": "reviews whose wording nearly repeats another review of the product or brand",
    "single_brand": "reviewers who review only this brand",
    "short_five_star": "short reviews (the flagged ones: short and 5 stars)",
    "deleted": "reviews seen in the previous run that have since disappeared",
    "review_gating": "a store's reviews, with far fewer 1-3 star ratings than expected",
}

# the suspicion score adds these 0/1 test flags to the behavioural features
FLAG_FEATURES = ("unverified", "incentivised", "repeated_text", "single_brand", "short_five_star")


@dataclass(frozen=True)
class TrustResult:
    """What ``judge_reviews`` returns."""

    reviews: pd.DataFrame  # the input rows + suspicion (0-1), flags (comma-joined), kept
    products: pd.DataFrame  # one row per product: adjusted_rating, trust_grade, kept_share, ...
    report_cards: dict[object, list[dict]]  # product_id -> one dict per test run
    skipped_tests: dict[str, str] = field(default_factory=dict)  # test -> why it could not run
    # product_id -> one dict per store: its reviews, mean rating, low share, others' mean
    store_ratings: dict[object, list[dict]] = field(default_factory=dict)


def prepare_reviews(reviews: pd.DataFrame) -> pd.DataFrame:
    """Check the input columns and return a typed working copy with a 0..n-1 index.

    ``reviewer_id`` falls back to ``author``; ``body`` to ``text``; ``date`` becomes datetime
    (NaT when unparseable); ratings outside 1-5 become NaN (unknown, never 0).
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in reviews.columns]
    if "reviewer_id" not in reviews.columns and "author" not in reviews.columns:
        missing.append("reviewer_id (or author)")
    if missing:
        raise ValueError(f"reviews frame lacks column(s): {', '.join(missing)}")
    work = pd.DataFrame(index=pd.RangeIndex(len(reviews)))
    work["review_id"] = reviews["review_id"].to_numpy()
    work["product_id"] = reviews["product_id"].to_numpy()
    reviewer = reviews["reviewer_id"] if "reviewer_id" in reviews.columns else reviews["author"]
    work["reviewer_id"] = reviewer.to_numpy()
    rating = pd.to_numeric(reviews["rating"], errors="coerce").to_numpy(dtype=float)
    work["rating"] = np.where((rating >= 1) & (rating <= 5), rating, np.nan)
    work["date"] = (
        pd.to_datetime(reviews["date"].to_numpy(), errors="coerce", format="mixed").tz_localize(
            None
        )
        if len(reviews)
        else pd.Series(dtype="datetime64[ns]")
    )
    if "verified" in reviews.columns:
        work["verified"] = reviews["verified"].map(_as_bool).to_numpy()
    text_column = (
        "body" if "body" in reviews.columns else "text" if "text" in reviews.columns else None
    )
    if text_column is not None:
        work["body"] = reviews[text_column].astype("string").to_numpy()
    if "title" in reviews.columns:
        work["title"] = reviews["title"].astype("string").to_numpy()
    if "store" in reviews.columns:
        work["store"] = reviews["store"].to_numpy()
    if "brand" in reviews.columns:
        brand = reviews["brand"].astype("string").str.strip().str.casefold()
        work["brand"] = brand.where(brand != "").to_numpy()
    return work


def _as_bool(value: object) -> object:
    """True / False from bools, 0/1 and yes/no text; None when unknown."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)) and not pd.isna(value):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in {"true", "yes", "1", "verified", "y"}:
            return True
        if word in {"false", "no", "0", "n", "unverified"}:
            return False
    return None


def test_subsets(reviews: pd.DataFrame, config: TrustConfig) -> tuple[pd.DataFrame, dict[str, str]]:
    """One boolean column per test that can run (True = in the test's subset), and skips.

    The frame is ``prepare_reviews`` output. ``short_five_star`` holds the short reviews
    (the compared subset); ``flagged_reviews`` narrows it to the 5-star ones.
    """
    masks = pd.DataFrame(index=reviews.index)
    skipped: dict[str, str] = {}
    if "verified" in reviews.columns and reviews["verified"].notna().any():
        masks["unverified"] = reviews["verified"].eq(False)
    else:
        skipped["unverified"] = "no verified-purchase flag"
    reviewer = reviews["reviewer_id"]
    if reviewer.notna().any():
        count = reviewer.groupby(reviewer, sort=False).transform("size")
        masks["one_review"] = count.eq(1) & reviewer.notna()
    else:
        skipped["one_review"] = "no reviewer id or author"
    if reviews["date"].notna().any():
        masks["burst_day"] = burst_days(reviews, config)
    else:
        skipped["burst_day"] = "no review dates"
    texts = [reviews[c] for c in ("title", "body") if c in reviews.columns]
    text = reviews["body"] if "body" in reviews.columns else texts[0] if texts else None
    if any(part.notna().any() for part in texts):
        # title and body apart: no disclosure pattern crosses a sentence end, and joining
        # them would copy every review's text (400 MB for a million reviews)
        masks["incentivised"] = np.logical_or.reduce([incentivised(part) for part in texts])
        block = reviews["product_id"].astype(str).radd("product:")
        if "brand" in reviews.columns:
            block = reviews["brand"].radd("brand:").fillna(block)
        shape = text_shape(
            text,
            shingle_words=config.shingle_words,
            bands=config.minhash_bands,
            rows=config.minhash_rows,
            min_words=config.duplicate_min_words,
            seed=config.seed,
        )
        masks["repeated_text"] = near_duplicates(shape.band_hashes, block)
        short = shape.word_count.le(config.short_words)
        masks["short_five_star"] = short.fillna(False).astype(bool)
    else:
        for test in ("incentivised", "repeated_text", "short_five_star"):
            skipped[test] = "no review text"
    if "brand" in reviews.columns and reviews["brand"].notna().any():
        masks["single_brand"] = single_brand_reviewers(reviews, config)
    else:
        skipped["single_brand"] = "no brand"
    return masks, skipped


def burst_days(reviews: pd.DataFrame, config: TrustConfig) -> pd.Series:
    """True for reviews on a day with over burst_ratio x the product's median daily count."""
    day = reviews["date"].dt.normalize()
    on_day = reviews.groupby(["product_id", day], sort=False)["rating"].transform("size")
    per_day = (
        reviews.assign(_day=day).dropna(subset=["_day"]).groupby(["product_id", "_day"]).size()
    )
    median = reviews["product_id"].map(per_day.groupby(level="product_id").median())
    burst = (on_day > config.burst_ratio * median) & (on_day >= config.burst_min)
    return burst.fillna(False).astype(bool) & day.notna()


def single_brand_reviewers(reviews: pd.DataFrame, config: TrustConfig) -> pd.Series:
    """True for reviews by reviewers with enough reviews, every one of them of one brand."""
    reviewer = reviews["reviewer_id"]
    by_reviewer = reviews.groupby(reviewer, sort=False)["brand"]
    brands = by_reviewer.transform("nunique")
    count = by_reviewer.transform("size")
    has_brand = reviews["brand"].notna().groupby(reviewer, sort=False).transform("all")
    single = brands.eq(1) & count.ge(config.single_brand_min_reviews) & has_brand
    return single.fillna(False).astype(bool) & reviewer.notna()


def flagged_reviews(reviews: pd.DataFrame, masks: pd.DataFrame) -> pd.DataFrame:
    """The reviews each test flags: its subset, except short_five_star keeps only 5 stars."""
    flagged = masks.copy()
    if "short_five_star" in flagged.columns:
        flagged["short_five_star"] &= reviews["rating"].eq(5.0)
    return flagged


def deleted_reviews(reviews: pd.DataFrame, previous: pd.DataFrame | None) -> pd.DataFrame | None:
    """Previously seen reviews of current products that are gone now (None without a previous)."""
    if previous is None:
        return None
    for column in ("review_id", "product_id"):
        if column not in previous.columns:
            raise ValueError(f"previous frame lacks column: {column}")
    gone = previous[
        previous["product_id"].isin(reviews["product_id"])
        & ~previous["review_id"].isin(reviews["review_id"])
    ]
    rating = (
        pd.to_numeric(gone["rating"], errors="coerce")
        if "rating" in gone.columns
        else pd.Series(np.nan, index=gone.index)
    )
    rating = rating.where((rating >= 1) & (rating <= 5))
    return pd.DataFrame(
        {"product_id": gone["product_id"].to_numpy(), "rating": rating.to_numpy(dtype=float)}
    )


def test_outcomes(
    reviews: pd.DataFrame,
    masks: pd.DataFrame,
    deleted: pd.DataFrame | None,
    config: TrustConfig,
) -> pd.DataFrame:
    """One row per product and test: the figures and Pass / Warn / Fail.

    A test counts only when its subset and the rest both have enough rated reviews, the
    mean ratings differ by at least ``min_effect`` stars and Welch's p-value is below
    ``warn_p`` (Warn) or ``fail_p`` (Fail). With ``inflation_only`` a test fails only when its
    subset lifts the rating (rates higher; for deleted reviews: rated lower than what is left).
    """
    outcomes = subset_vs_rest(reviews["rating"], reviews["product_id"], masks)
    if deleted is not None:
        combined_rating = pd.concat([reviews["rating"], deleted["rating"]], ignore_index=True)
        combined_product = pd.concat(
            [reviews["product_id"], deleted["product_id"]], ignore_index=True
        )
        mask = pd.DataFrame(
            {"deleted": np.r_[np.zeros(len(reviews), bool), np.ones(len(deleted), bool)]}
        )
        outcomes = pd.concat(
            [outcomes, subset_vs_rest(combined_rating, combined_product, mask)],
            ignore_index=True,
        )
    gap = outcomes["subset_mean"] - outcomes["rest_mean"]
    lifting = np.where(outcomes["test"].eq("deleted"), -gap, gap)
    direction_ok = lifting > 0 if config.inflation_only else np.isfinite(gap)
    counts = (outcomes["rated_subset"] >= config.min_subset) & (
        outcomes["rest_size"] >= config.min_rest
    )
    big_enough = gap.abs() >= config.min_effect
    counted = counts & big_enough & direction_ok & outcomes["p_value"].notna()
    status = np.select(
        [
            counted & (outcomes["p_value"] < config.fail_p),
            counted & (outcomes["p_value"] < config.warn_p),
        ],
        ["Fail", "Warn"],
        default="Pass",
    )
    share = outcomes["subset_size"] / outcomes["product_reviews"].where(
        outcomes["product_reviews"] > 0
    )
    return outcomes.assign(status=status, share=share, counted=counts)


def suspicion_score(features: pd.DataFrame, flags: pd.DataFrame, config: TrustConfig) -> pd.Series:
    """Probability-like score in [0, 1]: the behaviour model's log-odds plus weighted 0/1 flags.

    ``features`` is ``behaviour_features`` output; ``flags`` has one 0/1 column per
    FLAG_FEATURES name. Weights (and the model's scale, "behaviour") come from TrustConfig.
    """
    weights = config.weights
    logit = float(weights.get("intercept", 0.0)) + np.zeros(len(features))
    scale = float(weights.get("behaviour", 1.0))
    if scale and len(features):
        logit += scale * suspicion_model().log_odds(features)
    for name in flags.columns:
        weight = weights.get(name)
        if weight:
            logit += weight * flags[name].to_numpy(dtype=float)
    return pd.Series(1.0 / (1.0 + np.exp(-logit)), index=features.index)


def trust_grade(kept_share: pd.Series, config: TrustConfig) -> pd.Series:
    """Letter A-F from the share of reviews kept (bounds in TrustConfig; NaN share -> F)."""
    grade = pd.Series("F", index=kept_share.index, dtype=object)
    for letter, bound in reversed(config.grade_bounds):
        grade = grade.mask(kept_share >= bound, letter)
    return grade


def report_cards(outcomes: pd.DataFrame) -> dict[object, list[dict]]:
    """product_id -> list of plain dicts, one per test, with the figures behind its status."""
    described = outcomes["test"].map(TEST_DESCRIPTIONS)
    if "description" in outcomes.columns:  # a test may say more about its group (gating)
        described = outcomes["description"].fillna(described)
    card = outcomes.assign(
        description=described,
        subset_mean=outcomes["subset_mean"].round(3),
        rest_mean=outcomes["rest_mean"].round(3),
        share=outcomes["share"].round(4),
        p_value=outcomes["p_value"].round(6),
    )[
        [
            "product_id",
            "test",
            "status",
            "description",
            "subset_size",
            "share",
            "subset_mean",
            "rest_mean",
            "p_value",
            "counted",
        ]
    ]
    cards: dict[object, list[dict]] = {}
    for row in card.to_dict("records"):
        product_id = row.pop("product_id")
        cards.setdefault(product_id, []).append(
            {key: None if _is_missing(value) else value for key, value in row.items()}
        )
    return cards


def _is_missing(value: object) -> bool:
    """NaN / NaT / None, for turning frame cells into plain report-card values."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def judge_reviews(
    reviews: pd.DataFrame,
    *,
    config: TrustConfig = TrustConfig(),
    previous: pd.DataFrame | None = None,
) -> TrustResult:
    """Judge every product's reviews: tests, adjusted rating, trust grade, per-review suspicion.

    ``reviews`` needs ``review_id, reviewer_id`` (or ``author``), ``product_id, rating, date``;
    optional ``verified, title, body`` (or ``text``), ``helpful_votes, brand`` enable the tests
    that need them. ``previous`` (``review_id, product_id``, optional ``rating``) holds the
    reviews seen in an earlier run, for the deleted-reviews test. No I/O.
    """
    work = prepare_reviews(reviews)
    masks, skipped = test_subsets(work, config)
    deleted = deleted_reviews(work, previous)
    if deleted is None:
        skipped["deleted"] = "no previous run"
    outcomes = test_outcomes(work, masks, deleted, config)
    flagged = flagged_reviews(work, masks)
    by_store: dict[object, list[dict]] = {}
    if "store" in work.columns and work["store"].notna().any():
        tallies = store_tallies(work, config)  # per product and store, read by both
        gating, flagged["review_gating"] = gating_outcomes(work, tallies, config)
        outcomes = pd.concat([outcomes, gating], ignore_index=True)
        by_store = store_ratings(tallies)
    else:
        skipped["review_gating"] = "no store"

    failed = outcomes.loc[outcomes["status"].eq("Fail"), ["product_id", "test"]]
    excluded = np.zeros(len(work), dtype=bool)
    for test, products in failed.groupby("test")["product_id"]:
        if test in flagged.columns:
            excluded |= flagged[test].to_numpy() & work["product_id"].isin(products).to_numpy()
    kept = pd.Series(~excluded, index=work.index)

    flag_values = pd.DataFrame(
        {
            name: flagged[name].astype(float) if name in flagged.columns else 0.0
            for name in FLAG_FEATURES
        },
        index=work.index,
    )
    suspicion = suspicion_score(behaviour_features(work), flag_values, config)
    flag_names = _joined_flags(flagged)

    scored = reviews.assign(  # new columns beside the input's own (no copy of its rows)
        suspicion=suspicion.to_numpy(), flags=flag_names.to_numpy(), kept=kept.to_numpy()
    )

    products = product_summary(work, kept, suspicion, outcomes, config)
    return TrustResult(
        reviews=scored,
        products=products,
        report_cards=report_cards(outcomes),
        skipped_tests=skipped,
        store_ratings=by_store,
    )


def _joined_flags(flagged: pd.DataFrame) -> pd.Series:
    """Comma-joined names of the tests that flag each review ("" when none); reviews flagged
    alike share one string (a million reviews hold a few dozen combinations)."""
    names = list(flagged.columns)
    joined = np.full(len(flagged), "", dtype=object)
    if names:
        bits = flagged.to_numpy(dtype=bool) @ (1 << np.arange(len(names), dtype=np.int64))
        rows = np.flatnonzero(bits)
        combinations, which = np.unique(bits[rows], return_inverse=True)
        text = [",".join(n for i, n in enumerate(names) if code >> i & 1) for code in combinations]
        joined[rows] = np.array(text, dtype=object)[which]
    return pd.Series(joined, index=flagged.index, dtype=object)


def product_summary(
    work: pd.DataFrame,
    kept: pd.Series,
    suspicion: pd.Series,
    outcomes: pd.DataFrame,
    config: TrustConfig,
) -> pd.DataFrame:
    """One row per product: raw and adjusted rating, kept share, grade, test counts."""
    rating = work["rating"]
    frame = pd.DataFrame(
        {
            "product_id": work["product_id"],
            "rating": rating,
            "kept_rating": rating.where(kept),
            "kept": kept.astype(float),
            "suspicion": suspicion,
        }
    )
    summary = frame.groupby("product_id", sort=True).agg(
        review_count=("rating", "size"),
        rating=("rating", "mean"),
        adjusted_rating=("kept_rating", "mean"),
        kept_share=("kept", "mean"),
        mean_suspicion=("suspicion", "mean"),
    )
    status = outcomes.pivot_table(
        index="product_id", columns="status", values="test", aggfunc="size", fill_value=0
    ).reindex(columns=["Fail", "Warn"], fill_value=0)
    summary["tests_failed"] = status["Fail"].reindex(summary.index, fill_value=0).astype(int)
    summary["tests_warned"] = status["Warn"].reindex(summary.index, fill_value=0).astype(int)
    summary["trust_grade"] = trust_grade(summary["kept_share"], config)
    return summary.reset_index()[
        [
            "product_id",
            "review_count",
            "rating",
            "adjusted_rating",
            "kept_share",
            "trust_grade",
            "tests_failed",
            "tests_warned",
            "mean_suspicion",
        ]
    ]
