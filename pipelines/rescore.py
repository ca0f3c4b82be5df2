"""Run the scoring stage on what the store holds and save what it returns."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from backrank.core import amazon_rules
from backrank.core.store import Store
from pipelines.matching import MatchOverrides, load_overrides
from pipelines.run import ScoreResult, score
from pipelines.sentiment import SENTIMENT_VERSION

OVERRIDES_FILE = "matches.toml"


def current_reviews(offers: pd.DataFrame, reviews: pd.DataFrame) -> pd.DataFrame:
    """The reviews still on their listing's page: a review is gone when its listing was
    crawled again later than the review was last seen, and that crawl did fetch reviews of
    the listing (a crawl that fetched none says nothing about which vanished)."""
    latest_run = reviews["listing_id"].map(offers.set_index("listing_id")["run_id"])
    seen = reviews["last_seen_run"].astype("Float64")
    latest = latest_run.astype("Float64")
    fetched_again = (seen == latest).fillna(False).groupby(reviews["listing_id"]).transform("any")
    gone = (seen < latest).fillna(False) & fetched_again.fillna(False).astype(bool)
    return reviews[~gone.to_numpy(dtype=bool)].reset_index(drop=True)


def live_offers(offers: pd.DataFrame) -> pd.DataFrame:
    """The offers of listings still sold: a listing the store marked ``gone`` (delisted after
    repeated misses) builds no product, so its price and reviews leave the site too."""
    if "gone" not in offers.columns:
        return offers
    gone = offers["gone"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    return offers[~gone].reset_index(drop=True)


def match_overrides(catalog_path: Path | None) -> MatchOverrides | None:
    """The owner's matches.toml beside the catalog, when there is one."""
    if catalog_path is None:
        return None
    path = Path(catalog_path).parent / OVERRIDES_FILE
    return load_overrides(path) if path.is_file() else None


def score_store(
    store: Store,
    catalog: Any,
    *,
    now: datetime | None = None,
    full: bool = False,
    workers: int | None = None,
) -> ScoreResult:
    """Score the store's live listings' latest offers and current reviews, then save products, the
    scoring summary, per-review scores, new sentence rows and per-product inputs.

    Unless ``full``, products whose listings and reviews are unchanged since the last
    scoring keep their stored per-product results. The Amazon stores' prices, stock and image
    links older than 24 hours are emptied in the store first (``amazon_rules``).
    """
    now = now or datetime.now(UTC)
    # Amazon's prices, stock and image links are kept 24 hours, then emptied for good.
    shown_only = amazon_rules.amazon_stores(catalog)
    store.expire_shown_only_data(shown_only, now - amazon_rules.max_age())
    offers = live_offers(store.read_offers(latest=True))
    listings = store.read_listings()[["listing_id", "description"]]
    offers = offers.merge(listings, on="listing_id", how="left")
    stored_reviews = store.read_reviews()
    previous_inputs = None if full else store.read_product_inputs()
    result = score(
        offers,
        current_reviews(offers, stored_reviews),
        categories=catalog.categories,
        catalog_scoring=catalog.scoring,
        offer_history=store.read_offer_history(),
        previous_reviews=stored_reviews,
        sentence_cache=lambda hashes: store.read_review_sentences(SENTIMENT_VERSION, hashes),
        previous_inputs=previous_inputs,
        match_overrides=match_overrides(getattr(catalog, "path", None)),
        now=now,
        workers=workers,
        shown_only_stores=shown_only,
    )
    run_id = store.last_run_id(status=None)
    store.save_products(run_id, result.products, result.product_listings)
    if run_id is not None:
        store.save_scoring_summary(run_id, result.summary)
    store.save_review_scores(run_id, result.reviews)
    store.save_review_sentences(result.new_sentence_cache_rows, SENTIMENT_VERSION)
    store.save_product_inputs(run_id, result.product_inputs)
    return result
