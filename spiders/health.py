"""After a complete crawl: each store's extraction yield, drift against its last good run, and gone listings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from backrank.core.store import Store
from spiders.budgets import store_cut_short

# A store drifted when its share of listings with a price fell below this fraction of the
# share in its last good run (e.g. 0.9 -> under 0.45): most listings lost their price.
DRIFT_RATIO = 0.5
DRIFT_MIN_BASELINE = 0.2  # a store that rarely shows prices cannot drift by that measure
DRIFT_MIN_PAGES = 3  # too few product pages to judge


@dataclass(frozen=True, kw_only=True)
class StoreHealth:
    """One store in one run: how much it yielded and what that means."""

    store: str
    status: str  # ok | drifted | failed
    product_pages: int  # product pages parsed (not blocked): denominator of the yield
    listings: int  # listings stored this run
    with_price: int
    price_share: float | None
    baseline_run: int | None
    baseline_share: float | None


def price_share(with_price: int, expected: int) -> float | None:
    """Share of the listings a store should have given that came with a price."""
    return None if expected <= 0 else with_price / expected


def is_drifted(share: float | None, baseline: float | None, pages: int) -> bool:
    """The yield collapsed against the last good run (see DRIFT_RATIO)."""
    if share is None or baseline is None or pages < DRIFT_MIN_PAGES:
        return False
    return baseline >= DRIFT_MIN_BASELINE and share < baseline * DRIFT_RATIO


def store_status(listings: int, expected: int, drifted: bool) -> str:
    if drifted:
        return "drifted"
    return "failed" if listings == 0 and expected == 0 else "ok"


def assess_run(
    db: Store,
    run_id: int,
    stats: Mapping[str, Any],
    stores: Iterable[str],
    *,
    gone_after_misses: int,
) -> list[StoreHealth]:
    """Judge each crawled store of a complete run, write ``run_stores`` and update gone listings.

    Misses count only for stores that are ``ok`` and that no crawl budget cut short: an
    outage, a redesign or a budget says nothing about whether a product is still sold. Judging a run twice changes nothing.
    """
    judged = []
    for store in stores:
        done = db.read_run_stores(run_id)
        if store in set(done["store"]):
            judged.append(_health_from_row(done[done["store"] == store].iloc[0]))
            continue
        listings, with_price = db.run_store_yield(run_id, store)
        lost = sum(
            int(stats.get(f"backrank/store/{store}/{key}", 0))
            for key in ("skipped/no_product", "dropped/no_title")
        )
        expected = listings + lost
        share = price_share(with_price, expected)
        baseline_run, baseline_share = db.last_good_share(store, run_id)
        pages = int(stats.get(f"backrank/store/{store}/pages/product", 0))
        drifted = is_drifted(share, baseline_share, max(pages, expected))
        health = StoreHealth(
            store=store,
            status=store_status(listings, expected, drifted),
            product_pages=pages,
            listings=listings,
            with_price=with_price,
            price_share=share,
            baseline_run=baseline_run,
            baseline_share=baseline_share,
        )
        # Misses count in the same transaction as the verdict: judged once, counted once. A
        # store a crawl budget cut short did not look for every listing: no misses either.
        counts_misses = health.status == "ok" and not store_cut_short(stats, store)
        db.save_run_store(
            run_id,
            asdict(health),
            gone_after_misses=gone_after_misses if counts_misses else None,
        )
        judged.append(health)
    return judged


def _health_from_row(row: Any) -> StoreHealth:
    """A StoreHealth from a ``read_run_stores`` row (NA as None)."""

    def plain(value: Any) -> Any:
        return None if pd.isna(value) else value

    return StoreHealth(
        store=row["store"],
        status=row["status"],
        product_pages=int(row["product_pages"]),
        listings=int(row["listings"]),
        with_price=int(row["with_price"]),
        price_share=plain(row["price_share"]),
        baseline_run=None if pd.isna(row["baseline_run"]) else int(row["baseline_run"]),
        baseline_share=plain(row["baseline_share"]),
    )
