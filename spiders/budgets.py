"""Crawl budgets: how far one run may go before a crawler trap ends it, and their counters.

A budget that stops a crawl is counted under ``backrank/budget/<name>`` (and, for a store's
own budgets, ``backrank/store/<store>/budget/<name>``), the count being the requests it
refused. The run then ends as ``warnings`` and the refresh report names the budget.

- ``max_pages``: responses per store per run (``PageBudgetMiddleware``);
- ``max_listing_pages``: listing pages followed by "next" from one start URL, and Shopify
  ``/products.json`` pages (the spider, by a request meta counter);
- ``max_sitemap_depth``: hops from a seed through robots.txt and sitemap indexes (the spider);
- ``max_run_minutes``: wall time of a run, resumed runs included (Scrapy's
  ``CLOSESPIDER_TIMEOUT``, set by ``spiders.crawl``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self

from scrapy.exceptions import IgnoreRequest

from backrank.core.config import STORE_BUDGETS

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

    from backrank.core.config import Catalog

logger = logging.getLogger(__name__)

MAX_PAGES, MAX_LISTING_PAGES = "max_pages", "max_listing_pages"
MAX_SITEMAP_DEPTH, MAX_RUN_MINUTES = "max_sitemap_depth", "max_run_minutes"
# Where the catalog sets each budget, for the report's advice.
CATALOG_KEYS = {
    MAX_PAGES: "[crawl] max_pages_per_store or the store's max_pages",
    MAX_LISTING_PAGES: "[crawl] max_listing_pages or the store's max_listing_pages",
    MAX_SITEMAP_DEPTH: "[crawl] max_sitemap_depth or the store's max_sitemap_depth",
    MAX_RUN_MINUTES: "[crawl] max_run_minutes",
}
# Request meta counters the spider carries from page to page.
LISTING_PAGE_META = "backrank_listing_page"  # 1 on a start URL
SITEMAP_DEPTH_META = "backrank_sitemap_depth"  # 0 on a seed


class BudgetExceeded(IgnoreRequest):
    """A request refused because its store spent a crawl budget (counted where raised)."""


def store_budget(catalog: Catalog, store: str, name: str) -> int:
    """The store's own budget `name`, else the catalog's [crawl] one."""
    config = catalog.store(store)
    own = None if config is None else getattr(config, name)
    return int(own if own is not None else getattr(catalog.crawl, STORE_BUDGETS[name]))


def count_hit(stats: StatsCollector, name: str, store: str | None = None, count: int = 1) -> None:
    """Count `count` requests refused by budget `name` (run-wide, and for `store`)."""
    stats.inc_value(f"backrank/budget/{name}", count)
    if store:
        stats.inc_value(f"backrank/store/{store}/budget/{name}", count)


def budgets_hit(stats: Mapping[str, Any], store: str | None = None) -> dict[str, int]:
    """The budgets a run's stats say were hit (run-wide, or for one `store`): name -> count."""
    prefix = "backrank/budget/" if store is None else f"backrank/store/{store}/budget/"
    return {
        key.removeprefix(prefix): int(value)
        for key, value in sorted(stats.items())
        if key.startswith(prefix)
    }


def store_cut_short(stats: Mapping[str, Any], store: str) -> bool:
    """True when a budget stopped some of `store`'s crawl (its own, or the run's wall time):
    a listing it did not reach is not missing from the store."""
    return bool(budgets_hit(stats, store)) or MAX_RUN_MINUTES in budgets_hit(stats)


class PageBudgetMiddleware:
    """Downloader middleware: refuses a store's requests past its ``max_pages`` budget.

    Counts each request of a store once (retries are not new pages). The counts live in the
    spider's JOBDIR state when there is one, so a resumed run goes on from where it stopped.
    In a distributed crawl each worker counts on its own.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.budgets: dict[str, int] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def _counts(self, spider: Spider) -> dict[str, int]:
        state = getattr(spider, "state", None)
        if state is None:  # no JOBDIR: keep the counts on the spider for this process
            state = spider.__dict__.setdefault("_budget_state", {})
        return state.setdefault("pages_per_store", {})

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        store = request.cb_kwargs.get("store")
        spider = spider or self.crawler.spider
        catalog = getattr(spider, "catalog", None)
        if not store or catalog is None or request.meta.get("retry_times"):
            return
        if store not in self.budgets:
            self.budgets[store] = store_budget(catalog, store, MAX_PAGES)
        counts = self._counts(spider)
        if counts.get(store, 0) >= self.budgets[store]:
            assert self.crawler.stats is not None
            if not budgets_hit(self.crawler.stats.get_stats(), store).get(MAX_PAGES):
                logger.warning(
                    "store %s spent its budget of %d pages: no more of its pages this run",
                    store, self.budgets[store],
                )  # fmt: skip
            count_hit(self.crawler.stats, MAX_PAGES, store)
            raise BudgetExceeded(f"store {store} spent its budget of {self.budgets[store]} pages")
        counts[store] = counts.get(store, 0) + 1
