"""Store migrations: a SQLite file made by an earlier release opens and migrates as before;
PostgreSQL records its version in a table and migrates once however many open it at once."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

from sqlalchemy import text

from backrank.core.store import MIGRATIONS, Store
from backrank.core.store.schema import schema_version

# The schema of version 1 exactly as the first release's sqlite3 code created it (frozen here:
# the test must not build "old" files with the code it checks).
SCHEMA_V1 = """
CREATE TABLE runs (
            run_id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT NOT NULL CHECK (status IN ('running', 'ok', 'warnings', 'failed')),
            catalog_path TEXT,
            stats_json TEXT
        );
CREATE TABLE stores (
            name TEXT PRIMARY KEY,
            platform TEXT,
            base_url TEXT
        );
CREATE TABLE listings (
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
        );
CREATE INDEX listings_url_key ON listings (store, url_key);
CREATE TABLE offers (
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
        );
CREATE TABLE reviews (
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
        );
CREATE INDEX reviews_unlinked ON reviews (store, listing_url_key) WHERE listing_id IS NULL;
CREATE TABLE products (
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
        );
CREATE TABLE product_listings (
            product_id TEXT NOT NULL REFERENCES products(product_id) ON DELETE CASCADE,
            listing_id INTEGER NOT NULL REFERENCES listings(listing_id) ON DELETE CASCADE,
            PRIMARY KEY (product_id, listing_id)
        );
"""


def make_v1_file(path: Path) -> None:
    """A database as release 1 left it: its schema, a run, a listing, an offer, a review."""
    with sqlite3.connect(path) as conn:
        conn.executescript(SCHEMA_V1)
        conn.execute(
            "INSERT INTO runs (run_id, started_at, finished_at, status, stats_json)"
            " VALUES (1, '2024-06-01T10:00:00+00:00', '2024-06-01T10:05:00+00:00', 'ok', '{}')"
        )
        conn.execute(
            "INSERT INTO listings (listing_id, store, listing_key, url, url_key, title,"
            " first_seen_run, last_seen_run) VALUES (7, 'demo-woo', 'https://w.example/p/a',"
            " 'https://w.example/p/a', 'https://w.example/p/a', 'Old table', 1, 1)"
        )
        conn.execute(
            "INSERT INTO offers (listing_id, run_id, price, currency, rating, review_count)"
            " VALUES (7, 1, '129.50', 'USD', 4.5, 12)"
        )
        conn.execute(
            "INSERT INTO reviews (store, review_id, listing_url, listing_url_key, listing_id,"
            " rating, body, verified, content_hash, first_seen_run, last_seen_run) VALUES"
            " ('demo-woo', 'w-1', 'https://w.example/p/a', 'https://w.example/p/a', 7, 4.0,"
            " 'Fine', 1, 'abc', 1, 1)"
        )
        conn.execute("PRAGMA user_version = 1")
    conn.close()


def sqlite_schema(path: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
            " ORDER BY type, name"
        ).fetchall()
    conn.close()
    return rows


def schema_version_of(store: Store) -> int:
    """How many migration steps the store's database has run."""
    with store.engine.connect() as conn:
        return schema_version(conn)


def test_a_release_1_sqlite_file_migrates_to_the_schema_of_a_new_one(tmp_path: Path) -> None:
    old, new = tmp_path / "old.db", tmp_path / "new.db"
    make_v1_file(old)
    with Store.open(old) as store:
        assert schema_version_of(store) == len(MIGRATIONS)
        offer = store.read_offers().iloc[0]
        assert (offer["listing_id"], offer["title"], str(offer["price"])) == (
            7,
            "Old table",
            "129.50",
        )
        assert not offer["gone"]
        review = store.read_reviews().iloc[0]
        assert (review["review_id"], review["listing_id"], bool(review["verified"])) == (
            "w-1",
            7,
            True,
        )
        run = store.start_run(None)
        assert run == 2
        store.save_listings(
            run, [{"store": "demo-woo", "url": "https://w.example/p/a", "price": "119.00"}]
        )
        assert list(store.read_offers(latest=False)["price"].map(str)) == ["129.50", "119.00"]
    with Store.open(new):
        pass
    # Same tables, indexes and column definitions as a file created by this release.
    assert sqlite_schema(old) == sqlite_schema(new)


def test_migrating_is_idempotent_and_keeps_the_version(store_target: str) -> None:
    with Store.open(store_target) as store:
        run = store.start_run(None)
    with Store.open(store_target) as store:
        assert schema_version_of(store) == len(MIGRATIONS)
        assert store.last_run_id(status=None) == run


def open_store(target: str) -> int:
    with Store.open(target) as store:
        return schema_version_of(store)


def test_processes_opening_a_new_database_at_once_migrate_it_once(store_target: str) -> None:
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        versions = pool.map(open_store, [store_target] * 4)
    assert versions == [len(MIGRATIONS)] * 4
    with Store.open(store_target) as store, store.engine.connect() as conn:
        if store.dialect == "postgresql":
            assert conn.execute(text("SELECT version FROM backrank_schema")).scalars().all() == [
                len(MIGRATIONS)
            ]
        assert conn.execute(text("SELECT count(*) FROM runs")).scalar_one() == 0
