"""Concurrent writers: processes saving overlapping listings, offers and reviews into one store
lose no update and duplicate nothing, on SQLite and on PostgreSQL."""

from __future__ import annotations

import multiprocessing
import random
from decimal import Decimal

import pytest

from backrank.core.store import Store

WORKERS = 4
LISTINGS = 24
REVIEWS_PER_LISTING = 3
BATCH = 6


def listing_url(number: int) -> str:
    return f"http://127.0.0.1:8102/products/table-{number}"


def listing(number: int, run: int) -> dict:
    """Listing ``number`` as crawled in ``run``: its price depends on both, so a lost or
    misfiled update shows."""
    return {
        "store": "demo-shopify" if number % 2 else "demo-amazon",
        "url": listing_url(number) + f"?seen={run}",
        "canonical_url": listing_url(number),
        "title": f"Table {number}",
        "price": Decimal(f"{100 + number}.{run:02d}"),
        "currency": "USD",
        "fetched_at": f"2024-07-0{run % 9 + 1}T10:00:00+00:00",
    }


def review(number: int, index: int) -> dict:
    # The review page's URL differs from the product page's (query) but keys to the listing.
    return {
        "store": "demo-shopify" if number % 2 else "demo-amazon",
        "url": listing_url(number) + "?page=2",
        "review_id": f"r-{number}-{index}",
        "rating": float(1 + (number + index) % 5),
        "body": f"Review {index} of table {number}",
    }


def write_everything(target: str, runs: list[int], seed: int) -> int:
    """One crawl worker: every listing and every review in every run, in its own shuffled
    order and batches, so reviews come before their listing is stored as often as after."""
    rng = random.Random(seed)
    work = [("listing", n, 0, run) for n in range(LISTINGS) for run in runs]
    work += [
        ("review", n, i, run)
        for n in range(LISTINGS)
        for i in range(REVIEWS_PER_LISTING)
        for run in runs
    ]
    rng.shuffle(work)
    saved = 0
    with Store.open(target) as store:
        for start in range(0, len(work), BATCH):
            batch = work[start : start + BATCH]
            for run in runs:
                listings = [
                    listing(n, run) for kind, n, _, r in batch if kind == "listing" and r == run
                ]
                reviews = [review(n, i) for kind, n, i, r in batch if kind == "review" and r == run]
                saved += store.save_listings(run, listings) + store.save_reviews(run, reviews)
    return saved


@pytest.mark.slow
def test_concurrent_writers_keep_one_row_each_and_the_newest_run(store_target: str) -> None:
    with Store.open(store_target) as store:
        runs = [store.start_run(None) for _ in range(2)]
    context = multiprocessing.get_context("spawn")
    with context.Pool(WORKERS) as pool:
        saved = pool.starmap(
            write_everything, [(store_target, runs, seed) for seed in range(WORKERS)]
        )
    per_worker = (LISTINGS + LISTINGS * REVIEWS_PER_LISTING) * len(runs)
    assert saved == [per_worker] * WORKERS

    with Store.open(store_target) as store:
        listings = store.read_listings()
        offers = store.read_offers(latest=False)
        reviews = store.read_reviews()
    assert len(listings) == LISTINGS
    assert not listings.duplicated(["store", "listing_key"]).any()
    assert set(listings["last_seen_run"]) == {max(runs)}
    assert set(listings["first_seen_run"]) <= set(runs)
    # One snapshot per listing per run, each with the price that run saw.
    assert len(offers) == LISTINGS * len(runs)
    number = offers["canonical_url"].str.rsplit("-", n=1).str[1].astype(int)
    expected = [Decimal(f"{100 + n}.{run:02d}") for n, run in zip(number, offers["run_id"])]
    assert list(offers["price"]) == expected
    # Every review once, linked to its own listing, however the writers interleaved.
    assert len(reviews) == LISTINGS * REVIEWS_PER_LISTING
    assert not reviews.duplicated(["store", "review_id"]).any()
    assert reviews["listing_id"].notna().all()
    ids = dict(zip(listings["canonical_url"], listings["listing_id"]))
    owner = (
        reviews["review_id"].str.split("-").str[1].astype(int).map(lambda n: ids[listing_url(n)])
    )
    assert list(reviews["listing_id"]) == list(owner)
    assert set(reviews["last_seen_run"]) == {max(runs)}
    assert set(reviews["first_seen_run"]) <= set(runs)
