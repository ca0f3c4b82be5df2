"""What a crawl writes: runs, the catalog's stores, listings with their offer snapshots, reviews,
and each store's health in a run."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import Connection

from backrank.core.frames import RUN_STORES, RUNS
from backrank.core.store.engine import StoreEngine, numbered, placeholders
from backrank.core.store.keys import canonical_key, listing_key, review_content_hash, url_key
from backrank.core.store.values import (
    as_mapping,
    decimal_text,
    float_or_none,
    int_or_none,
    now_text,
    typed,
    utc_datetime,
)

RUN_STATUSES = ("running", "ok", "warnings", "failed")
# Descriptive listing fields an upsert refreshes (a NULL never replaces a known value).
_LISTING_FIELDS = (
    "url", "url_key", "canonical_url", "title", "brand", "gtin", "mpn", "sku", "asin",
    "category", "description", "image_url", "platform",
)  # fmt: skip
_OFFER_FIELDS = (
    "price", "list_price", "currency", "availability", "rating", "review_count", "fetched_at",
    "source",
)  # fmt: skip
OFFER_SOURCES = ("crawl", "api", "link_only")  # offers.source: see schema step 5
_REVIEW_FIELDS = (
    "listing_url", "listing_url_key", "author", "rating", "title", "body", "date", "verified",
    "helpful_votes", "language", "content_hash", "fetched_at",
)  # fmt: skip
_RUN_STORE_FIELDS = RUN_STORES.columns[1:]  # after run_id


class CrawlWrites(StoreEngine):
    """Runs, stores, listings, offers and reviews as the crawl records them."""

    # --- runs -------------------------------------------------------------------------

    def start_run(self, catalog_path: str | None = None) -> int:
        """Record a new crawl run; return its id."""
        params = {
            "started": now_text(),
            "catalog": None if catalog_path is None else str(catalog_path),
        }
        return self._transact(
            lambda conn: self._execute(
                conn,
                "INSERT INTO runs (started_at, status, catalog_path)"
                " VALUES (:started, 'running', :catalog) RETURNING run_id",
                params,
            ).scalar_one()
        )

    def finish_run(self, run_id: int, status: str, stats: Mapping[str, Any]) -> None:
        """Close a run with its outcome and crawl stats."""
        if status not in RUN_STATUSES:
            raise ValueError(f"status must be one of {', '.join(RUN_STATUSES)} (got {status!r})")
        params = {
            "finished": now_text(),
            "status": status,
            "stats": json.dumps(dict(stats), default=str, sort_keys=True),
            "run_id": run_id,
        }
        updated = self._transact(
            lambda conn: (
                self._execute(
                    conn,
                    "UPDATE runs SET finished_at = :finished, status = :status, stats_json = :stats"
                    " WHERE run_id = :run_id",
                    params,
                ).rowcount
            )
        )
        if updated != 1:
            raise KeyError(f"no run {run_id}")

    def runs(self) -> pd.DataFrame:
        """Every run, oldest first; ``stats`` is the decoded stats dict."""
        frame = self._frame(
            "SELECT run_id, started_at, finished_at, status, catalog_path, stats_json"
            " FROM runs ORDER BY run_id"
        )
        frame["stats"] = [json.loads(s) if s else {} for s in frame.pop("stats_json")]
        return typed(frame, RUNS.dtypes)

    def last_run_id(self, status: str | None = "ok") -> int | None:
        """The newest run with ``status`` (any status when None), or None."""
        if status is None:
            row = self._one("SELECT max(run_id) FROM runs")
        else:
            row = self._one(
                "SELECT max(run_id) FROM runs WHERE status = :status", {"status": status}
            )
        return row[0]

    def count_offers(self, run_id: int) -> int:
        """How many offer snapshots ``run_id`` stored."""
        return self._one("SELECT count(*) FROM offers WHERE run_id = :run_id", {"run_id": run_id})[
            0
        ]

    def count_reviews(self, run_id: int) -> int:
        """How many distinct reviews ``run_id`` saw (stored or seen again)."""
        return self._one(
            "SELECT count(*) FROM reviews WHERE last_seen_run = :run_id", {"run_id": run_id}
        )[0]

    # --- per-store health of a run (spiders.health) ----------------------------------------

    def read_run_stores(self, run_id: int | None = None) -> pd.DataFrame:
        """Each judged store of each run (``run_id`` only, when given), by run then store."""
        where = "" if run_id is None else " WHERE run_id = :run_id"
        frame = self._frame(
            f"SELECT {', '.join(RUN_STORES.columns)} FROM run_stores{where}"
            f" ORDER BY run_id, store{self._binary}",
            {"run_id": run_id},
        )
        return typed(frame, RUN_STORES.dtypes)

    def run_store_yield(self, run_id: int, store: str) -> tuple[int, int]:
        """``(listings, with_price)``: offers ``store`` gave in ``run_id`` and how many priced."""
        listings, with_price = self._one(
            "SELECT count(*), count(o.price) FROM offers o JOIN listings l USING (listing_id)"
            " WHERE o.run_id = :run_id AND l.store = :store",
            {"run_id": run_id, "store": store},
        )
        return int(listings), int(with_price)

    def last_good_share(self, store: str, before_run: int) -> tuple[int | None, float | None]:
        """``(run_id, price_share)`` of the store's newest ``ok`` run before ``before_run``."""
        row = self._one(
            "SELECT run_id, price_share FROM run_stores WHERE store = :store AND status = 'ok'"
            " AND run_id < :run_id ORDER BY run_id DESC LIMIT 1",
            {"store": store, "run_id": before_run},
        )
        return (None, None) if row is None else (row[0], row[1])

    def save_run_store(
        self, run_id: int, health: Mapping[str, Any], *, gone_after_misses: int | None = None
    ) -> None:
        """Record a store's health in a run (``run_stores`` columns); with ``gone_after_misses``
        also count misses in the same transaction: listings of the store seen this run are
        live again, the others miss once more and are marked gone at ``gone_after_misses``."""
        row = {"run_id": run_id, **{c: health[c] for c in _RUN_STORE_FIELDS}}
        store = health["store"]

        def work(conn: Connection) -> None:
            self._execute(
                conn,
                f"INSERT INTO run_stores (run_id, {', '.join(_RUN_STORE_FIELDS)}) VALUES (:run_id, "
                + ", ".join(f":{c}" for c in _RUN_STORE_FIELDS)
                + ")",
                row,
            )
            if gone_after_misses is None:
                return
            keys = {"store": store, "run_id": run_id, "misses": gone_after_misses}
            self._execute(
                conn,
                "UPDATE listings SET misses = 0, gone_run = NULL"
                " WHERE store = :store AND last_seen_run = :run_id",
                keys,
            )
            self._execute(
                conn,
                "UPDATE listings SET misses = misses + 1"
                " WHERE store = :store AND last_seen_run < :run_id",
                keys,
            )
            self._execute(
                conn,
                "UPDATE listings SET gone_run = :run_id"
                " WHERE store = :store AND gone_run IS NULL AND misses >= :misses",
                keys,
            )

        self._transact(work)

    def gone_counts(self, run_id: int, store: str) -> tuple[int, int, int]:
        """``(gone this run, gone in all, missed this run but not gone yet)`` of a store."""
        row = self._one(
            "SELECT count(*) FILTER (WHERE gone_run = :run_id), count(gone_run),"
            " count(*) FILTER (WHERE gone_run IS NULL AND last_seen_run < :run_id)"
            " FROM listings WHERE store = :store",
            {"run_id": run_id, "store": store},
        )
        return int(row[0]), int(row[1]), int(row[2])

    def price_changes(self, run_id: int, store: str) -> list[tuple[Decimal, Decimal]]:
        """``(price now, price before)`` of a store's listings priced in ``run_id`` and in an
        earlier run (the newest earlier price)."""
        rows = self._rows(
            "SELECT o.price, (SELECT p.price FROM offers p WHERE p.listing_id = o.listing_id"
            " AND p.run_id < o.run_id AND p.price IS NOT NULL ORDER BY p.run_id DESC LIMIT 1)"
            " FROM offers o JOIN listings l USING (listing_id) WHERE o.run_id = :run_id"
            " AND l.store = :store AND o.price IS NOT NULL",
            {"run_id": run_id, "store": store},
        )
        return [(Decimal(now), Decimal(before)) for now, before in rows if before is not None]

    # --- writing crawl results ----------------------------------------------------------

    def save_store(self, name: str, platform: str | None, base_url: str | None) -> None:
        """Record (or update) a catalog store."""
        params = {"name": name, "platform": platform, "base_url": base_url}
        self._transact(
            lambda conn: self._execute(
                conn,
                "INSERT INTO stores (name, platform, base_url) VALUES (:name, :platform, :base_url)"
                " ON CONFLICT (name) DO UPDATE SET platform = excluded.platform,"
                " base_url = excluded.base_url",
                params,
            )
        )

    def save_listings(self, run_id: int, listings: Iterable[Mapping[str, Any]]) -> int:
        """Upsert listings and their offer snapshot for ``run_id`` in one transaction.

        Reviews saved earlier for a listing not stored then are linked to it here. Safe with
        concurrent writers: upserts keep one row per listing, ``last_seen_run`` the newest.
        """
        entries = []
        for record in listings:
            listing = as_mapping(record)
            if not listing.get("store") or not listing.get("url"):
                raise ValueError(f"a listing needs store and url: {listing!r}")
            row = {
                "store": listing["store"],
                "listing_key": listing_key(listing),
                "url": listing["url"],
                "url_key": url_key(listing["url"]),
                **{f: listing.get(f) for f in _LISTING_FIELDS if f not in ("url", "url_key")},
                "run_id": run_id,
            }
            offer = {
                "run_id": run_id,
                "price": decimal_text(listing.get("price")),
                "list_price": decimal_text(listing.get("list_price")),
                "currency": listing.get("currency"),
                "availability": listing.get("availability"),
                "rating": float_or_none(listing.get("rating")),
                "review_count": int_or_none(listing.get("review_count")),
                "fetched_at": listing.get("fetched_at") or now_text(),
                "source": listing.get("source") or "crawl",
            }
            if offer["source"] not in OFFER_SOURCES:
                raise ValueError(f"unknown offer source {offer['source']!r}: {OFFER_SOURCES}")
            keys = {row["url_key"], row["listing_key"]}
            if listing.get("canonical_url"):
                keys.add(url_key(listing["canonical_url"]))
            entries.append((row, offer, sorted(keys)))
        set_fields = ", ".join(
            f"{f} = coalesce(excluded.{f}, listings.{f})" for f in _LISTING_FIELDS
        )
        set_offer = ", ".join(f"{f} = coalesce(excluded.{f}, offers.{f})" for f in _OFFER_FIELDS)
        upsert_listing = (
            "INSERT INTO listings (store, listing_key, "
            + ", ".join(_LISTING_FIELDS)
            + ", first_seen_run, last_seen_run) VALUES (:store, :listing_key, "
            + ", ".join(f":{f}" for f in _LISTING_FIELDS)
            + ", :run_id, :run_id) ON CONFLICT (store, listing_key) DO UPDATE SET "
            + set_fields
            + f", last_seen_run = {self._greatest}(listings.last_seen_run, excluded.last_seen_run)"
            " RETURNING listing_id"
        )
        upsert_offer = (
            "INSERT INTO offers (listing_id, run_id, "
            + ", ".join(_OFFER_FIELDS)
            + ") VALUES (:listing_id, :run_id, "
            + ", ".join(f":{f}" for f in _OFFER_FIELDS)
            + ") ON CONFLICT (listing_id, run_id) DO UPDATE SET "
            + set_offer
        )
        link_reviews = (
            "UPDATE reviews SET listing_id = :listing_id WHERE listing_id IS NULL"
            " AND store = :store AND listing_url_key = :key"
        )

        def work(conn: Connection) -> int:
            self._lock_listing_keys(
                conn, ((row["store"], key) for row, _, keys in entries for key in keys)
            )
            for row, offer, keys in entries:
                listing_id = self._execute(conn, upsert_listing, row).scalar_one()
                self._execute(conn, upsert_offer, {**offer, "listing_id": listing_id})
                self._execute(
                    conn,
                    link_reviews,
                    [{"listing_id": listing_id, "store": row["store"], "key": k} for k in keys],
                )
            return len(entries)

        return self._transact(work) if entries else 0

    def _find_listing(self, conn: Connection, store: str, listing_url: str) -> int | None:
        key = url_key(listing_url)
        row = self._execute(
            conn,
            "SELECT listing_id FROM listings WHERE store = :store AND (url_key = :key"
            " OR listing_key = :key OR listing_key = :canonical)"
            " ORDER BY last_seen_run DESC LIMIT 1",
            {"store": store, "key": key, "canonical": canonical_key(listing_url)},
        ).first()
        return None if row is None else row[0]

    def save_reviews(self, run_id: int, reviews: Iterable[Mapping[str, Any]]) -> int:
        """Upsert reviews in one transaction; a review keeps its listing's URL until linked.

        ``review_id`` is the store's id, else ``sha1:`` + the content hash, so a review seen
        again (this run or a later one) updates its row instead of adding one.
        """
        rows = []
        for record in reviews:
            review = as_mapping(record)
            if not review.get("store") or not review.get("url"):
                raise ValueError(f"a review needs store and url: {review!r}")
            content_hash = review_content_hash(review)
            verified = review.get("verified")
            rows.append({
                "store": review["store"],
                "review_id": review.get("review_id") or f"sha1:{content_hash}",
                "listing_url": review["url"],
                "listing_url_key": url_key(review["url"]),
                "listing_id": None,
                "author": review.get("author"),
                "rating": float_or_none(review.get("rating")),
                "title": review.get("title"),
                "body": review.get("body"),
                "date": review.get("date"),
                "verified": None if verified is None else int(bool(verified)),
                "helpful_votes": int_or_none(review.get("helpful_votes")),
                "language": review.get("language"),
                "content_hash": content_hash,
                "fetched_at": review.get("fetched_at"),
                "run_id": run_id,
            })  # fmt: skip
        if not rows:
            return 0
        set_fields = ", ".join(f"{f} = coalesce(excluded.{f}, reviews.{f})" for f in _REVIEW_FIELDS)
        upsert = (
            "INSERT INTO reviews (store, review_id, listing_id, "
            + ", ".join(_REVIEW_FIELDS)
            + ", first_seen_run, last_seen_run) VALUES (:store, :review_id, :listing_id, "
            + ", ".join(f":{f}" for f in _REVIEW_FIELDS)
            + ", :run_id, :run_id) ON CONFLICT (store, review_id) DO UPDATE SET "
            + set_fields
            + ", listing_id = coalesce(excluded.listing_id, reviews.listing_id)"
            f", last_seen_run = {self._greatest}(reviews.last_seen_run, excluded.last_seen_run)"
        )
        listing_urls = sorted({(row["store"], row["listing_url"]) for row in rows})
        lock_keys = [
            (store, key)
            for store, url in listing_urls
            for key in (url_key(url), canonical_key(url))
        ]

        def work(conn: Connection) -> int:
            # The look-up runs inside the write transaction, after the key locks: a listing
            # saved concurrently is either seen here or links these reviews itself.
            self._lock_listing_keys(conn, lock_keys)
            found = {listing: self._find_listing(conn, *listing) for listing in listing_urls}
            for row in rows:
                row["listing_id"] = found[(row["store"], row["listing_url"])]
            self._execute(conn, upsert, rows)
            return len(rows)

        return self._transact(work)

    # --- Amazon's 24 hours --------------------------------------------------------------

    def expire_shown_only_data(self, stores: Collection[str], before: datetime) -> int:
        """Empty what ``stores`` (Amazon's, under its Associates rules) gave before ``before``:
        the price, list price and availability of their offer snapshots, and the image link
        of listings none of whose snapshots is newer. Returns the snapshots emptied.

        Amazon allows its prices kept for display for 24 hours and image links for as long;
        nothing older stays in the store for a history, a chart or a later page.
        """
        if not stores:
            return 0
        names = sorted(stores)
        rows = self._rows(
            "SELECT o.listing_id, o.run_id, o.fetched_at, (o.price IS NOT NULL OR"
            " o.list_price IS NOT NULL OR o.availability IS NOT NULL), l.image_url IS NOT NULL"
            " FROM offers o JOIN listings l USING (listing_id)"
            f" WHERE l.store IN ({placeholders(len(names))})",
            numbered(names),
        )
        expired = [(row, utc_datetime(row[2])) for row in rows]
        expired_rows = [row for row, moment in expired if moment is None or moment < before]
        old = [
            {"listing_id": listing_id, "run_id": run_id}
            for listing_id, run_id, _, has_values, _ in expired_rows
            if has_values
        ]
        fresh = {row[0] for row, moment in expired if moment is not None and moment >= before}
        stale_listings = [
            {"listing_id": listing_id}
            for listing_id in sorted({row[0] for row in expired_rows if row[4]} - fresh)
        ]
        if not old and not stale_listings:
            return 0

        def work(conn: Connection) -> int:
            if old:
                self._execute(
                    conn,
                    "UPDATE offers SET price = NULL, list_price = NULL, availability = NULL"
                    " WHERE listing_id = :listing_id AND run_id = :run_id",
                    old,
                )
            if stale_listings:
                self._execute(
                    conn,
                    "UPDATE listings SET image_url = NULL WHERE listing_id = :listing_id",
                    stale_listings,
                )
            return len(old)

        return self._transact(work)
