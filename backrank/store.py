"""The SQLite store: runs, listings, offer snapshots, reviews and scored products."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

import pandas as pd

RUN_STATUSES = ("running", "ok", "warnings", "failed")

# Schema steps, applied in order; PRAGMA user_version records how many ran.
# Append new steps, never edit a released one.
MIGRATIONS: list[tuple[str, ...]] = [
    (
        """CREATE TABLE runs (
            run_id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT NOT NULL CHECK (status IN ('running', 'ok', 'warnings', 'failed')),
            catalog_path TEXT,
            stats_json TEXT
        )""",
        """CREATE TABLE stores (
            name TEXT PRIMARY KEY,
            platform TEXT,
            base_url TEXT
        )""",
        """CREATE TABLE listings (
            listing_id INTEGER PRIMARY KEY,
            store TEXT NOT NULL,
            listing_key TEXT NOT NULL,
            url TEXT NOT NULL,
            url_key TEXT NOT NULL,
            canonical_url TEXT,
            title TEXT,
            brand TEXT,
            gtin TEXT,
            mpn TEXT,
            sku TEXT,
            asin TEXT,
            category TEXT,
            description TEXT,
            image_url TEXT,
            platform TEXT,
            first_seen_run INTEGER REFERENCES runs(run_id),
            last_seen_run INTEGER REFERENCES runs(run_id),
            UNIQUE (store, listing_key)
        )""",
        "CREATE INDEX listings_url_key ON listings (store, url_key)",
        """CREATE TABLE offers (
            listing_id INTEGER NOT NULL REFERENCES listings(listing_id) ON DELETE CASCADE,
            run_id INTEGER NOT NULL REFERENCES runs(run_id),
            price TEXT,
            list_price TEXT,
            currency TEXT,
            availability TEXT,
            rating REAL,
            review_count INTEGER,
            fetched_at TEXT,
            PRIMARY KEY (listing_id, run_id)
        )""",
        """CREATE TABLE reviews (
            review_pk INTEGER PRIMARY KEY,
            store TEXT NOT NULL,
            review_id TEXT NOT NULL,
            listing_url TEXT NOT NULL,
            listing_url_key TEXT NOT NULL,
            listing_id INTEGER REFERENCES listings(listing_id) ON DELETE SET NULL,
            author TEXT,
            rating REAL,
            title TEXT,
            body TEXT,
            date TEXT,
            verified INTEGER,
            helpful_votes INTEGER,
            language TEXT,
            content_hash TEXT NOT NULL,
            fetched_at TEXT,
            first_seen_run INTEGER REFERENCES runs(run_id),
            last_seen_run INTEGER REFERENCES runs(run_id),
            UNIQUE (store, review_id)
        )""",
        "CREATE INDEX reviews_unlinked ON reviews (store, listing_url_key) WHERE listing_id IS NULL",
        """CREATE TABLE products (
            product_id TEXT PRIMARY KEY,
            run_id INTEGER,
            name TEXT,
            brand TEXT,
            category TEXT,
            listings INTEGER,
            best_price TEXT,
            best_store TEXT,
            rating REAL,
            adjusted_rating REAL,
            review_count INTEGER,
            rank INTEGER,
            extra_json TEXT
        )""",
        """CREATE TABLE product_listings (
            product_id TEXT NOT NULL REFERENCES products(product_id) ON DELETE CASCADE,
            listing_id INTEGER NOT NULL REFERENCES listings(listing_id) ON DELETE CASCADE,
            PRIMARY KEY (product_id, listing_id)
        )""",
    ),
    (
        # What each scoring run ranked, so the site can show what changed between refreshes.
        """CREATE TABLE product_snapshots (
            run_id INTEGER NOT NULL REFERENCES runs(run_id),
            product_id TEXT NOT NULL,
            name TEXT,
            subcategory TEXT,
            rank INTEGER,
            composite_score REAL,
            best_price TEXT,
            currency TEXT,
            in_stock INTEGER,
            PRIMARY KEY (run_id, product_id)
        )""",
        """CREATE TABLE scoring_summaries (
            run_id INTEGER PRIMARY KEY REFERENCES runs(run_id),
            summary_json TEXT NOT NULL,
            saved_at TEXT NOT NULL
        )""",
        # Per-review work (sentiment, text features) cached by content, so a refresh scores
        # only reviews it has not seen.
        """CREATE TABLE review_features (
            content_hash TEXT PRIMARY KEY,
            features_json TEXT NOT NULL,
            computed_at TEXT NOT NULL
        )""",
    ),
    (
        # What trust scoring said of each review in the run that last scored its product.
        """CREATE TABLE review_scores (
            store TEXT NOT NULL,
            review_id TEXT NOT NULL,
            product_id TEXT,
            suspicion REAL,
            flags TEXT,
            kept INTEGER,
            run_id INTEGER,
            PRIMARY KEY (store, review_id)
        )""",
        # Per-sentence VADER scores of a review's text, keyed by content and scorer version.
        """CREATE TABLE review_sentences (
            content_hash TEXT NOT NULL,
            version TEXT NOT NULL,
            sentence_index INTEGER NOT NULL,
            sentence TEXT NOT NULL,
            compound REAL NOT NULL,
            PRIMARY KEY (content_hash, version, sentence_index)
        ) WITHOUT ROWID""",
        # Each product's input fingerprint and the per-product results scored from it, so a
        # refresh rescores only products whose listings or reviews changed.
        """CREATE TABLE product_inputs (
            product_id TEXT PRIMARY KEY,
            fingerprint TEXT NOT NULL,
            results_json TEXT NOT NULL,
            run_id INTEGER
        )""",
    ),
    (
        # Refresh health (issue 5): a listing missing from complete crawls is marked gone after
        # [crawl] gone_after_misses, never deleted; a store whose extraction yield collapsed
        # has its run marked drifted, and its offers of that run are kept out of the latest.
        "ALTER TABLE listings ADD COLUMN misses INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE listings ADD COLUMN gone_run INTEGER REFERENCES runs(run_id)",
        """CREATE TABLE run_stores (
            run_id INTEGER NOT NULL REFERENCES runs(run_id),
            store TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('ok', 'drifted', 'failed')),
            product_pages INTEGER,
            listings INTEGER,
            with_price INTEGER,
            price_share REAL,
            baseline_run INTEGER,
            baseline_share REAL,
            PRIMARY KEY (run_id, store)
        )""",
    ),
]

OFFER_COLUMNS = [
    "store", "url", "canonical_url", "title", "brand", "price", "currency", "availability",
    "rating", "review_count", "gtin", "mpn", "sku", "asin", "fetched_at",
    "listing_id", "category", "image_url", "run_id", "list_price", "platform", "gone",
]  # fmt: skip
REVIEW_COLUMNS = [
    "store", "url", "review_id", "author", "rating", "title", "body", "date", "verified",
    "helpful_votes", "listing_id",
]  # fmt: skip
LISTING_COLUMNS = [
    "listing_id", "store", "listing_key", "url", "canonical_url", "title", "brand", "gtin",
    "mpn", "sku", "asin", "category", "description", "image_url", "platform",
    "first_seen_run", "last_seen_run",
]  # fmt: skip
PRODUCT_COLUMNS = [
    "product_id", "name", "brand", "category", "listings", "best_price", "best_store",
    "rating", "adjusted_rating", "review_count", "rank",
]  # fmt: skip
SNAPSHOT_COLUMNS = [
    "run_id", "product_id", "name", "subcategory", "rank", "composite_score", "best_price",
    "currency", "in_stock",
]  # fmt: skip
# SQLite caps bound parameters per statement; look-ups by many keys go in chunks this size.
_LOOKUP_CHUNK = 500
# Descriptive listing fields an upsert refreshes (a NULL never replaces a known value).
_LISTING_FIELDS = (
    "url", "url_key", "canonical_url", "title", "brand", "gtin", "mpn", "sku", "asin",
    "category", "description", "image_url", "platform",
)  # fmt: skip
_OFFER_FIELDS = (
    "price", "list_price", "currency", "availability", "rating", "review_count", "fetched_at",
)  # fmt: skip
_REVIEW_FIELDS = (
    "listing_url", "listing_url_key", "author", "rating", "title", "body", "date", "verified",
    "helpful_votes", "language", "content_hash", "fetched_at",
)  # fmt: skip


def url_key(url: str) -> str:
    """``url`` without query and fragment, scheme and host lowercased, no trailing slash."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, "", ""))


def canonical_key(url: str) -> str:
    """A canonical URL normalised: scheme and host lowercased, no fragment or trailing slash.

    The query stays: a page that declares it canonical means it.
    """
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, ""))


def listing_key(listing: Mapping[str, Any]) -> str:
    """The identity of a listing within its store: ASIN, else canonical URL, else URL."""
    if listing.get("asin"):
        return f"asin:{str(listing['asin']).strip().upper()}"
    if listing.get("canonical_url"):
        return canonical_key(listing["canonical_url"])
    return url_key(listing["url"])


def review_content_hash(review: Mapping[str, Any]) -> str:
    """sha1 of what makes a review itself: listing URL, author, date, title, body, rating."""
    parts = [review.get(k) for k in ("url", "author", "date", "title", "body", "rating")]
    text = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _money(value: Any) -> str | None:
    """A price as exact decimal text; None stays None."""
    if value is None:
        return None
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError(f"not a decimal price: {value!r}") from exc
    if not amount.is_finite():
        raise ValueError(f"not a finite price: {value!r}")
    return str(amount)


def _decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _typed(
    frame: pd.DataFrame,
    floats: Iterable[str] = (),
    ints: Iterable[str] = (),
    decimals: Iterable[str] = (),
    bools: Iterable[str] = (),
) -> pd.DataFrame:
    """Give the numeric columns their types; text columns stay object with None for NULL."""
    for column in floats:
        frame[column] = pd.Series(
            [math.nan if v is None else float(v) for v in frame[column]],
            index=frame.index,
            dtype="float64",
        )
    for column in ints:
        frame[column] = pd.Series(list(frame[column]), index=frame.index, dtype=object).astype(
            "Int64"
        )
    for column in decimals:
        frame[column] = pd.Series(
            [_decimal(v) for v in frame[column]], index=frame.index, dtype=object
        )
    for column in bools:
        frame[column] = pd.Series(
            [None if v is None else bool(v) for v in frame[column]],
            index=frame.index,
            dtype="boolean",
        )
    return frame


def _as_mapping(record: Mapping[str, Any] | Any) -> Mapping[str, Any]:
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return dataclasses.asdict(record)
    return record


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _float_or_none(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _json_default(value: Any) -> Any:
    """JSON for the values scoring produces beyond plain Python: Decimal as text, numpy scalars."""
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, datetime | pd.Timestamp):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} as JSON: {value!r}")


def _snapshot_row(run_id: int, record: Mapping[str, Any]) -> dict[str, Any]:
    """A product_snapshots row from a scored product (``subcategory`` falls back to category)."""
    subcategory = _plain(record.get("subcategory"))
    in_stock = _plain(record.get("in_stock"))
    return {
        "run_id": run_id,
        "product_id": str(_plain(record["product_id"])),
        "name": _plain(record.get("name")),
        "subcategory": subcategory if subcategory is not None else _plain(record.get("category")),
        "rank": _int_or_none(_plain(record.get("rank"))),
        "composite_score": _float_or_none(_plain(record.get("composite_score"))),
        "best_price": _money(_plain(record.get("best_price"))),
        "currency": _plain(record.get("currency")),
        "in_stock": None if in_stock is None else int(bool(in_stock)),
    }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _plain(value: Any) -> Any:
    """A cell as a JSON-ready Python value (Decimal as text, NaN/NA as None)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, datetime | pd.Timestamp):
        return value.isoformat()
    return value


class Store:
    """A backrank SQLite database. Open with ``Store.open(path)``."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._conn: sqlite3.Connection | None = None

    @classmethod
    def open(cls, path: str | Path) -> Self:
        """Connect, set WAL and foreign keys, and bring the schema up to date."""
        store = cls(path)
        store._connect()
        return store

    def _connect(self) -> None:
        conn = sqlite3.connect(self.path, timeout=30)
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA foreign_keys = ON")
        self._conn = conn
        self._migrate()

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("the store is closed; use Store.open(path)")
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Self:
        if self._conn is None:
            self._connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        conn = self.conn
        # BEGIN IMMEDIATE so two processes opening a new file do not both migrate it.
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for number, steps in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in steps:
                    conn.execute(statement)
                # PRAGMA takes no parameters; number is our own int, not input.
                conn.execute(f"PRAGMA user_version = {int(number)}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    # --- runs -------------------------------------------------------------------------

    def start_run(self, catalog_path: str | None = None) -> int:
        """Record a new crawl run; return its id."""
        with self.conn:
            cursor = self.conn.execute(
                "INSERT INTO runs (started_at, status, catalog_path) VALUES (?, 'running', ?)",
                (_now(), None if catalog_path is None else str(catalog_path)),
            )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def finish_run(self, run_id: int, status: str, stats: Mapping[str, Any]) -> None:
        """Close a run with its outcome and crawl stats."""
        if status not in RUN_STATUSES:
            raise ValueError(f"status must be one of {', '.join(RUN_STATUSES)} (got {status!r})")
        stats_json = json.dumps(dict(stats), default=str, sort_keys=True)
        with self.conn:
            cursor = self.conn.execute(
                "UPDATE runs SET finished_at = ?, status = ?, stats_json = ? WHERE run_id = ?",
                (_now(), status, stats_json, run_id),
            )
        if cursor.rowcount != 1:
            raise KeyError(f"no run {run_id}")

    def runs(self) -> pd.DataFrame:
        """Every run, oldest first; ``stats`` is the decoded stats dict."""
        frame = self._frame(
            "SELECT run_id, started_at, finished_at, status, catalog_path, stats_json"
            " FROM runs ORDER BY run_id"
        )
        frame["stats"] = [json.loads(s) if s else {} for s in frame.pop("stats_json")]
        return _typed(frame, ints=["run_id"])

    def last_run_id(self, status: str | None = "ok") -> int | None:
        """The newest run with ``status`` (any status when None), or None."""
        if status is None:
            row = self.conn.execute("SELECT max(run_id) FROM runs").fetchone()
        else:
            row = self.conn.execute(
                "SELECT max(run_id) FROM runs WHERE status = ?", (status,)
            ).fetchone()
        return row[0]

    # --- writing crawl results ----------------------------------------------------------

    def save_store(self, name: str, platform: str | None, base_url: str | None) -> None:
        """Record (or update) a catalog store."""
        with self.conn:
            self.conn.execute(
                "INSERT INTO stores (name, platform, base_url) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET platform = excluded.platform,"
                " base_url = excluded.base_url",
                (name, platform, base_url),
            )

    def save_listings(self, run_id: int, listings: Iterable[Mapping[str, Any]]) -> int:
        """Upsert listings and their offer snapshot for ``run_id`` in one transaction.

        Reviews saved earlier for a listing not stored then are linked to it here.
        """
        count = 0
        set_fields = ", ".join(
            f"{f} = coalesce(excluded.{f}, listings.{f})" for f in _LISTING_FIELDS
        )
        set_offer = ", ".join(f"{f} = coalesce(excluded.{f}, offers.{f})" for f in _OFFER_FIELDS)
        with self.conn:
            for record in listings:
                listing = _as_mapping(record)
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
                listing_id = self.conn.execute(
                    "INSERT INTO listings (store, listing_key, "
                    + ", ".join(_LISTING_FIELDS)
                    + ", first_seen_run, last_seen_run) VALUES (:store, :listing_key, "
                    + ", ".join(f":{f}" for f in _LISTING_FIELDS)
                    + ", :run_id, :run_id) ON CONFLICT (store, listing_key) DO UPDATE SET "
                    + set_fields
                    + ", last_seen_run = max(listings.last_seen_run, excluded.last_seen_run)"
                    " RETURNING listing_id",
                    row,
                ).fetchone()[0]
                offer = {
                    "listing_id": listing_id,
                    "run_id": run_id,
                    "price": _money(listing.get("price")),
                    "list_price": _money(listing.get("list_price")),
                    "currency": listing.get("currency"),
                    "availability": listing.get("availability"),
                    "rating": _float_or_none(listing.get("rating")),
                    "review_count": _int_or_none(listing.get("review_count")),
                    "fetched_at": listing.get("fetched_at") or _now(),
                }
                self.conn.execute(
                    "INSERT INTO offers (listing_id, run_id, "
                    + ", ".join(_OFFER_FIELDS)
                    + ") VALUES (:listing_id, :run_id, "
                    + ", ".join(f":{f}" for f in _OFFER_FIELDS)
                    + ") ON CONFLICT (listing_id, run_id) DO UPDATE SET "
                    + set_offer,
                    offer,
                )
                keys = {row["url_key"], row["listing_key"]}
                if listing.get("canonical_url"):
                    keys.add(url_key(listing["canonical_url"]))
                for key in keys:
                    self.conn.execute(
                        "UPDATE reviews SET listing_id = ? WHERE listing_id IS NULL"
                        " AND store = ? AND listing_url_key = ?",
                        (listing_id, row["store"], key),
                    )
                count += 1
        return count

    def _find_listing(self, store: str, listing_url: str) -> int | None:
        key = url_key(listing_url)
        row = self.conn.execute(
            "SELECT listing_id FROM listings WHERE store = ? AND (url_key = ? OR listing_key = ?"
            " OR listing_key = ?) ORDER BY last_seen_run DESC LIMIT 1",
            (store, key, key, canonical_key(listing_url)),
        ).fetchone()
        return None if row is None else row[0]

    def save_reviews(self, run_id: int, reviews: Iterable[Mapping[str, Any]]) -> int:
        """Upsert reviews in one transaction; a review keeps its listing's URL until linked.

        ``review_id`` is the store's id, else ``sha1:`` + the content hash, so a review seen
        again (this run or a later one) updates its row instead of adding one.
        """
        # One statement for the batch; the listing look-up once per listing URL (a review page
        # holds a dozen reviews of one listing), as saving reviews adds no listing.
        listing_ids: dict[tuple[str, str], int | None] = {}
        rows = []
        for record in reviews:
            review = _as_mapping(record)
            if not review.get("store") or not review.get("url"):
                raise ValueError(f"a review needs store and url: {review!r}")
            content_hash = review_content_hash(review)
            verified = review.get("verified")
            listing = (review["store"], review["url"])
            if listing not in listing_ids:
                listing_ids[listing] = self._find_listing(*listing)
            rows.append({
                "store": review["store"],
                "review_id": review.get("review_id") or f"sha1:{content_hash}",
                "listing_url": review["url"],
                "listing_url_key": url_key(review["url"]),
                "listing_id": listing_ids[listing],
                "author": review.get("author"),
                "rating": _float_or_none(review.get("rating")),
                "title": review.get("title"),
                "body": review.get("body"),
                "date": review.get("date"),
                "verified": None if verified is None else int(bool(verified)),
                "helpful_votes": _int_or_none(review.get("helpful_votes")),
                "language": review.get("language"),
                "content_hash": content_hash,
                "fetched_at": review.get("fetched_at"),
                "run_id": run_id,
            })  # fmt: skip
        set_fields = ", ".join(f"{f} = coalesce(excluded.{f}, reviews.{f})" for f in _REVIEW_FIELDS)
        with self.conn:
            self.conn.executemany(
                "INSERT INTO reviews (store, review_id, listing_id, "
                + ", ".join(_REVIEW_FIELDS)
                + ", first_seen_run, last_seen_run) VALUES (:store, :review_id, :listing_id, "
                + ", ".join(f":{f}" for f in _REVIEW_FIELDS)
                + ", :run_id, :run_id) ON CONFLICT (store, review_id) DO UPDATE SET "
                + set_fields
                + ", listing_id = coalesce(excluded.listing_id, reviews.listing_id)"
                ", last_seen_run = max(reviews.last_seen_run, excluded.last_seen_run)",
                rows,
            )
        return len(rows)

    # --- reading --------------------------------------------------------------------------

    def _frame(self, sql: str, params: tuple[Any, ...] = ()) -> pd.DataFrame:
        """Rows as an object-dtype frame, so a NULL stays None until a column is typed."""
        cursor = self.conn.execute(sql, params)
        columns = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
        return pd.DataFrame(
            {
                name: pd.Series([row[i] for row in rows], dtype=object)
                for i, name in enumerate(columns)
            },
            columns=columns,
        )

    def _offers(self, where: str) -> pd.DataFrame:
        frame = self._frame(
            "SELECT l.store, l.url, l.canonical_url, l.title, l.brand, o.price, o.currency,"
            " o.availability, o.rating, o.review_count, l.gtin, l.mpn, l.sku, l.asin,"
            " o.fetched_at, l.listing_id, l.category, l.image_url, o.run_id, o.list_price,"
            " l.platform, l.gone_run IS NOT NULL AS gone FROM offers o JOIN listings l"
            " USING (listing_id) WHERE NOT EXISTS (SELECT 1 FROM run_stores d WHERE"
            " d.run_id = o.run_id AND d.store = l.store AND d.status = 'drifted') "
            + where
            + " ORDER BY l.listing_id, o.run_id"
        )
        frame = _typed(
            frame,
            floats=["rating"],
            ints=["review_count", "listing_id", "run_id"],
            decimals=["price", "list_price"],
            bools=["gone"],
        )
        return frame[OFFER_COLUMNS]

    def read_offers(self, latest: bool = True) -> pd.DataFrame:
        """Each listing with its newest good offer snapshot (``latest=False``: every snapshot).

        Snapshots of a run in which the listing's store drifted (``run_stores``) are never
        the latest: the last good one stands. ``gone`` is True for a delisted listing.
        """
        if not latest:
            return self.read_offer_history()
        return self._offers(
            "AND o.run_id = (SELECT max(g.run_id) FROM offers g WHERE g.listing_id = l.listing_id"
            " AND NOT EXISTS (SELECT 1 FROM run_stores d WHERE d.run_id = g.run_id"
            " AND d.store = l.store AND d.status = 'drifted'))"
        ).reset_index(drop=True)

    def read_offer_history(self) -> pd.DataFrame:
        """Every good offer snapshot of every listing (drifted runs left out), oldest run first."""
        return self._offers("").reset_index(drop=True)

    def read_listings(self) -> pd.DataFrame:
        """Every listing with its descriptive fields and first/last run seen."""
        frame = self._frame(
            f"SELECT {', '.join(LISTING_COLUMNS)} FROM listings ORDER BY listing_id"
        )
        return _typed(frame, ints=["listing_id", "first_seen_run", "last_seen_run"])

    def read_reviews(self) -> pd.DataFrame:
        """Every review with its listing's URL and id (None while the listing is unknown)."""
        frame = self._frame(
            "SELECT r.store, coalesce(l.url, r.listing_url) AS url, r.review_id, r.author,"
            " r.rating, r.title, r.body, r.date, r.verified, r.helpful_votes, r.listing_id,"
            " r.language, r.content_hash, r.fetched_at, r.first_seen_run, r.last_seen_run"
            " FROM reviews r LEFT JOIN listings l USING (listing_id) ORDER BY r.review_pk"
        )
        return _typed(
            frame,
            floats=["rating"],
            ints=["helpful_votes", "listing_id", "first_seen_run", "last_seen_run"],
            bools=["verified"],
        )

    # --- scored products ------------------------------------------------------------------

    def save_products(
        self, run_id: int | None, products: pd.DataFrame, product_listings: pd.DataFrame
    ) -> None:
        """Replace the scored products and their listing links; extra columns go to extra_json.

        With a ``run_id`` each product is also appended to ``product_snapshots`` for that run.
        """
        extra_columns = [c for c in products.columns if c not in PRODUCT_COLUMNS]
        rows = []
        for record in products.to_dict("records"):
            row = {c: _plain(record.get(c)) for c in PRODUCT_COLUMNS}
            row["best_price"] = _money(row["best_price"])
            extras = {c: _plain(record[c]) for c in extra_columns}
            row["extra_json"] = json.dumps(extras, default=str, sort_keys=True) if extras else None
            row["run_id"] = run_id
            rows.append(row)
        links = [
            (str(_plain(p)), int(_plain(lid)))
            for p, lid in zip(
                product_listings["product_id"], product_listings["listing_id"], strict=True
            )
        ]
        columns = [*PRODUCT_COLUMNS, "run_id", "extra_json"]
        # Without a run there is nothing to file a snapshot under; products still replace.
        snapshots = (
            []
            if run_id is None
            else [_snapshot_row(run_id, r) for r in products.to_dict("records")]
        )
        with self.conn:
            if run_id is not None:
                # Scoring a run again replaces that run's snapshot, never adds to it.
                self.conn.execute("DELETE FROM product_snapshots WHERE run_id = ?", (run_id,))
                self.conn.executemany(
                    f"INSERT INTO product_snapshots ({', '.join(SNAPSHOT_COLUMNS)})"
                    f" VALUES ({', '.join(f':{c}' for c in SNAPSHOT_COLUMNS)})",
                    snapshots,
                )
            self.conn.execute("DELETE FROM product_listings")
            self.conn.execute("DELETE FROM products")
            self.conn.executemany(
                f"INSERT INTO products ({', '.join(columns)})"
                f" VALUES ({', '.join(f':{c}' for c in columns)})",
                rows,
            )
            self.conn.executemany(
                "INSERT OR IGNORE INTO product_listings (product_id, listing_id) VALUES (?, ?)",
                links,
            )

    def read_products(self) -> pd.DataFrame:
        """The scored products, best rank first, with their extra columns unpacked."""
        frame = self._frame(
            f"SELECT {', '.join(PRODUCT_COLUMNS)}, run_id, extra_json FROM products"
            " ORDER BY rank IS NULL, rank, product_id"
        )
        frame = _typed(
            frame,
            floats=["rating", "adjusted_rating"],
            ints=["listings", "review_count", "rank", "run_id"],
            decimals=["best_price"],
        )
        extras = [json.loads(e) if e else {} for e in frame.pop("extra_json")]
        names = list(dict.fromkeys(k for e in extras for k in e))
        for name in names:
            frame[name] = pd.Series([e.get(name) for e in extras], index=frame.index, dtype=object)
        return frame

    def read_product_listings(self) -> pd.DataFrame:
        """Which listings each product groups."""
        frame = self._frame(
            "SELECT product_id, listing_id FROM product_listings ORDER BY product_id, listing_id"
        )
        return _typed(frame, ints=["listing_id"])

    def read_product_snapshots(self) -> pd.DataFrame:
        """Every run's ranked products (SNAPSHOT_COLUMNS), oldest run first, then by rank."""
        frame = self._frame(
            f"SELECT {', '.join(SNAPSHOT_COLUMNS)} FROM product_snapshots"
            " ORDER BY run_id, subcategory, rank IS NULL, rank, product_id"
        )
        return _typed(
            frame,
            floats=["composite_score"],
            ints=["run_id", "rank"],
            decimals=["best_price"],
            bools=["in_stock"],
        )

    # --- run-level scoring figures --------------------------------------------------------

    def save_scoring_summary(self, run_id: int, summary: Mapping[str, Any]) -> None:
        """Store a run's scoring figures (weights, thresholds, sensitivity); replaces that run's."""
        summary_json = json.dumps(dict(summary), default=_json_default, sort_keys=True)
        with self.conn:
            self.conn.execute(
                "INSERT INTO scoring_summaries (run_id, summary_json, saved_at) VALUES (?, ?, ?)"
                " ON CONFLICT (run_id) DO UPDATE SET summary_json = excluded.summary_json,"
                " saved_at = excluded.saved_at",
                (run_id, summary_json, _now()),
            )

    def read_scoring_summary(self) -> dict[str, Any] | None:
        """The latest run's scoring figures, or None when no run was scored."""
        row = self.conn.execute(
            "SELECT summary_json FROM scoring_summaries ORDER BY run_id DESC LIMIT 1"
        ).fetchone()
        return None if row is None else json.loads(row[0])

    # --- per-review feature cache ---------------------------------------------------------

    def save_review_features(self, features: pd.DataFrame) -> int:
        """Cache per-review features (``content_hash``, ``features`` dict) in one transaction."""
        now = _now()
        rows = []
        for content_hash, values in zip(
            features["content_hash"], features["features"], strict=True
        ):
            if not isinstance(content_hash, str) or not content_hash:
                raise ValueError(f"review features need a content_hash, got {content_hash!r}")
            if not isinstance(values, Mapping):
                raise TypeError(f"features of {content_hash} must be a dict, got {values!r}")
            rows.append(
                (content_hash, json.dumps(dict(values), default=_json_default, sort_keys=True), now)
            )
        with self.conn:
            self.conn.executemany(
                "INSERT INTO review_features (content_hash, features_json, computed_at)"
                " VALUES (?, ?, ?) ON CONFLICT (content_hash) DO UPDATE SET"
                " features_json = excluded.features_json, computed_at = excluded.computed_at",
                rows,
            )
        return len(rows)

    def read_review_features(self, hashes: Iterable[str] | None = None) -> pd.DataFrame:
        """Cached features (``content_hash``, ``features`` dict, ``computed_at``); only ``hashes``
        when given (unknown hashes are simply absent)."""
        select = "SELECT content_hash, features_json, computed_at FROM review_features"
        if hashes is None:
            frame = self._frame(select + " ORDER BY content_hash")
        else:
            wanted = list(dict.fromkeys(hashes))
            chunks = [
                self._frame(
                    select + f" WHERE content_hash IN ({', '.join('?' * len(chunk))})",
                    tuple(chunk),
                )
                for chunk in (
                    wanted[i : i + _LOOKUP_CHUNK] for i in range(0, len(wanted), _LOOKUP_CHUNK)
                )
            ]
            frame = (
                pd.concat(chunks, ignore_index=True).sort_values("content_hash", ignore_index=True)
                if chunks
                else self._frame(select + " WHERE 0")
            )
        features = [json.loads(text) for text in frame.pop("features_json")]
        frame.insert(1, "features", pd.Series(features, index=frame.index, dtype=object))
        return frame

    # --- per-review trust scores ----------------------------------------------------------

    def save_review_scores(self, run_id: int | None, scores: pd.DataFrame) -> int:
        """Upsert each review's ``suspicion``, ``flags`` and ``kept`` (keyed by store, review_id)."""
        rows = [
            {
                "store": store,
                "review_id": str(review_id),
                "product_id": None if _plain(product_id) is None else str(_plain(product_id)),
                "suspicion": _float_or_none(_plain(suspicion)),
                "flags": _plain(flags),
                "kept": None if _plain(kept) is None else int(bool(kept)),
                "run_id": run_id,
            }
            for store, review_id, product_id, suspicion, flags, kept in zip(
                scores["store"], scores["review_id"], scores["product_id"], scores["suspicion"],
                scores["flags"], scores["kept"], strict=True,
            )
        ]  # fmt: skip
        with self.conn:
            self.conn.executemany(
                "INSERT INTO review_scores (store, review_id, product_id, suspicion, flags, kept,"
                " run_id) VALUES (:store, :review_id, :product_id, :suspicion, :flags, :kept,"
                " :run_id) ON CONFLICT (store, review_id) DO UPDATE SET"
                " product_id = excluded.product_id, suspicion = excluded.suspicion,"
                " flags = excluded.flags, kept = excluded.kept, run_id = excluded.run_id",
                rows,
            )
        return len(rows)

    def read_review_scores(self) -> pd.DataFrame:
        """``store, review_id, product_id, suspicion, flags, kept, run_id`` of scored reviews."""
        frame = self._frame(
            "SELECT store, review_id, product_id, suspicion, flags, kept, run_id"
            " FROM review_scores ORDER BY store, review_id"
        )
        return _typed(frame, floats=["suspicion"], ints=["run_id"], bools=["kept"])

    # --- per-sentence sentiment cache -----------------------------------------------------

    def save_review_sentences(self, sentences: pd.DataFrame, version: str) -> int:
        """Cache sentence rows (``review_key`` = content hash, ``sentence_index``, ``sentence``,
        ``compound``) computed by sentiment scorer ``version``."""
        rows = zip(
            sentences["review_key"].astype(str),
            itertools.repeat(version),
            sentences["sentence_index"].astype("int64").tolist(),
            sentences["sentence"].astype(str),
            sentences["compound"].astype(float).tolist(),
            strict=False,
        )
        with self.conn:
            cursor = self.conn.executemany(
                "INSERT OR REPLACE INTO review_sentences"
                " (content_hash, version, sentence_index, sentence, compound) VALUES (?, ?, ?, ?, ?)",
                rows,
            )
        return cursor.rowcount

    def read_review_sentences(
        self, version: str, hashes: Iterable[str] | None = None
    ) -> pd.DataFrame:
        """Cached sentence rows of scorer ``version`` (``review_key, sentence_index, sentence,
        compound``); only reviews with content hash in ``hashes`` when given."""
        select = (
            "SELECT content_hash AS review_key, sentence_index, sentence, compound"
            " FROM review_sentences WHERE version = ?"
        )
        if hashes is None:
            rows = self.conn.execute(select, (version,)).fetchall()
        else:
            wanted = list(dict.fromkeys(hashes))
            rows = []
            for start in range(0, len(wanted), _LOOKUP_CHUNK):
                chunk = wanted[start : start + _LOOKUP_CHUNK]
                rows += self.conn.execute(
                    select + f" AND content_hash IN ({', '.join('?' * len(chunk))})",
                    (version, *chunk),
                ).fetchall()
        keys, indexes, texts, compounds = (
            (list(c) for c in zip(*rows, strict=True)) if rows else ([], [], [], [])
        )
        return pd.DataFrame(
            {
                "review_key": pd.Series(keys, dtype=object),
                "sentence_index": pd.Series(indexes, dtype="int64"),
                "sentence": pd.Series(texts, dtype=object),
                "compound": pd.Series(compounds, dtype="float64"),
            }
        )

    # --- per-product scoring inputs and results --------------------------------------------

    def save_product_inputs(self, run_id: int | None, inputs: pd.DataFrame) -> int:
        """Replace every product's input ``fingerprint`` and per-product ``results`` (a dict)."""
        rows = []
        for product_id, fingerprint, results in zip(
            inputs["product_id"], inputs["fingerprint"], inputs["results"], strict=True
        ):
            if not isinstance(results, Mapping):
                raise TypeError(f"results of product {product_id} must be a dict, got {results!r}")
            results_json = json.dumps(dict(results), default=_json_default, sort_keys=True)
            rows.append((str(product_id), str(fingerprint), results_json, run_id))
        with self.conn:
            self.conn.execute("DELETE FROM product_inputs")
            self.conn.executemany(
                "INSERT INTO product_inputs (product_id, fingerprint, results_json, run_id)"
                " VALUES (?, ?, ?, ?)",
                rows,
            )
        return len(rows)

    def read_product_inputs(self) -> pd.DataFrame:
        """``product_id, fingerprint, results`` (dict) of the last scoring, by product id."""
        frame = self._frame(
            "SELECT product_id, fingerprint, results_json, run_id FROM product_inputs"
            " ORDER BY product_id"
        )
        results = [json.loads(text) for text in frame.pop("results_json")]
        frame.insert(2, "results", pd.Series(results, index=frame.index, dtype=object))
        return _typed(frame, ints=["run_id"])
