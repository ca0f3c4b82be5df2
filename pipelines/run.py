"""Score stored offers and reviews into ranked products: the scoring stage, chained.

``score`` reads as the chain of its steps: match listings into products (incrementally when
an earlier run's inputs are given, ``matching_incremental``), name them (``naming``), judge
only the products whose listings or reviews changed (``reuse``; trust, specs, sentiment,
pros and cons), then score, rank, badge and price every product.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import pandas as pd

from backrank.core.frames import OFFERS, PRODUCT_LISTINGS, PRODUCTS, REVIEW_SCORES, REVIEWS
from backrank.core.settings import ScoringConfig
from pipelines.aspects import pros_and_cons
from pipelines.badges import assign_badges
from pipelines.categories import CategoryRuleLike
from pipelines.matching import MatchOverrides
from pipelines.matching_incremental import (
    MatchedListings,
    listing_digests_by_product,
    match_products,
)
from pipelines.naming import product_ids, product_names
from pipelines.prices import with_decimal_prices, with_price_summaries
from pipelines.ranking import (
    bayesian_average,
    best_prices,
    in_stock_anywhere,
    listing_ratings,
    product_ratings,
)
from pipelines.reuse import (
    PER_PRODUCT_RESULTS,
    changed_products,
    kept_results,
    product_fingerprints,
    product_inputs,
    results_frame,
)
from pipelines.scores import rank_by_composite, rating_histogram, score_products
from pipelines.scoring_config import ScoringSettings
from pipelines.sensitivity import weight_sensitivity
from pipelines.sentiment import SENTENCE_COLUMNS, PendingSentiment, SentenceCache, review_keys
from pipelines.shown_only import of_other_stores, without_analysed_values
from pipelines.specs import extract_specs, product_specs
from pipelines.subcategories import SubcategoryRule, assign_subcategory
from pipelines.trust.products import judge_products, with_trust_adjusted_rating

# What scoring reads and writes: columns of the frames declared in backrank.core.frames.
OFFER_COLUMNS = OFFERS.required
REVIEW_COLUMNS = REVIEWS.required
PRODUCT_COLUMNS = PRODUCTS.columns  # the scoring output contract (docs/DESIGN.md)
PRODUCT_LISTING_COLUMNS = PRODUCT_LISTINGS.columns
REVIEW_SCORE_COLUMNS = REVIEW_SCORES.required

Params = ParamSpec("Params")
Result = TypeVar("Result")


class Stopwatch:
    """Seconds spent per named step: ``with clock("trust"): ...`` (for the run summary)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, step: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            self.seconds[step] = round(self.seconds.get(step, 0.0) + elapsed, 3)

    def timed(self, step: str, function: Callable[Params, Result]) -> Callable[Params, Result]:
        """``function`` with its time counted to ``step`` (for a ``.pipe`` chain)."""

        @wraps(function)
        def run(*args: Params.args, **kwargs: Params.kwargs) -> Result:
            with self(step):
                return function(*args, **kwargs)

        return run


class SchemaError(ValueError):
    """A frame handed to or made by the scoring stage lacks columns it needs."""


@dataclass(frozen=True)
class ScoreResult:
    """What ``score`` returns; unpacks as ``products, product_listings`` for older callers."""

    products: pd.DataFrame  # PRODUCT_COLUMNS and more, best rank first per subcategory
    product_listings: pd.DataFrame  # PRODUCT_LISTING_COLUMNS
    reviews: pd.DataFrame  # reviews scored now (all on a full run) + product_id, suspicion, flags
    summary: dict[str, Any]  # weights, thresholds, sensitivity, skipped trust tests, counts
    new_sentence_cache_rows: pd.DataFrame  # SENTENCE_COLUMNS computed now, for the store
    product_inputs: pd.DataFrame = field(  # product_id, fingerprint, results: for the next run
        default_factory=lambda: pd.DataFrame(columns=["product_id", "fingerprint", "results"])
    )

    def __iter__(self) -> Iterator[pd.DataFrame]:
        return iter((self.products, self.product_listings))


def require_columns(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """Raise SchemaError naming every column of ``columns`` that ``frame`` lacks."""
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        raise SchemaError(f"{what} frame is missing columns: {', '.join(missing)}")


def score(
    offers: pd.DataFrame,
    reviews: pd.DataFrame,
    *,
    categories: Iterable[CategoryRuleLike],
    catalog_scoring: ScoringConfig | Mapping[str, Any] | None = None,
    prior_strength: float | None = None,
    offer_history: pd.DataFrame | None = None,
    previous_reviews: pd.DataFrame | None = None,
    sentence_cache: SentenceCache = None,
    previous_inputs: pd.DataFrame | None = None,
    match_overrides: MatchOverrides | None = None,
    now: datetime | None = None,
    max_price_age_hours: float | None = None,
    workers: int | None = None,
    shown_only_stores: Collection[str] = (),
) -> ScoreResult:
    """Products ranked from the latest offers and the current reviews. No I/O.

    ``catalog_scoring`` is the catalog's ScoringConfig (``catalog.scoring``, or a raw
    [scoring] mapping); ``prior_strength`` and ``max_price_age_hours`` override its figures. ``offer_history`` (``store.read_offer_history()``)
    feeds the price summaries; ``previous_reviews`` (every stored review, current or gone)
    the deleted-reviews trust test; ``sentence_cache`` is cached sentence rows, or a look-up
    called with the content hashes wanted. With ``previous_inputs`` (an earlier result's
    ``product_inputs``) only products whose listings or reviews changed are judged again;
    the rest keep their trust, specs and pros/cons, while priors, scores, ranks, badges,
    prices and sensitivity are recomputed for all. ``now`` (default: the current time)
    decides which prices are still current. ``shown_only_stores`` (Amazon's, under its
    Associates rules: ``backrank.core.amazon_rules.amazon_stores``) join products but their
    prices, stock, ratings and reviews feed no score, grade, badge or price summary. Unpacks
    as ``products, product_listings``.
    """
    require_columns(offers, OFFER_COLUMNS, "offers")
    require_columns(reviews, REVIEW_COLUMNS, "reviews")
    settings = scoring_settings(catalog_scoring, categories, prior_strength, max_price_age_hours)
    clock = Stopwatch()
    shown_only = frozenset(shown_only_stores)
    reviews = reviews.pipe(of_other_stores, shown_only)
    if previous_reviews is not None:
        previous_reviews = previous_reviews.pipe(of_other_stores, shown_only)
    offers = offers.pipe(latest_offers)
    with clock("matching"):
        matched = match_products(offers, settings, match_overrides, previous_inputs)
    membership = product_ids(offers, matched.groups)
    if offers.empty:
        return empty_result(membership, settings)

    listings = (
        offers.pipe(with_product_ids, membership)
        .pipe(without_analysed_values, shown_only)
        .pipe(listing_ratings, reviews)
    )
    products = product_frame(listings)
    linked = reviews.pipe(with_product_ids, membership).pipe(with_brands_and_keys, products)
    fingerprints = product_fingerprints(listings, linked, settings.fingerprint)
    changed = changed_products(fingerprints, previous_inputs)
    fresh = per_product_results(
        listings,
        linked,
        changed,
        previous_reviews=previous_reviews,
        membership=membership,
        sentence_cache=sentence_cache,
        settings=settings,
        workers=workers if workers is not None else min(2, os.cpu_count() or 1),
        clock=clock,
    )
    kept = kept_results(fresh.results, previous_inputs, fingerprints.index.difference(changed))
    products = (
        products.merge(results_frame(kept), on="product_id", how="left")
        .pipe(with_subcategories, settings.subcategories)
        .pipe(bayesian_average, settings.prior_strength)
        .pipe(with_trust_adjusted_rating, settings.prior_strength)
        .pipe(clock.timed("scores", with_scores), linked, settings.weights)
        .pipe(clock.timed("scores", rank_by_composite))
        .pipe(clock.timed("scores", assign_badges), settings.badges)
        .pipe(
            clock.timed("prices", with_price_summaries),
            offers.pipe(of_other_stores, shown_only),
            None if offer_history is None else offer_history.pipe(of_other_stores, shown_only),
            membership,
            now=now if now is not None else datetime.now(UTC),
            rules=settings.prices,
        )
        .pipe(in_output_order)
    )
    counts = run_counts(offers, reviews, linked, products, matched, fresh)
    return ScoreResult(
        products=products,
        product_listings=membership[list(PRODUCT_LISTING_COLUMNS)],
        reviews=fresh.review_scores.pipe(as_review_scores),
        summary=run_summary(products, settings, fresh.skipped_tests, counts, clock),
        new_sentence_cache_rows=fresh.sentence_rows,
        product_inputs=product_inputs(
            kept, fingerprints, listing_digests_by_product(membership, matched.digests)
        ),
    )


# ---------------------------------------------------------------- the steps, in chain order


def scoring_settings(
    catalog_scoring: ScoringConfig | Mapping[str, Any] | None,
    categories: Iterable[CategoryRuleLike],
    prior_strength: float | None,
    max_price_age_hours: float | None,
) -> ScoringSettings:
    """Settings from the catalog's ScoringConfig (or a raw [scoring] mapping); an explicit
    ``prior_strength`` or ``max_price_age_hours`` wins over the catalog's."""
    settings = ScoringSettings.from_scoring(
        catalog_scoring, categories=categories, max_price_age_hours=max_price_age_hours
    )
    if prior_strength is not None:
        settings = replace(settings, prior_strength=float(prior_strength))
    return settings


def latest_offers(offers: pd.DataFrame) -> pd.DataFrame:
    """One offer per listing (the last given), prices as Decimal or None, index 0..n-1."""
    return (
        offers.drop_duplicates("listing_id", keep="last")
        .pipe(with_decimal_prices)
        .reset_index(drop=True)
    )


def with_product_ids(frame: pd.DataFrame, membership: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``frame`` (offers or reviews) whose listing is in a product, with its id."""
    return frame.merge(membership, on="listing_id", how="inner").reset_index(drop=True)


def product_frame(listings: pd.DataFrame) -> pd.DataFrame:
    """One row per product: name, brand, listings, page rating and count, best price, stock."""
    products = (
        product_names(listings)
        .merge(product_ratings(listings), on="product_id", how="left")
        .merge(best_prices(listings), on="product_id", how="left")
    )
    stocked = products["product_id"].map(in_stock_anywhere(listings)).fillna(False)
    best = [p if isinstance(p, Decimal) else None for p in products["best_price"]]
    return products.assign(
        in_stock=stocked.astype(bool),
        best_price=pd.Series(best, index=products.index, dtype=object),
        currency=products["currency"].astype(object).where(products["currency"].notna(), None),
        best_store=products["best_store"]
        .astype(object)
        .where(products["best_store"].notna(), None),
    )


def with_brands_and_keys(reviews: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """Reviews with their product's ``brand`` (single-brand reviewers) and a ``content_hash``
    on every row (the sentence cache key and part of the product fingerprint)."""
    reviews = reviews.assign(
        brand=reviews["product_id"].map(products.set_index("product_id")["brand"])
    )
    if "content_hash" not in reviews.columns or reviews["content_hash"].isna().any():
        reviews = reviews.assign(content_hash=review_keys(reviews))
    return reviews


@dataclass(frozen=True)
class FreshResults:
    """What ``per_product_results`` computed for the products judged this run."""

    results: pd.DataFrame  # product_id and PER_PRODUCT_RESULTS
    review_scores: pd.DataFrame  # their reviews + suspicion, flags, kept
    sentence_rows: pd.DataFrame  # SENTENCE_COLUMNS computed now, for the store
    skipped_tests: dict[str, str]  # trust test -> why it could not run


def per_product_results(
    listings: pd.DataFrame,
    reviews: pd.DataFrame,
    products: pd.Index,
    *,
    previous_reviews: pd.DataFrame | None,
    membership: pd.DataFrame,
    sentence_cache: SentenceCache,
    settings: ScoringSettings,
    workers: int,
    clock: Stopwatch,
) -> FreshResults:
    """Specs, trust, sentiment and pros/cons of ``products`` (sentiment in worker processes
    while trust is judged here); ``previous_reviews`` are every stored review, current or gone."""
    wanted = set(products)
    own_listings = of_products(listings, wanted)
    own_reviews = of_products(reviews, wanted)
    previous = None
    if previous_reviews is not None:
        previous = previous_reviews.pipe(with_product_ids, membership)
    with clock("sentiment"):
        sentiment = PendingSentiment(own_reviews, sentence_cache, workers)
    try:
        with clock("specs"):
            pairs = own_listings[["product_id", "listing_id"]]
            specs = product_specs(extract_specs(own_listings), pairs)
        with clock("trust"):
            trust, scored, skipped = judge_products(reviews, products, previous, settings.trust)
        with clock("sentiment"):  # waiting for the workers, if they are still busy
            sentences, new_rows = sentiment.result()
    finally:
        sentiment.close()
    with clock("pros_and_cons"):
        opinions = pros_and_cons(sentences, own_reviews, settings.lexicon)
    results = pd.DataFrame({"product_id": list(products)})
    for frame in (specs, trust, opinions):
        if len(frame):
            results = results.merge(frame, on="product_id", how="left")
    for column in PER_PRODUCT_RESULTS:
        if column not in results.columns:
            results[column] = None
    for column in ("specs",):
        results[column] = [v if isinstance(v, dict) else {} for v in results[column]]
    for column in ("pros", "cons", "report_card", "store_ratings"):
        results[column] = [v if isinstance(v, list) else [] for v in results[column]]
    return FreshResults(results[["product_id", *PER_PRODUCT_RESULTS]], scored, new_rows, skipped)


def of_products(frame: pd.DataFrame, wanted: set[object]) -> pd.DataFrame:
    """The rows of ``frame`` whose ``product_id`` is wanted (``frame`` itself when all are,
    as in a first run: no copy of a million reviews)."""
    rows = frame["product_id"].isin(wanted)
    return frame if rows.all() else frame[rows]


def with_subcategories(
    products: pd.DataFrame, rules: Iterable[SubcategoryRule | CategoryRuleLike]
) -> pd.DataFrame:
    """Products with ``subcategory`` (from titles, breadcrumbs and specs) as their category."""
    products = assign_subcategory(
        products, rules, products[["product_id", "specs"]], text_column="category_text"
    )
    return products.assign(category=products["subcategory"])


def with_scores(
    products: pd.DataFrame, reviews: pd.DataFrame, weights: dict[str, float]
) -> pd.DataFrame:
    """Products with their rating histogram (from ``reviews``), Wilson bound, value and
    composite scores (``score_products``)."""
    return products.pipe(score_products, rating_histogram(reviews), weights)


def in_output_order(products: pd.DataFrame) -> pd.DataFrame:
    """Products best rank first per subcategory, PRODUCT_COLUMNS first, missing text None."""
    require_columns(products, PRODUCT_COLUMNS, "scored products")
    products = products.drop(columns=["category_text"]).sort_values(
        ["subcategory", "rank"], ignore_index=True
    )
    products = products[[*PRODUCT_COLUMNS, *[c for c in products if c not in PRODUCT_COLUMNS]]]
    # Text stays object with None for missing (pandas 3 would infer its str dtype on some paths).
    text = products.select_dtypes(include=["string", "object"]).columns
    products[text] = products[text].astype(object).where(products[text].notna(), None)
    return products


def as_review_scores(scored: pd.DataFrame) -> pd.DataFrame:
    """Scored reviews as ``ScoreResult.reviews`` holds them (REVIEW_SCORE_COLUMNS and more)."""
    scored = scored.drop(columns=["brand"], errors="ignore").reset_index(drop=True)
    require_columns(scored, REVIEW_SCORE_COLUMNS, "scored reviews")
    return scored


def settings_summary(settings: ScoringSettings) -> dict[str, Any]:
    """The settings part of the run summary: weights, thresholds and their fingerprint."""
    return {
        "weights": settings.weights,
        "thresholds": settings.thresholds(),
        "settings_fingerprint": settings.fingerprint,
    }


def run_counts(
    offers: pd.DataFrame,
    reviews: pd.DataFrame,
    linked: pd.DataFrame,
    products: pd.DataFrame,
    matched: MatchedListings,
    fresh: FreshResults,
) -> dict[str, int]:
    """How much the run saw and how much of it was computed now rather than reused."""
    return {
        "offers": len(offers),
        "products": len(products),
        "reviews": len(reviews),
        "reviews_linked": len(linked),
        "listings_matched": matched.listings_matched,
        "products_rescored": len(fresh.results),
        "products_reused": len(products) - len(fresh.results),
        "reviews_rescored": len(fresh.review_scores),
        "sentences_computed": len(fresh.sentence_rows),
    }


def run_summary(
    products: pd.DataFrame,
    settings: ScoringSettings,
    skipped_tests: dict[str, str],
    counts: dict[str, int],
    clock: Stopwatch,
) -> dict[str, Any]:
    """Settings, weight sensitivity of the ranking, skipped trust tests, counts and timings."""
    with clock("sensitivity"):
        sensitivity = weight_sensitivity(products, settings.weights)
    return settings_summary(settings) | {
        "sensitivity": sensitivity,
        "trust_skipped_tests": skipped_tests,
        "counts": counts,
        "timings": clock.seconds,
    }


def empty_result(membership: pd.DataFrame, settings: ScoringSettings) -> ScoreResult:
    """The result of scoring no offers: no products, the settings and zero counts."""
    products = pd.DataFrame({name: pd.Series(dtype=object) for name in PRODUCT_COLUMNS})
    empty_sentences = pd.DataFrame({c: pd.Series(dtype=object) for c in SENTENCE_COLUMNS})
    return ScoreResult(
        products=products,
        product_listings=membership[list(PRODUCT_LISTING_COLUMNS)],
        reviews=pd.DataFrame(columns=list(REVIEW_SCORE_COLUMNS)),
        summary=settings_summary(settings) | {"counts": {"offers": 0, "products": 0}},
        new_sentence_cache_rows=empty_sentences,
    )
