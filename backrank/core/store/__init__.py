"""The store: runs, listings, offer snapshots, reviews and scored products, in SQLite or PostgreSQL.

One facade, ``Store``, over a small package: ``engine`` (connections, transactions),
``crawl`` (what a crawl writes), ``reads`` (the crawl's frames), ``scoring`` (scored products
and the scoring caches), ``keys`` (listing keys, review hashes), ``values`` (cells between
pandas and SQL), ``schema`` (migrations) and ``target`` (where a store lives).
"""

from __future__ import annotations

from backrank.core.store.crawl import CrawlWrites
from backrank.core.store.keys import canonical_key, listing_key, review_content_hash, url_key
from backrank.core.store.reads import FrameReads
from backrank.core.store.schema import MIGRATIONS
from backrank.core.store.scoring import ScoringCaches

__all__ = ["MIGRATIONS", "Store", "canonical_key", "listing_key", "review_content_hash", "url_key"]


class Store(CrawlWrites, FrameReads, ScoringCaches):
    """A backrank database: a SQLite file or a PostgreSQL database. Open with
    ``Store.open(target)``."""
