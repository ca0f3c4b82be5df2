"""The store's engine: connecting, migrating, statements in each driver's style, and write
transactions that retry a PostgreSQL deadlock."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import pandas as pd
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

from backrank.core.store.schema import LINK_LOCK_CLASS, migrate
from backrank.core.store.target import engine_url, is_url, masked, unavailable

T = TypeVar("T")
# SQLite caps bound parameters per statement; look-ups by many keys go in chunks this size.
LOOKUP_CHUNK = 500
# A write transaction that hit a PostgreSQL deadlock or serialization failure runs again.
_WRITE_ATTEMPTS = 6
# Listing keys map onto this many advisory locks: enough to keep unrelated listings apart,
# few enough for PostgreSQL's lock table however large a batch is.
_LINK_LOCKS = 1024


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


def placeholders(count: int) -> str:
    """``:p0, :p1, ...`` for an IN list of ``count`` values (see ``_numbered``)."""
    return ", ".join(f":p{i}" for i in range(count))


def numbered(values: Iterable[Any]) -> dict[str, Any]:
    """The parameters ``p0, p1, ...`` that ``placeholders`` names, bound to ``values``."""
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


def upsert(
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
    # dropped now, not only at commit: the transaction may upsert into the table again
    conn.exec_driver_sql(f"DROP TABLE {staging}")


class StoreEngine:
    """A backrank database (a SQLite file or a PostgreSQL database), its connections and
    transactions; ``Store`` adds what the stages write and read."""

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
        """The open SQLAlchemy engine; RuntimeError once the store is closed."""
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
