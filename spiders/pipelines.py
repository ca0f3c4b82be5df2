"""Scrapy item pipelines: validate listings and reviews, normalise their values, store them."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlsplit

from itemadapter import ItemAdapter
from scrapy.exceptions import DropItem, NotConfigured

from backrank.core.store import Store
from spiders.items import Listing, Review
from spiders.normalise import cap_text, normalise_listing, normalise_review
from spiders.run_status import run_status
from spiders.storage_failures import stop_crawl, storage_failed, storage_failure

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector


# C0/C1 control characters except tab, newline and carriage return; they break terminals,
# CSV readers and XML sitemaps and never belong in a title or review.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINK_FIELDS = ("canonical_url", "image_url")
_BARE_NUMBER = re.compile(r"^\s*[-+]?\d+(?:[.,]\d+)?\s*$")

# Signals of the StorePipeline, for a distributed worker (spiders.redis_worker): it sends
# `items_committed` after every write of its buffer, and writes its buffer when it receives
# `commit_requested`, so the worker acknowledges a request only once its items are stored.
items_committed = object()
commit_requested = object()


def is_http_url(value: object) -> bool:
    """True for an absolute http(s) URL with a host."""
    if not isinstance(value, str):
        return False
    parts = urlsplit(value.strip())
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def rating_out_of_range(value: Any) -> bool:
    """True for a bare number outside 0-5 ("-1", 7): text parsing would misread "-1" as 1."""
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, int | float):
        return not 0 <= value <= 5
    if isinstance(value, str) and _BARE_NUMBER.match(value):
        return not 0 <= float(value.strip().replace(",", ".")) <= 5
    return False


def strip_control(value: Any) -> Any:
    """Text without control characters ("" becomes None); other values unchanged."""
    if not isinstance(value, str):
        return value
    cleaned = _CONTROL.sub("", value).strip()
    return cleaned or None


def _fields_of(item: Listing | Review) -> dict[str, Any]:
    """The item's fields as a dict; shallow, as every field holds a plain value (asdict's deep
    copy cost more than writing the row)."""
    return {name: getattr(item, name) for name in item.__dataclass_fields__}


class _StatsPipeline:
    """Shared plumbing: the crawler's stats and a counted DropItem."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        assert crawler.stats is not None
        self.stats: StatsCollector = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def drop(self, kind: str, reason: str, item: Any) -> DropItem:
        self.stats.inc_value(f"backrank/dropped/{reason}")
        adapter = ItemAdapter(item)
        if adapter.get("store"):
            self.stats.inc_value(f"backrank/store/{adapter['store']}/dropped/{reason}")
        url = adapter.get("url")
        return DropItem(f"{kind} dropped ({reason}): {url}")


class ValidatePipeline(_StatsPipeline):
    """Drops items that cannot be a listing or a review; clears links that are not http(s)."""

    def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        if not isinstance(item, Listing | Review):
            return item
        adapter = ItemAdapter(item)
        kind = "listing" if isinstance(item, Listing) else "review"
        for name in adapter.field_names():
            value = adapter.get(name)
            if isinstance(value, str):
                adapter[name] = strip_control(value)
        if not adapter.get("url"):
            raise self.drop(kind, "no_url", item)
        if not is_http_url(adapter["url"]):
            raise self.drop(kind, "bad_url", item)
        if isinstance(item, Listing):
            if not adapter.get("title"):
                raise self.drop(kind, "no_title", item)
            for name in _LINK_FIELDS:
                if adapter.get(name) is not None and not is_http_url(adapter[name]):
                    adapter[name] = None
                    self.stats.inc_value(f"backrank/cleared/{name}")
        elif not any(adapter.get(name) is not None for name in ("rating", "title", "body")):
            raise self.drop(kind, "empty_review", item)
        elif rating_out_of_range(adapter.get("rating")):
            raise self.drop(kind, "bad_rating", item)
        return item


class NormalisePipeline(_StatsPipeline):
    """Cuts over-long text to its cap (counted ``truncated_text/<field>``), then types prices,
    currencies, stock, ratings and dates; drops reviews left without content."""

    def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        if isinstance(item, Listing | Review):
            self.cap(item)
        if isinstance(item, Listing):
            return self.normalise_listing(item)
        if isinstance(item, Review):
            return self.normalise_review(item)
        return item

    def cap(self, item: Listing | Review) -> None:
        """Cut the item's text to the caps of ``spiders.normalise.TEXT_CAPS``, counted per
        field (``backrank/truncated_text/<field>``) and per store."""
        cut, dropped = cap_text(item)
        for key in [f"truncated_text/{name}" for name in cut] + [
            f"cleared/{name}" for name in dropped
        ]:
            self.stats.inc_value(f"backrank/{key}")
            if item.store:
                self.stats.inc_value(f"backrank/store/{item.store}/{key}")

    def _currency_hint(self, store_name: str | None) -> str | None:
        catalog = getattr(self.crawler.spider, "catalog", None)
        if catalog is None or store_name is None:
            return None
        store = catalog.store(store_name)
        return None if store is None else store.currency

    def normalise_listing(self, listing: Listing) -> Listing:
        normalised = normalise_listing(listing, currency_hint=self._currency_hint(listing.store))
        if not normalised.title:
            raise self.drop("listing", "no_title", listing)
        for name in ("price", "currency", "availability", "rating", "review_count"):
            if getattr(normalised, name) is None:
                self.stats.inc_value(f"backrank/listings/missing_{name}")
        if normalised.availability == "unknown":
            self.stats.inc_value("backrank/listings/unknown_availability")
        return normalised

    def normalise_review(self, review: Review) -> Review:
        normalised = normalise_review(review)
        if review.rating is not None and normalised.rating is None:
            # "7 out of 5", "-1", "great": a rating we cannot read as 0-5 is not trusted.
            raise self.drop("review", "bad_rating", review)
        if normalised.rating is not None and not 0 <= float(normalised.rating) <= 5:
            raise self.drop("review", "bad_rating", review)
        if normalised.rating is None and not normalised.title and not normalised.body:
            raise self.drop("review", "empty_review", review)
        if normalised.date is None and review.date is not None:
            self.stats.inc_value("backrank/reviews/unparsed_date")
        return normalised


class StorePipeline(_StatsPipeline):
    """Writes listings (with their offer snapshot) and reviews to the SQLite store in batches.

    The run comes from ``BACKRANK_RUN_ID``; without one the pipeline starts a run and
    finishes it on close with the crawl's stats. Reviews are written after the listings of
    the same batch, so a review can find its listing (the store links late ones anyway).
    """

    def __init__(self, crawler: Crawler, db_path: str, run_id: int | None, batch_size: int) -> None:
        super().__init__(crawler)
        self.db_path = db_path
        self.run_id = run_id
        self.own_run = run_id is None
        self.batch_size = batch_size
        self.store: Store | None = None
        self.listings: list[dict[str, Any]] = []
        self.reviews: list[dict[str, Any]] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        db_path = crawler.settings.get("BACKRANK_DB")
        if not db_path:
            raise NotConfigured("BACKRANK_DB is not set: nothing will be stored")
        run_id = crawler.settings.get("BACKRANK_RUN_ID")
        pipeline = cls(
            crawler,
            str(db_path),
            None if run_id in (None, "") else int(run_id),
            crawler.settings.getint("BACKRANK_STORE_BATCH", 200),
        )
        crawler.signals.connect(pipeline._commit_requested, signal=commit_requested)
        return pipeline

    def _commit_requested(self) -> None:
        if self.store is not None:
            self.flush()

    def open_spider(self, spider: Spider | None = None) -> None:
        self.store = Store.open(self.db_path)
        if self.run_id is None:
            catalog_path = self.crawler.settings.get("BACKRANK_CATALOG")
            catalog = getattr(self.crawler.spider, "catalog", None)
            if catalog is not None:
                catalog_path = str(catalog.path)
            self.run_id = self.store.start_run(catalog_path)
        self.stats.set_value("backrank/run_id", self.run_id)
        catalog = getattr(self.crawler.spider, "catalog", None)
        for store in getattr(catalog, "stores", ()):
            urls = store.urls
            base_url = None
            if urls:
                parts = urlsplit(urls[0])
                base_url = f"{parts.scheme}://{parts.netloc}"
            self.store.save_store(store.name, store.platform, base_url)

    def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        if isinstance(item, Listing | Review) and storage_failed(self.crawler):
            # the crawl is stopping (full disk, read-only database): counted, not stored
            self.stats.inc_value("backrank/not_stored")
            return item
        if isinstance(item, Listing):
            self.listings.append(_fields_of(item))
        elif isinstance(item, Review):
            self.reviews.append(_fields_of(item))
        else:
            return item
        if len(self.listings) + len(self.reviews) >= self.batch_size:
            self.flush()
        return item

    def flush(self) -> None:
        """Write the buffered listings, then the buffered reviews.

        A write the disk or the database refuses (full, read-only, no permission) stops the
        crawl (``spiders.storage_failures``): the batch is counted as not stored, once.
        """
        if storage_failed(self.crawler):
            return
        try:
            self._write_batch()
        except Exception as error:  # the driver's error, judged by storage_failure below
            message = storage_failure(error, self.db_path)
            if message is None:
                raise
            self.stats.inc_value("backrank/not_stored", len(self.listings) + len(self.reviews))
            self.listings, self.reviews = [], []
            stop_crawl(self.crawler, message, self.db_path)

    def _write_batch(self) -> None:
        assert self.store is not None and self.run_id is not None
        if self.listings:
            saved = self.store.save_listings(self.run_id, self.listings)
            self.stats.inc_value("backrank/stored/listings", saved)
            self.listings = []
        if self.reviews:
            saved = self.store.save_reviews(self.run_id, self.reviews)
            self.stats.inc_value("backrank/stored/reviews", saved)
            self.reviews = []
        self.crawler.signals.send_catch_log(items_committed)

    def finish_own_run(self) -> None:
        """Close the run this pipeline started; failed when a write stopped the crawl (and left
        running when even that write is refused)."""
        assert self.store is not None and self.run_id is not None
        stats = self.stats.get_stats()
        complete = not storage_failed(self.crawler)
        try:
            self.store.finish_run(self.run_id, run_status(stats, complete=complete), stats)
        except Exception as error:  # the driver's error, judged by storage_failure below
            if complete or storage_failure(error, self.db_path) is None:
                raise

    def close_spider(self, spider: Spider | None = None) -> None:
        if self.store is None:
            return
        try:
            self.flush()
            if self.own_run and self.run_id is not None:
                self.finish_own_run()
        finally:
            self.store.close()
            self.store = None
