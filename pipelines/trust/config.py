"""Thresholds and weights for review trust scoring (the catalog's [scoring.trust] table)."""

from __future__ import annotations

from dataclasses import dataclass, field

# Weights of the per-review suspicion score, on the log-odds scale. The behavioural part is
# a gradient-boosted tree model (pipelines/trust_model_table.py) fitted offline by
# `benchmarks/tune_trust.py` on the YelpChi even-product file with Yelp's filter as the label;
# "behaviour" scales its log-odds (0 turns it off). The scoring never reads a label or an id's
# order. The text / purchase weights (incentivised, repeated_text, unverified, short_five_star,
# single_brand) cannot be fitted on YelpChi (no text, no verified flag, no brand) and are set
# by judgment: each roughly doubles the odds or more.
DEFAULT_WEIGHTS: dict[str, float] = {
    # trees: ROC AUC 0.815 in-sample, 0.760 +- 0.004 cross-validated by product on YelpChi-even
    # (benchmarks/tune_trust.py)
    "behaviour": 1.0,
    "intercept": 0.0,
    # judgment weights (features that YelpChi lacks), on 0/1 flags
    "unverified": 0.7,
    "incentivised": 1.5,
    "repeated_text": 1.0,
    "single_brand": 0.5,
    "short_five_star": 0.4,
}


@dataclass(frozen=True)
class TrustConfig:
    """Every threshold of the trust stage; defaults are the methodology page's figures."""

    # a test counts only with at least this many reviews in the subset and in the rest
    min_subset: int = 5
    min_rest: int = 5
    # two-sided p-value of Welch's t below which a test warns / fails
    warn_p: float = 0.05
    fail_p: float = 0.01
    # and the mean rating gap (stars) it must reach to warn / fail at all
    min_effect: float = 0.25
    # only a subset that lifts the rating fails (ReviewMeta's stance); False: any difference
    inflation_only: bool = True
    # burst day: more than burst_ratio x the product's median daily count, and at least burst_min
    burst_ratio: float = 3.0
    burst_min: int = 4
    # short review: at most this many words (title not counted)
    short_words: int = 8
    # repeated phrasing: word shingles, MinHash bands x rows; texts under min_words are skipped
    shingle_words: int = 3
    minhash_bands: int = 10
    minhash_rows: int = 4
    duplicate_min_words: int = 8
    # a single-brand reviewer has at least this many reviews, all of one brand
    single_brand_min_reviews: int = 2
    # trust grade from the share of reviews kept: at least the figure for that grade
    grade_bounds: tuple[tuple[str, float], ...] = (
        ("A", 0.95),
        ("B", 0.85),
        ("C", 0.70),
        ("D", 0.50),
    )  # below the last bound: F
    # suspicion score weights (see DEFAULT_WEIGHTS); unknown keys are ignored
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    seed: int = 20240607  # MinHash permutations; fixed so runs are reproducible
