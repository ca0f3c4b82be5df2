"""The store: runs, listings, offer snapshots, reviews and scored products, in SQLite or PostgreSQL."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import itertools
import json
import math
import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import urlsplit, urlunsplit

import pandas as pd
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

from backrank.core.store_schema import LINK_LOCK_CLASS, MIGRATIONS, migrate, schema_version
from backrank.core.store_target import engine_url, is_url, masked, unavailable

__all__ = ["MIGRATIONS", "Store", "canonical_key", "listing_key", "review_content_hash", "url_key"]

T = TypeVar("T")
RUN_STATUSES = ("running", "ok", "warnings", "failed")

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


_RUN_STORE_FIELDS = (
    "store", "status", "product_pages", "listings", "with_price", "price_share", "baseline_run",
    "baseline_share",
)  # fmt: skip
# A write transaction that hit a PostgreSQL deadlock or serialization failure runs again.
_WRITE_ATTEMPTS = 6
# Listing keys map onto this many advisory locks: enough to keep unrelated listings apart,
# few enough for PostgreSQL's lock table however large a batch is.
_LINK_LOCKS = 1024


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


@functools.lru_cache(maxsize=256)
def _driver_sql(sql: str, dialect: Dialect) -> str:
    """``sql`` with ``:name`` parameters written as the driver wants them (sqlite3 takes
    ``:name`` itself; psycopg ``%(name)s``), so rows go to the driver cursor unconverted."""
    if dialect.name == "sqlite":
        return sql
    return str(text(sql).compile(dialect=dialect))


@functools.lru_cache(maxsize=64)
def _positional_sql(sql: str, dialect: Dialect) -> tuple[str, tuple[str, ...]]:
    """``sql`` with positional parameters as the driver wants them (``?`` or ``%s``) and the
    parameter names in the order the rows must give their values."""
    positional = dialect if dialect.positional else type(dialect)(paramstyle="format")
    compiled = text(sql).compile(dialect=positional)
    return compiled.string, tuple(compiled.positiontup or ())


def _placeholders(count: int) -> str:
    """``:p0, :p1, ...`` for an IN list of ``count`` values (see ``_numbered``)."""
    return ", ".join(f":p{i}" for i in range(count))


def _numbered(values: Iterable[Any]) -> dict[str, Any]:
    return {f"p{i}": value for i, value in enumerate(values)}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Every SQLite connection: wait for a writer instead of failing, WAL, foreign keys."""
    dbapi_connection.execute("PRAGMA busy_timeout = 30000")
    dbapi_connection.execute("PRAGMA journal_mode = WAL")
    dbapi_connection.execute("PRAGMA foreign_keys = ON")


def _retryable(error: DBAPIError) -> bool:
    """A PostgreSQL deadlock or serialization failure: the transaction can simply run again."""
    return getattr(error.orig, "sqlstate", None) in ("40001", "40P01")


def _link_lock_ids(keys: Iterable[tuple[str, str]]) -> list[int]:
    """Advisory lock ids (sorted, so every writer takes them in one order) of listing keys."""
    ids = {
        int.from_bytes(hashlib.sha1(f"{s}\x1f{k}".encode()).digest()[:4]) % _LINK_LOCKS
        for s, k in keys
    }
    return sorted(ids)


def _upsert_sql(table: str, columns: tuple[str, ...], keys: tuple[str, ...]) -> str:
    """``ON CONFLICT`` clause that makes an insert into ``table`` replace the row with the same
    ``keys`` (every other column takes the new value)."""
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keys)
    return f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"


def _upsert(
    conn: Connection,
    table: str,
    columns: tuple[str, ...],
    keys: tuple[str, ...],
    rows: list[tuple[Any, ...]],
) -> None:
    """Insert ``rows`` (tuples in ``columns`` order) into ``table`` on ``conn``'s transaction;
    a row whose ``keys`` are stored replaces that row, and of rows sharing ``keys`` the last
    wins.

    SQLite: one executemany. PostgreSQL: the rows are COPYed (binary) into a temporary table
    dropped at commit, then moved by one ``INSERT ... SELECT ... ON CONFLICT``, about twice as
    fast as executemany (a statement per row); the last row of a key is picked beforehand, since
    one statement may not update a row twice.
    """
    names = ", ".join(columns)
    conflict = _upsert_sql(table, columns, keys)
    if conn.dialect.name != "postgresql":
        sql, order = _positional_sql(
            f"INSERT INTO {table} ({names}) VALUES ({', '.join(f':{c}' for c in columns)})"
            f" {conflict}",
            conn.dialect,
        )
        assert order == columns, order
        conn.exec_driver_sql(sql, rows)
        return
    key_at = [columns.index(k) for k in keys]
    latest = {tuple(row[i] for i in key_at): row for row in rows}
    staging = f"incoming_{table}"
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {staging} (LIKE {table}) ON COMMIT DROP")
    copy_sql = f"COPY {staging} ({names}) FROM STDIN (FORMAT BINARY)"
    dbapi = conn.dialect.loaded_dbapi
    try:
        with conn.connection.driver_connection.cursor() as cursor:
            # Binary COPY needs each column's type: the table's own, read off an empty select.
            cursor.execute(f"SELECT {names} FROM {staging} LIMIT 0")
            types = [column.type_code for column in cursor.description]
            with cursor.copy(copy_sql) as copy:
                copy.set_types(types)
                for row in latest.values():
                    copy.write_row(row)
    except dbapi.Error as error:  # the same exception types as a statement's (IntegrityError...)
        raise DBAPIError.instance(
            copy_sql, None, error, dbapi.Error, dialect=conn.dialect
        ) from error
    conn.exec_driver_sql(f"INSERT INTO {table} ({names}) SELECT {names} FROM {staging} {conflict}")


class Store:
    """A backrank database: a SQLite file or a PostgreSQL database. Open with
    ``Store.open(target)``."""

    def __init__(self, path: str | Path) -> None:
        self.path = path if is_url(path) else os.fspath(path)
        self._engine: Engine | None = None

    @classmethod
    def open(cls, path: str | Path) -> Self:
        """Connect and bring the schema up to date. ``path``: a SQLite file, ``sqlite:///PATH``,
        ``postgresql://...`` or ``postgresql+psycopg://...``."""
        store = cls(path)
        store._connect()
        return store

    def _connect(self) -> None:
        url = engine_url(self.path)
        if url.get_backend_name() == "sqlite":
            engine = create_engine(url, connect_args={"timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url)
        try:
            migrate(engine)
        except (DBAPIError, sqlite3.Error) as error:
            engine.dispose()
            raise unavailable(self.path, str(getattr(error, "orig", None) or error)) from error
        except BaseException:
            engine.dispose()
            raise
        self._engine = engine

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError("the store is closed; use Store.open(path)")
        return self._engine

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def __enter__(self) -> Self:
        if self._engine is None:
            self._connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({masked(self.path)!r})"

    @property
    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            return schema_version(conn)

    # --- statements -------------------------------------------------------------------------

    def _sql(self, sql: str) -> str:
        """``sql`` with ``:name`` parameters in the driver's own style, for exec_driver_sql."""
        return _driver_sql(sql, self.engine.dialect)

    @contextlib.contextmanager
    def _reading(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def _fetch(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Column names and rows as the driver cursor returns them (plain tuples: no per-row
        conversion, which counts when a frame has a million reviews)."""
        with self._reading() as conn:
            cursor = conn.connection.cursor()
            try:
                cursor.execute(self._sql(sql), params or {})
                columns = [d[0] for d in cursor.description]
                return columns, cursor.fetchall()
            finally:
                cursor.close()

    def _rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        return self._fetch(sql, params)[1]

    def _one(self, sql: str, params: Mapping[str, Any] | None = None) -> tuple[Any, ...] | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    def _transact(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one write transaction; again on a PostgreSQL deadlock or
        serialization failure (``work`` must only touch the database).

        SQLite takes the write lock up front (BEGIN IMMEDIATE), so what ``work`` reads stays
        true until it commits, and concurrent writers wait their turn (busy_timeout).
        """
        for attempt in range(1, _WRITE_ATTEMPTS + 1):
            try:
                with self.engine.connect() as conn, conn.begin():
                    if conn.dialect.name == "sqlite":
                        conn.exec_driver_sql("BEGIN IMMEDIATE")
                    return work(conn)
            except DBAPIError as error:
                if attempt == _WRITE_ATTEMPTS or not _retryable(error):
                    raise
                time.sleep(random.uniform(0, 0.02 * 2**attempt))
        raise AssertionError("unreachable")

    def _execute(self, conn: Connection, sql: str, params: Any = None) -> Any:
        """One statement (a list of rows: executemany) on a write connection."""
        return conn.exec_driver_sql(self._sql(sql), params if params is not None else {})

    def _lock_listing_keys(self, conn: Connection, keys: Iterable[tuple[str, str]]) -> None:
        """PostgreSQL: serialise writers that link reviews and listings by the same key.

        Without it a review saved while its listing's transaction is open would miss the
        listing, and the listing's link update would miss the review: never linked. SQLite
        writers are serialised by BEGIN IMMEDIATE already.
        """
        if conn.dialect.name != "postgresql":
            return
        ids = _link_lock_ids(keys)
        if ids:
            self._execute(
                conn,
                "SELECT pg_advisory_xact_lock(:lock_class, :lock)",
                [{"lock_class": LINK_LOCK_CLASS, "lock": lock} for lock in ids],
            )

    @property
    def _greatest(self) -> str:
        """The two-argument maximum: SQLite's scalar max(), PostgreSQL's greatest()."""
        return "max" if self.dialect == "sqlite" else "greatest"

    @property
    def _binary(self) -> str:
        """Sort text by code point on both databases (PostgreSQL's default follows the locale)."""
        return "" if self.dialect == "sqlite" else ' COLLATE "C"'

    # --- runs -------------------------------------------------------------------------

    def start_run(self, catalog_path: str | None = None) -> int:
        """Record a new crawl run; return its id."""
        params = {"started": _now(), "catalog": None if catalog_path is None else str(catalog_path)}
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
            "finished": _now(),
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
        return _typed(frame, ints=["run_id"])

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
            "SELECT run_id, store, status, product_pages, listings, with_price, price_share,"
            f" baseline_run, baseline_share FROM run_stores{where}"
            f" ORDER BY run_id, store{self._binary}",
            {"run_id": run_id},
        )
        return _typed(
            frame,
            floats=["price_share", "baseline_share"],
            ints=["run_id", "product_pages", "listings", "with_price", "baseline_run"],
        )

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

    def mark_gone(self, run_id: int, listing_ids: Iterable[int]) -> None:
        """Mark listings delisted as of ``run_id`` (kept, never deleted)."""
        rows = [{"run_id": run_id, "listing_id": int(i)} for i in listing_ids]
        self._transact(
            lambda conn: (
                self._execute(
                    conn,
                    "UPDATE listings SET gone_run = :run_id WHERE listing_id = :listing_id",
                    rows,
                )
                if rows
                else None
            )
        )

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

    def read_stores(self) -> pd.DataFrame:
        """The catalog stores recorded: ``name, platform, base_url``, by name."""
        return self._frame(
            f"SELECT name, platform, base_url FROM stores ORDER BY name{self._binary}"
        )

    def save_listings(self, run_id: int, listings: Iterable[Mapping[str, Any]]) -> int:
        """Upsert listings and their offer snapshot for ``run_id`` in one transaction.

        Reviews saved earlier for a listing not stored then are linked to it here. Safe with
        concurrent writers: upserts keep one row per listing, ``last_seen_run`` the newest.
        """
        entries = []
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
            offer = {
                "run_id": run_id,
                "price": _money(listing.get("price")),
                "list_price": _money(listing.get("list_price")),
                "currency": listing.get("currency"),
                "availability": listing.get("availability"),
                "rating": _float_or_none(listing.get("rating")),
                "review_count": _int_or_none(listing.get("review_count")),
                "fetched_at": listing.get("fetched_at") or _now(),
            }
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
            review = _as_mapping(record)
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

    # --- reading --------------------------------------------------------------------------

    def _frame(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Rows as an object-dtype frame, so a NULL stays None until a column is typed."""
        columns, rows = self._fetch(sql, params)
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
            {"product_id": str(_plain(p)), "listing_id": int(_plain(lid))}
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

        def work(conn: Connection) -> None:
            if run_id is not None:
                # Scoring a run again replaces that run's snapshot, never adds to it.
                self._execute(
                    conn, "DELETE FROM product_snapshots WHERE run_id = :run_id", {"run_id": run_id}
                )
                if snapshots:
                    self._execute(
                        conn,
                        f"INSERT INTO product_snapshots ({', '.join(SNAPSHOT_COLUMNS)})"
                        f" VALUES ({', '.join(f':{c}' for c in SNAPSHOT_COLUMNS)})",
                        snapshots,
                    )
            self._execute(conn, "DELETE FROM product_listings")
            self._execute(conn, "DELETE FROM products")
            if rows:
                self._execute(
                    conn,
                    f"INSERT INTO products ({', '.join(columns)})"
                    f" VALUES ({', '.join(f':{c}' for c in columns)})",
                    rows,
                )
            if links:
                self._execute(
                    conn,
                    "INSERT INTO product_listings (product_id, listing_id)"
                    " VALUES (:product_id, :listing_id) ON CONFLICT DO NOTHING",
                    links,
                )

        self._transact(work)

    def read_products(self) -> pd.DataFrame:
        """The scored products, best rank first, with their extra columns unpacked."""
        frame = self._frame(
            f"SELECT {', '.join(PRODUCT_COLUMNS)}, run_id, extra_json FROM products"
            f" ORDER BY rank IS NULL, rank, product_id{self._binary}"
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
            "SELECT product_id, listing_id FROM product_listings"
            f" ORDER BY product_id{self._binary}, listing_id"
        )
        return _typed(frame, ints=["listing_id"])

    def read_product_snapshots(self) -> pd.DataFrame:
        """Every run's ranked products (SNAPSHOT_COLUMNS), oldest run first, then by rank."""
        frame = self._frame(
            f"SELECT {', '.join(SNAPSHOT_COLUMNS)} FROM product_snapshots"
            f" ORDER BY run_id, subcategory{self._binary}, rank IS NULL, rank,"
            f" product_id{self._binary}"
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
        params = {"run_id": run_id, "summary": summary_json, "saved": _now()}
        self._transact(
            lambda conn: self._execute(
                conn,
                "INSERT INTO scoring_summaries (run_id, summary_json, saved_at)"
                " VALUES (:run_id, :summary, :saved) ON CONFLICT (run_id) DO UPDATE SET"
                " summary_json = excluded.summary_json, saved_at = excluded.saved_at",
                params,
            )
        )

    def read_scoring_summary(self) -> dict[str, Any] | None:
        """The latest run's scoring figures, or None when no run was scored."""
        row = self._one("SELECT summary_json FROM scoring_summaries ORDER BY run_id DESC LIMIT 1")
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
            features_json = json.dumps(dict(values), default=_json_default, sort_keys=True)
            rows.append((content_hash, features_json, now))
        if rows:
            self._transact(
                lambda conn: _upsert(
                    conn,
                    "review_features",
                    ("content_hash", "features_json", "computed_at"),
                    ("content_hash",),
                    rows,
                )
            )
        return len(rows)

    def read_review_features(self, hashes: Iterable[str] | None = None) -> pd.DataFrame:
        """Cached features (``content_hash``, ``features`` dict, ``computed_at``); only ``hashes``
        when given (unknown hashes are simply absent)."""
        select = "SELECT content_hash, features_json, computed_at FROM review_features"
        if hashes is None:
            frame = self._frame(select + f" ORDER BY content_hash{self._binary}")
        else:
            wanted = list(dict.fromkeys(hashes))
            chunks = [
                self._frame(
                    select + f" WHERE content_hash IN ({_placeholders(len(chunk))})",
                    _numbered(chunk),
                )
                for chunk in (
                    wanted[i : i + _LOOKUP_CHUNK] for i in range(0, len(wanted), _LOOKUP_CHUNK)
                )
            ]
            frame = (
                pd.concat(chunks, ignore_index=True).sort_values("content_hash", ignore_index=True)
                if chunks
                else self._frame(select + " WHERE 1 = 0")
            )
        features = [json.loads(text) for text in frame.pop("features_json")]
        frame.insert(1, "features", pd.Series(features, index=frame.index, dtype=object))
        return frame

    # --- per-review trust scores ----------------------------------------------------------

    def save_review_scores(self, run_id: int | None, scores: pd.DataFrame) -> int:
        """Upsert each review's ``suspicion``, ``flags`` and ``kept`` (keyed by store, review_id)."""
        missing = scores["store"].isna() | scores["review_id"].isna()
        if missing.any():
            raise ValueError(
                f"review scores need a store and a review_id; {int(missing.sum())} rows lack one,"
                f" first at index {scores.index[missing.to_numpy()][0]!r}"
            )
        run = _int_or_none(_plain(run_id))
        rows = [
            (
                str(store),
                str(review_id),
                None if _plain(product_id) is None else str(_plain(product_id)),
                _float_or_none(_plain(suspicion)),
                _plain(flags),
                None if _plain(kept) is None else int(bool(kept)),
                run,
            )
            for store, review_id, product_id, suspicion, flags, kept in zip(
                scores["store"], scores["review_id"], scores["product_id"], scores["suspicion"],
                scores["flags"], scores["kept"], strict=True,
            )
        ]  # fmt: skip
        columns = ("store", "review_id", "product_id", "suspicion", "flags", "kept", "run_id")
        if rows:
            self._transact(
                lambda conn: _upsert(conn, "review_scores", columns, ("store", "review_id"), rows)
            )
        return len(rows)

    def read_review_scores(self) -> pd.DataFrame:
        """``store, review_id, product_id, suspicion, flags, kept, run_id`` of scored reviews."""
        frame = self._frame(
            "SELECT store, review_id, product_id, suspicion, flags, kept, run_id"
            f" FROM review_scores ORDER BY store{self._binary}, review_id{self._binary}"
        )
        return _typed(frame, floats=["suspicion"], ints=["run_id"], bools=["kept"])

    # --- per-sentence sentiment cache -----------------------------------------------------

    def save_review_sentences(self, sentences: pd.DataFrame, version: str) -> int:
        """Cache sentence rows (``review_key`` = content hash, ``sentence_index``, ``sentence``,
        ``compound``) computed by sentiment scorer ``version``."""
        columns = ["review_key", "sentence_index", "sentence", "compound"]
        missing = sentences[columns].isna().any(axis=1)
        if missing.any():
            raise ValueError(
                f"sentence rows need {', '.join(columns)}; {int(missing.sum())} rows lack one,"
                f" first at index {sentences.index[missing.to_numpy()][0]!r}"
            )
        # Positional tuples straight to the driver: this cache takes a row per sentence.
        rows = list(
            zip(
                sentences["review_key"].astype(str),
                itertools.repeat(version),
                sentences["sentence_index"].astype("int64").tolist(),
                sentences["sentence"].astype(str),
                sentences["compound"].astype(float).tolist(),
                strict=False,
            )
        )
        stored = ("content_hash", "version", "sentence_index", "sentence", "compound")
        keys = ("content_hash", "version", "sentence_index")
        if rows:
            self._transact(lambda conn: _upsert(conn, "review_sentences", stored, keys, rows))
        return len(rows)

    def read_review_sentences(
        self, version: str, hashes: Iterable[str] | None = None
    ) -> pd.DataFrame:
        """Cached sentence rows of scorer ``version`` (``review_key, sentence_index, sentence,
        compound``); only reviews with content hash in ``hashes`` when given."""
        select = (
            "SELECT content_hash AS review_key, sentence_index, sentence, compound"
            " FROM review_sentences WHERE version = :version"
        )
        if hashes is None:
            rows = self._rows(select, {"version": version})
        else:
            wanted = list(dict.fromkeys(hashes))
            rows = []
            for start in range(0, len(wanted), _LOOKUP_CHUNK):
                chunk = wanted[start : start + _LOOKUP_CHUNK]
                rows += self._rows(
                    select + f" AND content_hash IN ({_placeholders(len(chunk))})",
                    {"version": version, **_numbered(chunk)},
                )
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
            rows.append(
                {
                    "product_id": str(product_id),
                    "fingerprint": str(fingerprint),
                    "results": results_json,
                    "run_id": run_id,
                }
            )

        def work(conn: Connection) -> None:
            self._execute(conn, "DELETE FROM product_inputs")
            if rows:
                self._execute(
                    conn,
                    "INSERT INTO product_inputs (product_id, fingerprint, results_json, run_id)"
                    " VALUES (:product_id, :fingerprint, :results, :run_id)",
                    rows,
                )

        self._transact(work)
        return len(rows)

    def read_product_inputs(self) -> pd.DataFrame:
        """``product_id, fingerprint, results`` (dict) of the last scoring, by product id."""
        frame = self._frame(
            "SELECT product_id, fingerprint, results_json, run_id FROM product_inputs"
            f" ORDER BY product_id{self._binary}"
        )
        results = [json.loads(text) for text in frame.pop("results_json")]
        frame.insert(2, "results", pd.Series(results, index=frame.index, dtype=object))
        return _typed(frame, ints=["run_id"])
