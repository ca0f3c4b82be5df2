"""Score stored offers and reviews into ranked products: the scoring stage, chained."""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from multiprocessing import get_context
from typing import Any

import numpy as np
import pandas as pd

from backrank.core.frames import OFFERS, PRODUCT_LISTINGS, PRODUCTS, REVIEW_SCORES, REVIEWS
from backrank.core.money import as_decimal
from pipelines.aspects import pros_and_cons
from pipelines.badges import assign_badges
from pipelines.categories import CategoryRuleLike
from pipelines.grouping import identifier_keys, listing_fallback_id
from pipelines.matching import MatchOverrides, match_listings
from pipelines.prices import price_summaries
from pipelines.ranking import (
    bayesian_average,
    best_prices,
    in_stock_anywhere,
    listing_ratings,
    product_ratings,
)
from pipelines.scores import rank_by_composite, rating_histogram, score_products
from pipelines.scoring_config import ScoringSettings
from pipelines.sensitivity import weight_sensitivity
from pipelines.sentiment import SENTENCE_COLUMNS, review_keys, sentence_features
from pipelines.specs import extract_specs, product_specs
from pipelines.subcategories import assign_subcategory
from pipelines.trust import judge_reviews

# What scoring reads and writes: columns of the frames declared in backrank.core.frames.
OFFER_COLUMNS = OFFERS.required
REVIEW_COLUMNS = REVIEWS.required
PRODUCT_COLUMNS = PRODUCTS.columns  # the scoring output contract (docs/DESIGN.md)
PRODUCT_LISTING_COLUMNS = PRODUCT_LISTINGS.columns
REVIEW_SCORE_COLUMNS = REVIEW_SCORES.required
# What each product keeps between runs: computed from its own listings and reviews only.
PER_PRODUCT_RESULTS = (
    "specs", "trust_grade", "kept_share", "tests_failed", "tests_warned", "mean_suspicion",
    "trusted_reviews", "trusted_mean", "report_card", "pros", "cons",
)  # fmt: skip
# Listing fields a product's fingerprint covers (fetched_at and run ids change every crawl).
FINGERPRINT_FIELDS = (
    "listing_id", "store", "url", "canonical_url", "title", "brand", "price", "currency",
    "availability", "rating", "review_count", "gtin", "mpn", "sku", "asin", "category",
    "description",
)  # fmt: skip
# Listing fields matching reads (price and page ratings move every crawl without changing
# which product a listing is, so they do not make a listing "changed" for matching).
MATCH_FIELDS = (
    "store", "url", "canonical_url", "title", "brand", "gtin", "mpn", "sku", "asin", "category",
)  # fmt: skip
# Key in each product's stored results: {listing_id: match digest} of the listings it holds.
MATCHES_KEY = "listing_matches"
# Above this share of listings new or changed, incremental matching gives way to a full match.
REMATCH_SHARE_MAX = 0.3
# Below this many uncached reviews sentiment runs in-process; above, over worker processes.
PARALLEL_SENTIMENT_MIN = 50_000
SENTIMENT_CHUNK = 25_000

SentenceCache = pd.DataFrame | Callable[[list[str]], pd.DataFrame] | None


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


def with_decimal_prices(offers: pd.DataFrame) -> pd.DataFrame:
    """Offers whose ``price`` is Decimal or None (object dtype): never NaN, never 0 for unknown."""
    prices = [as_decimal(value) for value in offers["price"]]
    return offers.assign(price=pd.Series(prices, index=offers.index, dtype=object))


# ---------------------------------------------------------------- products from listings


def match_digests(offers: pd.DataFrame, salt: str) -> pd.Series:
    """Per listing (as text id): a digest of the fields matching reads and ``salt`` (the
    settings and owner overrides), so an unchanged listing can keep its product."""
    columns = [c for c in MATCH_FIELDS if c in offers.columns]
    hashes = _row_hashes(offers[columns])
    return pd.Series(
        [f"{salt}:{h:x}" for h in hashes],
        index=offers["listing_id"].astype(str).to_numpy(),
        dtype=object,
    )


def previous_matches(previous_inputs: pd.DataFrame | None) -> pd.DataFrame:
    """``listing, group, digest`` from an earlier run's product inputs (empty without them)."""
    rows: list[tuple[str, str, str]] = []
    if previous_inputs is not None:
        for product_id, results in zip(
            previous_inputs["product_id"], previous_inputs["results"], strict=True
        ):
            matches = results.get(MATCHES_KEY) if isinstance(results, dict) else None
            for listing, digest in (matches or {}).items():
                rows.append((str(listing), str(product_id), str(digest)))
    return pd.DataFrame(rows, columns=["listing", "group", "digest"], dtype=object)


def _neighbour_keys(offers: pd.DataFrame) -> pd.DataFrame:
    """``position, key``: identifiers, brand and title first words, and model-code-like
    tokens of each listing; listings sharing none of them are never matched together."""

    def words(value: object) -> list[str]:
        return (
            "".join(c if c.isalnum() else " " for c in value.casefold()).split()
            if isinstance(value, str)
            else []
        )

    rows: list[tuple[int, str]] = []
    for position, (title, brand, gtin, asin, mpn, sku) in enumerate(
        zip(*(offers[c].to_numpy(dtype=object) for c in
              ("title", "brand", "gtin", "asin", "mpn", "sku")), strict=True)
    ):  # fmt: skip
        title_words, brand_words = words(title), words(brand)
        keys = {f"w:{ws[0]}" for ws in (title_words, brand_words) if ws}
        keys |= {f"c:{w}" for w in title_words if len(w) >= 3 and not w.isalpha()}
        for kind, value in (("g", gtin), ("a", asin), ("m", mpn), ("m", sku)):
            text = "".join(words(value)).lstrip("0")
            if text:
                keys.add(f"{kind}:{text}")
        rows.extend((position, key) for key in keys)
    return pd.DataFrame(rows, columns=["position", "key"])


def incremental_match(
    offers: pd.DataFrame,
    previous: pd.DataFrame,
    digests: pd.Series,
    *,
    config: Any,
    overrides: MatchOverrides | None,
) -> tuple[pd.DataFrame, int] | None:
    """``(listing_id, product_id frame, listings matched)``: a group id per listing, reusing
    ``previous`` groups for unchanged listings; None when too much changed for that to pay
    (the caller matches in full).

    Listings that are new or changed, and every listing of a product that lost or changed
    one, are matched again together with the products sharing a block key with them (those
    stay whole, as owner-kept groups), so a new listing can join an existing product.
    """
    listing_keys = offers["listing_id"].astype(str).to_numpy()
    before = previous.drop_duplicates("listing").set_index("listing")
    old_group = pd.Series(listing_keys).map(before["group"]).to_numpy(dtype=object)
    same = (
        pd.Series(listing_keys).map(before["digest"]).to_numpy(dtype=object) == digests.to_numpy()
    )
    if not same.any():
        return None
    kept_keys = set(listing_keys[same])
    touched = set(previous.loc[~previous["listing"].isin(kept_keys), "group"])
    rematch = ~same | pd.Series(old_group).isin(touched).to_numpy()
    if rematch.mean() > REMATCH_SHARE_MAX:
        return None
    groups = pd.Series(old_group, index=offers.index, dtype=object)
    matched_count = 0
    if rematch.any():
        keys = _neighbour_keys(offers)
        wanted = set(keys.loc[rematch[keys["position"].to_numpy()], "key"])
        near = keys.loc[keys["key"].isin(wanted), "position"].unique()
        neighbour_groups = set(groups.iloc[near][~rematch[near]])
        whole = (~rematch) & groups.isin(neighbour_groups).to_numpy()
        subset = offers[rematch | whole]
        kept_together = pd.Series(listing_keys[whole]).groupby(groups[whole].to_numpy()).agg(tuple)
        owner = overrides or MatchOverrides()
        extended = MatchOverrides(
            same=owner.same + tuple(g for g in kept_together if len(g) > 1),
            different=owner.different,
        )
        matched = match_listings(subset, config=config, overrides=extended)
        matched_count = len(subset)
        groups[subset.index] = "m\x1f" + matched["product_id"].astype(str).to_numpy()
    # a group is named by its smallest listing id, as match_listings names its products
    frame = pd.DataFrame({"listing_id": offers["listing_id"].to_numpy(), "group": groups})
    first = frame.groupby("group")["listing_id"].transform("min")
    membership = pd.DataFrame({"listing_id": frame["listing_id"], "product_id": first.to_numpy()})
    return membership, matched_count


def listing_digests_by_product(
    membership: pd.DataFrame, digests: pd.Series
) -> dict[str, dict[str, str]]:
    """Per product id: ``{listing id: match digest}`` of its listings, kept for the next run."""
    by_product: dict[str, dict[str, str]] = {}
    listings = membership["listing_id"].astype(str).to_numpy()
    for pid, listing, digest in zip(
        membership["product_id"].astype(str), listings, digests.reindex(listings), strict=True
    ):
        by_product.setdefault(pid, {})[listing] = digest
    return by_product


def _overrides_digest(overrides: MatchOverrides | None) -> str:
    text = repr(overrides or MatchOverrides())
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def stable_product_ids(offers: pd.DataFrame, membership: pd.DataFrame) -> pd.DataFrame:
    """``listing_id, product_id`` with each matched group named by its best identifier.

    The id is the group's GTIN, else ASIN, else brand+MPN key (``gtin-...``), else
    ``listing-<store>-<url hash>`` of its first listing, so ids (and the site's URLs) stay
    the same across refreshes. A name two groups would share goes to the group holding the
    smaller listing id; the other gets its first listing id appended.
    """
    listings = offers.drop_duplicates("listing_id").set_index("listing_id")
    group = membership.set_index("listing_id")["product_id"]
    keys = identifier_keys(listings.reset_index()[["listing_id", "gtin", "asin", "brand", "mpn"]])
    priority = {"gtin": 0, "asin": 1, "mpn": 2}
    keyed = keys.assign(
        group=keys["listing_id"].map(group), priority=keys["kind"].map(priority)
    ).sort_values(["group", "priority", "key"])
    best_key = keyed.drop_duplicates("group").set_index("group")["key"]
    groups = pd.DataFrame({"group": membership["product_id"].unique()})
    first_listing = membership.groupby("product_id")["listing_id"].min()
    url = listings["canonical_url"].where(listings["canonical_url"].notna(), listings["url"])
    names = []
    for group_id in groups["group"]:
        if group_id in best_key.index:
            names.append(best_key[group_id])
        else:
            first = first_listing[group_id]
            names.append(listing_fallback_id(listings.at[first, "store"], url[first]))
    groups = groups.assign(name=names, first=groups["group"].map(first_listing))
    groups = groups.sort_values("first", kind="mergesort")
    taken = groups["name"].duplicated(keep="first")
    groups["name"] = groups["name"].where(
        ~taken, groups["name"] + "-" + groups["first"].astype(str)
    )
    return pd.DataFrame(
        {
            "listing_id": membership["listing_id"].to_numpy(),
            "product_id": membership["product_id"]
            .map(groups.set_index("group")["name"])
            .astype(str)
            .to_numpy(),
        }
    )


def _clean(text: pd.Series) -> pd.Series:
    """Text with runs of whitespace collapsed; empty becomes None."""
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


# ---------------------------------------------------------------- what changed since last run


def _row_hashes(frame: pd.DataFrame) -> np.ndarray:
    """A 64-bit hash per row of ``frame``'s values as text (None and NaN hash alike)."""
    text = frame.astype(object).where(frame.notna(), "\x00").astype(str)
    return pd.util.hash_pandas_object(text, index=False).to_numpy(dtype="uint64")


def _summed_hash(hashes: np.ndarray, groups: pd.Series) -> pd.Series:
    """Order-free 64-bit digest per group: the two 32-bit halves summed separately."""
    frame = pd.DataFrame(
        {
            "hi": (hashes >> np.uint64(32)).astype("int64"),
            "lo": (hashes & np.uint64(0xFFFFFFFF)).astype("int64"),
            "group": groups.to_numpy(),
        }
    )
    sums = frame.groupby("group")[["hi", "lo"]].sum()
    count = frame.groupby("group").size()
    digests = [
        f"{hi:x}.{lo:x}.{n}"
        for hi, lo, n in zip(sums["hi"], sums["lo"], count.reindex(sums.index), strict=True)
    ]
    return pd.Series(digests, index=sums.index, dtype=object)


def product_fingerprints(
    listings: pd.DataFrame, reviews: pd.DataFrame, settings_fingerprint: str
) -> pd.Series:
    """Per product id: a digest of its listings' latest offer rows, its reviews' content and
    ids, and the settings its per-product results depend on."""
    columns = [c for c in FINGERPRINT_FIELDS if c in listings.columns]
    listing_part = _summed_hash(_row_hashes(listings[columns]), listings["product_id"])
    review_columns = [c for c in ("store", "review_id", "content_hash") if c in reviews.columns]
    if "content_hash" not in reviews.columns:
        review_columns += [c for c in ("author", "rating", "title", "body", "date")]
    review_part = _summed_hash(_row_hashes(reviews[review_columns]), reviews["product_id"])
    reviewed = review_part.to_dict()
    review_part = pd.Series(
        [reviewed.get(pid, "-") for pid in listing_part.index], index=listing_part.index
    )
    return settings_fingerprint + ":" + listing_part + ":" + review_part


def changed_products(fingerprints: pd.Series, previous_inputs: pd.DataFrame | None) -> pd.Index:
    """Product ids whose fingerprint is new or differs from the stored one."""
    if previous_inputs is None or previous_inputs.empty:
        return fingerprints.index
    stored = previous_inputs.set_index("product_id")["fingerprint"]
    same = fingerprints.index.to_series().map(stored).eq(fingerprints)
    return fingerprints.index[~same.to_numpy(dtype=bool)]


# ---------------------------------------------------------------- per-product work


def trust_context(reviews: pd.DataFrame, products: Iterable[object]) -> pd.DataFrame:
    """The reviews of ``products`` plus every other review by their reviewers, so the
    reviewer-level trust signals (review counts, brands, days) see each reviewer whole."""
    wanted = reviews["product_id"].isin(set(products))
    reviewers = reviews.loc[wanted, "author"].dropna().unique()
    return reviews[wanted | reviews["author"].isin(reviewers)]


def judge_products(
    reviews: pd.DataFrame,
    products: pd.Index,
    previous_reviews: pd.DataFrame | None,
    settings: ScoringSettings,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """``(per-product trust, per-review scores, skipped tests)`` for ``products`` only."""
    context = trust_context(reviews, products)
    if context.empty:
        none = reviews.iloc[:0].assign(suspicion=pd.Series(dtype=float), flags=None, kept=None)
        return pd.DataFrame(columns=["product_id"]), none, {}
    keyed = context.assign(review_id=context["store"].astype(str) + "\x1f" + context["review_id"])
    previous = None
    if previous_reviews is not None:
        previous = previous_reviews[previous_reviews["product_id"].isin(set(products))]
        previous = previous.assign(
            review_id=previous["store"].astype(str) + "\x1f" + previous["review_id"]
        )
    judged = judge_reviews(keyed, config=settings.trust, previous=previous)
    wanted = set(products)
    scored = context.assign(
        suspicion=judged.reviews["suspicion"].to_numpy(),
        flags=judged.reviews["flags"].to_numpy(),
        kept=judged.reviews["kept"].to_numpy(),
    )
    scored = scored[scored["product_id"].isin(wanted)]
    summary = judged.products[judged.products["product_id"].isin(wanted)]
    kept = scored[scored["kept"]]
    rated = pd.to_numeric(kept["rating"], errors="coerce")
    rated = rated.where((rated >= 1) & (rated <= 5))
    trusted = rated.groupby(kept["product_id"]).agg(["mean", "count"])
    summary = summary.assign(
        report_card=summary["product_id"].map(judged.report_cards),
        trusted_mean=summary["product_id"].map(trusted["mean"]).astype(float),
        trusted_reviews=summary["product_id"].map(trusted["count"]).fillna(0).astype("int64"),
    )
    return summary, scored, judged.skipped_tests


def _sentiment_chunk(reviews: pd.DataFrame) -> pd.DataFrame:
    """Sentences of one chunk of uncached reviews (runs in a worker process)."""
    return sentence_features(reviews, None)[1]


class PendingSentiment:
    """Sentence features being computed: many uncached reviews go to worker processes at
    once (so the main process can judge trust meanwhile); ``result()`` waits for them."""

    def __init__(self, reviews: pd.DataFrame, cache: SentenceCache, workers: int) -> None:
        keys = review_keys(reviews)
        if callable(cache):
            cache = cache(list(dict.fromkeys(keys)))
        self.reviews, self.cache = reviews, cache
        known = set(cache["review_key"]) if cache is not None and not cache.empty else set()
        uncached = ~keys.isin(known).to_numpy(dtype=bool)
        todo = pd.DataFrame(
            {
                "content_hash": keys[uncached].to_numpy(),
                "title": reviews["title"].to_numpy()[uncached],
                "body": reviews["body"].to_numpy()[uncached],
            }
        ).drop_duplicates("content_hash")
        self.pool: ProcessPoolExecutor | None = None
        self.futures: list[Any] = []
        if len(todo) >= PARALLEL_SENTIMENT_MIN and workers >= 2:
            self.pool = ProcessPoolExecutor(workers, mp_context=get_context("forkserver"))
            self.futures = [
                self.pool.submit(_sentiment_chunk, todo.iloc[i : i + SENTIMENT_CHUNK])
                for i in range(0, len(todo), SENTIMENT_CHUNK)
            ]

    def close(self) -> None:
        """Stop the workers (after a result, or when the run failed before asking for one)."""
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def result(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """``(features, new rows)`` as ``sentence_features`` gives them."""
        if self.pool is None:
            return sentence_features(self.reviews, self.cache)
        try:
            parts = [future.result() for future in self.futures]
        finally:
            self.close()
        new_rows = pd.concat(parts, ignore_index=True)
        cache = self.cache
        merged = new_rows if cache is None or cache.empty else pd.concat([cache, new_rows])
        features, _ = sentence_features(self.reviews, merged[list(SENTENCE_COLUMNS)])
        return features, new_rows


def review_sentiment(
    reviews: pd.DataFrame, cache: SentenceCache, workers: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(features, new rows)`` as ``sentence_features``; many uncached reviews are split
    over ``workers`` processes, each distinct review text scored once."""
    return PendingSentiment(reviews, cache, workers).result()


def per_product_results(
    listings: pd.DataFrame,
    reviews: pd.DataFrame,
    products: pd.Index,
    *,
    previous_reviews: pd.DataFrame | None,
    sentence_cache: SentenceCache,
    settings: ScoringSettings,
    workers: int,
    clock: Stopwatch,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """For ``products``: ``(results, review scores, new sentence rows, skipped trust tests)``;
    results has product_id and PER_PRODUCT_RESULTS."""
    wanted = set(products)
    own_listings = listings[listings["product_id"].isin(wanted)]
    own_reviews = reviews[reviews["product_id"].isin(wanted)]
    with clock("sentiment"):
        sentiment = PendingSentiment(own_reviews, sentence_cache, workers)
    try:
        with clock("specs"):
            pairs = own_listings[["product_id", "listing_id"]]
            specs = product_specs(extract_specs(own_listings), pairs)
        with clock("trust"):
            trust, scored, skipped = judge_products(reviews, products, previous_reviews, settings)
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
    for column in ("pros", "cons", "report_card"):
        results[column] = [v if isinstance(v, list) else [] for v in results[column]]
    return results[["product_id", *PER_PRODUCT_RESULTS]], scored, new_rows, skipped


def _plain(value: Any) -> Any:
    """A cell as a JSON-ready value: numpy scalars unwrapped, NaN/NA as None."""
    if value is None or value is pd.NA:
        return None
    if hasattr(value, "item") and not isinstance(value, list | dict):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def results_records(results: pd.DataFrame) -> list[dict[str, Any]]:
    """Per-product results as the plain JSON values the store keeps between runs, so a
    fresh result and a stored one look exactly alike."""
    records = [
        {column: _plain(record[column]) for column in PER_PRODUCT_RESULTS}
        for record in results.to_dict("records")
    ]
    return json.loads(json.dumps(records, default=_json_value))


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"cannot keep {type(value).__name__} between runs: {value!r}")


def stored_results(previous_inputs: pd.DataFrame, products: pd.Index) -> pd.DataFrame:
    """``product_id, results`` of ``products`` from an earlier run's product_inputs."""
    kept = previous_inputs[previous_inputs["product_id"].isin(set(products))]
    return kept[["product_id", "results"]].reset_index(drop=True)


# ---------------------------------------------------------------- cross-product steps


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


def offer_history_of(offers: pd.DataFrame, history: pd.DataFrame | None) -> pd.DataFrame:
    """The offer history to summarise prices from: ``history``, else the latest offers alone."""
    frame = history if history is not None else offers
    if "run_id" not in frame.columns:
        frame = frame.assign(run_id=None)
    return frame.pipe(with_decimal_prices)


def _empty_result(membership: pd.DataFrame, summary: dict[str, Any]) -> ScoreResult:
    products = pd.DataFrame({name: pd.Series(dtype=object) for name in PRODUCT_COLUMNS})
    empty_sentences = pd.DataFrame({c: pd.Series(dtype=object) for c in SENTENCE_COLUMNS})
    return ScoreResult(
        products=products,
        product_listings=membership[list(PRODUCT_LISTING_COLUMNS)],
        reviews=pd.DataFrame(columns=list(REVIEW_SCORE_COLUMNS)),
        summary=summary,
        new_sentence_cache_rows=empty_sentences,
    )


def score(
    offers: pd.DataFrame,
    reviews: pd.DataFrame,
    *,
    categories: Iterable[CategoryRuleLike],
    catalog_scoring: Any = None,
    prior_strength: float | None = None,
    offer_history: pd.DataFrame | None = None,
    previous_reviews: pd.DataFrame | None = None,
    sentence_cache: SentenceCache = None,
    previous_inputs: pd.DataFrame | None = None,
    match_overrides: MatchOverrides | None = None,
    now: datetime | None = None,
    max_price_age_hours: float = 24.0,
    workers: int | None = None,
) -> ScoreResult:
    """Products ranked from the latest offers and the current reviews. No I/O.

    ``catalog_scoring`` is the catalog's ScoringConfig (or its raw [scoring] mapping);
    ``prior_strength`` overrides its figure. ``offer_history`` (``store.read_offer_history()``)
    feeds the price summaries; ``previous_reviews`` (every stored review, current or gone)
    the deleted-reviews trust test; ``sentence_cache`` is cached sentence rows, or a look-up
    called with the content hashes wanted. With ``previous_inputs`` (an earlier result's
    ``product_inputs``) only products whose listings or reviews changed are judged again;
    the rest keep their trust, specs and pros/cons, while priors, scores, ranks, badges,
    prices and sensitivity are recomputed for all. ``now`` (default: the current time)
    decides which prices are still current. Unpacks as ``products, product_listings``.
    """
    require_columns(offers, OFFER_COLUMNS, "offers")
    require_columns(reviews, REVIEW_COLUMNS, "reviews")
    raw = getattr(catalog_scoring, "raw", catalog_scoring) or {}
    if prior_strength is None and catalog_scoring is not None:
        prior_strength = getattr(catalog_scoring, "prior_strength", None)
    settings = ScoringSettings.from_scoring(
        raw,
        categories=categories,
        prior_strength=prior_strength,
        max_price_age_hours=max_price_age_hours,
    )
    workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    now = now if now is not None else datetime.now(UTC)

    offers = offers.drop_duplicates("listing_id", keep="last").pipe(with_decimal_prices)
    offers = offers.reset_index(drop=True)
    clock = Stopwatch()
    with clock("matching"):
        digests = match_digests(
            offers, f"{settings.fingerprint}/{_overrides_digest(match_overrides)}"
        )
        reused = None
        previous = previous_matches(previous_inputs)
        if len(previous) and len(offers):
            reused = incremental_match(
                offers, previous, digests, config=settings.matching, overrides=match_overrides
            )
        if reused is None:
            matched = match_listings(offers, config=settings.matching, overrides=match_overrides)
            listings_matched = len(offers)
        else:
            matched, listings_matched = reused
    membership = stable_product_ids(offers, matched) if len(offers) else matched
    membership = membership.sort_values(["product_id", "listing_id"], ignore_index=True)
    summary: dict[str, Any] = {
        "weights": settings.weights,
        "thresholds": settings.thresholds(),
        "settings_fingerprint": settings.fingerprint,
    }
    if offers.empty:
        summary["counts"] = {"offers": 0, "products": 0}
        return _empty_result(membership, summary)

    listings = (
        offers.merge(membership, on="listing_id", how="inner")
        .pipe(listing_ratings, reviews)
        .reset_index(drop=True)
    )
    products = product_frame(listings)
    linked = reviews.merge(membership, on="listing_id", how="inner").reset_index(drop=True)
    linked = linked.assign(
        brand=linked["product_id"].map(products.set_index("product_id")["brand"])
    )
    if "content_hash" not in linked.columns or linked["content_hash"].isna().any():
        linked = linked.assign(content_hash=review_keys(linked))
    previous = None
    if previous_reviews is not None:
        previous = previous_reviews.merge(membership, on="listing_id", how="inner")

    fingerprints = product_fingerprints(listings, linked, settings.fingerprint)
    changed = changed_products(fingerprints, previous_inputs)
    unchanged = fingerprints.index.difference(changed)
    fresh, review_scores, new_rows, skipped = per_product_results(
        listings,
        linked,
        changed,
        previous_reviews=previous,
        sentence_cache=sentence_cache,
        settings=settings,
        workers=workers,
        clock=clock,
    )
    parts = [
        pd.DataFrame(
            {"product_id": fresh["product_id"].to_numpy(), "results": results_records(fresh)}
        )
    ]
    if len(unchanged):
        assert previous_inputs is not None
        parts.append(stored_results(previous_inputs, unchanged))
    kept = pd.concat([p for p in parts if len(p)], ignore_index=True)
    results = pd.DataFrame(
        {
            "product_id": kept["product_id"],
            **{
                column: pd.Series([r.get(column) for r in kept["results"]], dtype=object)
                for column in PER_PRODUCT_RESULTS
            },
        }
    )
    listing_matches = listing_digests_by_product(membership, digests)
    product_inputs = kept.assign(
        fingerprint=kept["product_id"].map(fingerprints),
        results=[
            {**results, MATCHES_KEY: listing_matches.get(pid, {})}
            for pid, results in zip(kept["product_id"], kept["results"], strict=True)
        ],
    )[["product_id", "fingerprint", "results"]].sort_values("product_id", ignore_index=True)

    products = (
        products.merge(results, on="product_id", how="left")
        .pipe(assign_subcategory, settings.subcategories, results[["product_id", "specs"]],
              text_column="category_text")
    )  # fmt: skip
    products = products.assign(category=products["subcategory"])
    products = products.pipe(bayesian_average, settings.prior_strength)
    products = products.assign(
        trust_adjusted_rating=trust_adjusted_rating(products, settings.prior_strength)
    )
    with clock("scores"):
        products = (
            products.pipe(score_products, rating_histogram(linked), settings.weights)
            .pipe(rank_by_composite)
            .pipe(assign_badges, settings.badges)
        )
    with clock("prices"):
        prices = price_summaries(
            offer_history_of(offers, offer_history), membership, now=now, rules=settings.prices
        )
    products = products.merge(prices, on="product_id", how="left")
    for column in ("price_summary", "price_history"):
        products[column] = [v if isinstance(v, list) else [] for v in products[column]]
    products = products.drop(columns=["category_text"]).sort_values(
        ["subcategory", "rank"], ignore_index=True
    )
    products = products[[*PRODUCT_COLUMNS, *[c for c in products if c not in PRODUCT_COLUMNS]]]
    # Text stays object with None for missing (pandas 3 would infer its str dtype on some paths).
    text = products.select_dtypes(include=["string", "object"]).columns
    products[text] = products[text].astype(object).where(products[text].notna(), None)
    require_columns(products, PRODUCT_COLUMNS, "scored products")

    with clock("sensitivity"):
        sensitivity = weight_sensitivity(products, settings.weights)
    summary |= {
        "sensitivity": sensitivity,
        "trust_skipped_tests": skipped,
        "counts": {
            "offers": len(offers),
            "products": len(products),
            "reviews": len(reviews),
            "reviews_linked": len(linked),
            "listings_matched": listings_matched,
            "products_rescored": len(changed),
            "products_reused": len(unchanged),
            "reviews_rescored": len(review_scores),
            "sentences_computed": len(new_rows),
        },
        "timings": clock.seconds,
    }
    review_scores = review_scores.drop(columns=["brand"], errors="ignore").reset_index(drop=True)
    require_columns(review_scores, REVIEW_SCORE_COLUMNS, "scored reviews")
    return ScoreResult(
        products=products,
        product_listings=membership[list(PRODUCT_LISTING_COLUMNS)],
        reviews=review_scores,
        summary=summary,
        new_sentence_cache_rows=new_rows,
        product_inputs=product_inputs,
    )
