"""After a complete crawl: each store's extraction yield, drift against its last good run, and gone listings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from backrank.store import Store

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

    Misses count only for stores that are ``ok``: an outage or a redesign says nothing about
    whether a product is still sold. Judging a run twice changes nothing.
    """
    conn = db.conn
    judged = []
    for store in stores:
        done = conn.execute(
            "SELECT 1 FROM run_stores WHERE run_id = ? AND store = ?", (run_id, store)
        ).fetchone()
        if done:
            judged.append(_read_health(db, run_id, store))
            continue
        listings, with_price = conn.execute(
            "SELECT count(*), count(o.price) FROM offers o JOIN listings l USING (listing_id)"
            " WHERE o.run_id = ? AND l.store = ?",
            (run_id, store),
        ).fetchone()
        lost = sum(
            int(stats.get(f"backrank/store/{store}/{key}", 0))
            for key in ("skipped/no_product", "dropped/no_title")
        )
        expected = listings + lost
        share = price_share(with_price, expected)
        baseline = conn.execute(
            "SELECT run_id, price_share FROM run_stores WHERE store = ? AND status = 'ok'"
            " AND run_id < ? ORDER BY run_id DESC LIMIT 1",
            (store, run_id),
        ).fetchone()
        baseline_run, baseline_share = baseline if baseline else (None, None)
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
        with conn:
            conn.execute(
                "INSERT INTO run_stores (run_id, store, status, product_pages, listings,"
                " with_price, price_share, baseline_run, baseline_share) VALUES (:run_id, :store,"
                " :status, :product_pages, :listings, :with_price, :price_share, :baseline_run,"
                " :baseline_share)",
                {"run_id": run_id, **asdict(health)},
            )
            if health.status == "ok":
                _count_misses(db, run_id, store, gone_after_misses)
        judged.append(health)
    return judged


def _count_misses(db: Store, run_id: int, store: str, gone_after_misses: int) -> None:
    conn = db.conn
    conn.execute(
        "UPDATE listings SET misses = 0, gone_run = NULL WHERE store = ? AND last_seen_run = ?",
        (store, run_id),
    )
    conn.execute(
        "UPDATE listings SET misses = misses + 1 WHERE store = ? AND last_seen_run < ?",
        (store, run_id),
    )
    conn.execute(
        "UPDATE listings SET gone_run = ? WHERE store = ? AND gone_run IS NULL AND misses >= ?",
        (run_id, store, gone_after_misses),
    )


def _read_health(db: Store, run_id: int, store: str) -> StoreHealth:
    row = db.conn.execute(
        "SELECT store, status, product_pages, listings, with_price, price_share, baseline_run,"
        " baseline_share FROM run_stores WHERE run_id = ? AND store = ?",
        (run_id, store),
    ).fetchone()
    names = ("store", "status", "product_pages", "listings", "with_price", "price_share",
             "baseline_run", "baseline_share")  # fmt: skip
    return StoreHealth(**dict(zip(names, row, strict=True)))
