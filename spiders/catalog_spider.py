"""The catalog spider: schedules sitemap, listing, product and review pages for every catalog store."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import scrapy
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest, ResponseDataLossError
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.sitemap import sitemap_urls_from_robots
from twisted.internet import error as net_error
from twisted.web._newclient import ResponseFailed
from twisted.web.http import _DataLoss

from backrank.core.config import load_catalog
from spiders import budgets, discovery, extract, sources
from spiders.budgets import BudgetExceeded
from spiders.items import ProductPage, Review
from spiders.middlewares import TOO_BIG_META
from spiders.sources.review_apps import is_review_app_api

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from twisted.python.failure import Failure

    from backrank.core.config import Catalog, StoreConfig

logger = logging.getLogger(__name__)


def utc_now() -> str:
    """Now as ISO 8601 UTC, the format of ``fetched_at``."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def error_kind(failure: Failure) -> str:
    """A short stable name for why a request failed: ``http_503``, ``timeout``, ``dns``..."""
    if failure.check(HttpError):
        return f"http_{failure.value.response.status}"
    request = getattr(failure, "request", None)
    if (request is not None and request.meta.get(TOO_BIG_META)) or _inflated_too_big(failure):
        return "too_big"
    if failure.check(IgnoreRequest):
        message = str(failure.value).lower()
        if "robots.txt" in message:
            return "robots_forbidden"
        if "offsite" in message:
            return "offsite"
        if "amazon page" in message:
            return "amazon_page"
        if "max redirections" in message:
            return "redirect_loop"
        return "ignored"
    if failure.check(DownloadCancelledError) and "max size" in str(failure.value):
        return "too_big"
    if failure.check(ResponseDataLossError):
        return "data_loss"
    if failure.check(ResponseFailed):
        if any(reason.check(_DataLoss) for reason in failure.value.reasons):
            return "data_loss"
        return "response_failed"
    if failure.check(net_error.DNSLookupError):
        return "dns"
    if failure.check(net_error.TimeoutError, net_error.TCPTimedOutError):
        return "timeout"
    if failure.check(net_error.ConnectionRefusedError):
        return "connection_refused"
    if failure.check(net_error.ConnectionLost, net_error.ConnectionDone):
        return "connection_lost"
    return type(failure.value).__name__.lower()


def _inflated_too_big(failure: Failure) -> bool:
    """A gzip/deflate/brotli body (Content-Encoding) that inflated past DOWNLOAD_MAXSIZE:
    Scrapy's HttpCompressionMiddleware ignores the request, caused by a ValueError."""
    return bool(failure.check(IgnoreRequest)) and isinstance(failure.value.__cause__, ValueError)


# Requests that were never meant to be fetched: counted as skipped, not as errors.
NOT_ERRORS = {"robots_forbidden", "offsite", "amazon_page"}
# How a store that switched its API off answers the API's first page: read its pages instead.
API_REFUSALS = {f"http_{status}" for status in sources.API_OFF_STATUSES} | {"robots_forbidden"}


class CatalogSpider(scrapy.Spider):
    """Crawls the stores of a catalog (``-a catalog=catalog.toml [-a store=NAME]``).

    Discovery per store: its sitemaps (index, urlset, gzip, or a robots.txt naming them),
    its listing pages (search results, categories, collections; paginated), its product URLs,
    and its platform's feed (Shopify's ``/products.json``). Pages are read by the store's
    source (``spiders.sources``); off-niche, blocked and product-less pages are dropped with
    a counted reason.
    """

    name = "catalog"

    def __init__(
        self,
        catalog: Catalog | str | None = None,
        store: str | None = None,
        *args: Any,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self._catalog_arg = catalog
        self.store_filter = store or None
        self.stores: dict[str, StoreConfig] = {}
        self.allowed_domains: list[str] = []
        self._fell_back: dict[str, bool] = {}  # stores reading their pages: their API refused

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> CatalogSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider._bind_catalog(spider._catalog_arg or crawler.settings.get("BACKRANK_CATALOG"))
        spider.max_review_pages = crawler.settings.getint("BACKRANK_MAX_REVIEW_PAGES")
        return spider

    def _bind_catalog(self, catalog: Catalog | str | None) -> None:
        if catalog is None:
            raise ValueError("no catalog: pass -a catalog=catalog.toml or set BACKRANK_CATALOG")
        if isinstance(catalog, str):
            catalog = load_catalog(catalog, sources.PLATFORMS)
        self.catalog = catalog
        names = [store.name for store in catalog.stores]
        if self.store_filter is not None and self.store_filter not in names:
            raise ValueError(
                f"store {self.store_filter!r} is not in the catalog ({', '.join(names)})"
            )
        # A store read through an API source (Amazon's Creators API) has no pages to fetch
        # (spiders.crawl.run_api_sources reads it).
        self.stores = {
            store.name: store
            for store in catalog.stores
            if (self.store_filter is None or store.name == self.store_filter)
            and sources.api_source(store) is None
        }
        domains: set[str] = set()
        for store in self.stores.values():
            domains.update(_host(domain) for domain in store.allowed_domains or ())
            for url in (*store.sitemap_urls, *store.start_urls, *store.product_urls):
                if host := discovery.host_of(url):
                    domains.add(host)
        # OffsiteMiddleware compares host names: a port would never match.
        self.allowed_domains = sorted(domain for domain in domains if domain)

    # -- seeds -----------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for store in self.stores.values():
            for request in self._seed_requests(store):
                yield request

    def _seed_requests(self, store: StoreConfig) -> Iterator[scrapy.Request]:
        source = sources.named(store.platform)
        feeds = source.feed_requests(store) if source else []
        if feeds and source.feed_replaces_pages:
            # an API first (the WooCommerce Store API): the pages only when it refuses
            for feed_request in feeds:
                yield self._feed_request(feed_request, store, page_number=1)
            return
        yield from self._page_requests(store)
        for feed_request in feeds:
            yield self._feed_request(feed_request, store, page_number=1)

    def _page_requests(self, store: StoreConfig) -> Iterator[scrapy.Request]:
        """The store's sitemaps, listing pages and product pages from the catalog."""
        for url in store.sitemap_urls:
            yield self._request(url, self.parse_sitemap, store)
        for url in store.start_urls:
            yield self._request(url, self.parse_listing_page, store)
        for url in store.product_urls:
            product_url = discovery.canonical_product_url(url, store.platform)
            yield self._request(product_url, self.parse_product, store)

    def _fall_back(self, config: StoreConfig, reason: str) -> Iterator[scrapy.Request]:
        """The store's pages, once its API refused the first page (counted by reason, so the
        refresh report says which path the store took and why)."""
        if self._fell_back.get(config.name):
            return  # a store with two origins falls back once
        self._fell_back[config.name] = True
        self._count(f"path/pages_fallback/{reason}", store=config.name)
        logger.warning(
            "store %s: its API is unavailable (%s), reading its pages", config.name, reason
        )
        yield from self._page_requests(config)

    def _request(
        self,
        url: str,
        callback: Any,
        store: StoreConfig,
        meta: dict[str, Any] | None = None,
        **cb_kwargs: Any,
    ) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=callback,
            errback=self.on_error,
            cb_kwargs={"store": store.name, **cb_kwargs},
            meta=meta,
        )

    def _within_budget(self, store: str, name: str, value: int) -> bool:
        """True when `value` (a listing page number, a sitemap depth) is within the store's
        budget `name`; else the refused request is counted (spiders.budgets)."""
        limit = budgets.store_budget(self.catalog, store, name)
        if value <= limit:
            return True
        if not budgets.budgets_hit(self.crawler.stats.get_stats(), store).get(name):
            logger.warning("store %s reached its %s budget (%d)", store, name, limit)
        budgets.count_hit(self.crawler.stats, name, store)
        return False

    def _feed_request(
        self, feed: sources.FeedRequest, store: StoreConfig, page_number: int
    ) -> scrapy.Request:
        return scrapy.Request(
            feed.url,
            method=feed.method,
            headers=dict(feed.headers) or None,
            body=feed.body,
            callback=self.parse_feed,
            errback=self.on_error,
            cb_kwargs={"store": store.name, "page_number": page_number},
        )

    def _count(self, key: str, count: int = 1, store: str | None = None) -> None:
        """Count under ``backrank/<key>`` and, for a store, ``backrank/store/<store>/<key>``."""
        self.crawler.stats.inc_value(f"backrank/{key}", count)
        if store:
            self.crawler.stats.inc_value(f"backrank/store/{store}/{key}", count)

    # -- discovery callbacks ---------------------------------------------------------------

    def parse_sitemap(self, response: Response, store: str) -> Iterator[scrapy.Request]:
        config = self.stores[store]
        self._count("pages/sitemap")
        depth = response.meta.get(budgets.SITEMAP_DEPTH_META, 0) + 1  # of the sitemaps it names
        child = {budgets.SITEMAP_DEPTH_META: depth}
        if response.url.endswith("/robots.txt"):
            urls = list(sitemap_urls_from_robots(response.body, base_url=response.url))
            if urls and self._within_budget(store, budgets.MAX_SITEMAP_DEPTH, depth):
                for url in urls:
                    yield self._request(url, self.parse_sitemap, config, meta=child)
            return
        try:
            body = discovery.sitemap_body(
                response.body, response.url, max_size=self.settings.getint("DOWNLOAD_MAXSIZE")
            )
            if body is None:
                raise ValueError("the response is neither XML nor gzip")
            kind, locs = discovery.read_sitemap(body)
        except discovery.SitemapTooBig as problem:
            self._count("errors/too_big", store=store)
            logger.warning("sitemap too big, skipped: %s: %s", response.url, problem)
            return
        except ValueError as problem:
            self._count("errors/bad_sitemap")
            logger.warning("bad sitemap %s: %s", response.url, problem)
            return
        if kind == "sitemapindex":
            urls = discovery.sitemaps_to_follow(locs)
            if urls and self._within_budget(store, budgets.MAX_SITEMAP_DEPTH, depth):
                for url in urls:
                    yield self._request(url, self.parse_sitemap, config, meta=child)
            return
        if kind != "urlset":
            self._count("errors/bad_sitemap")
            logger.warning("bad sitemap %s: root element is <%s>", response.url, kind)
            return
        product_urls = discovery.product_urls_in_sitemap(locs, config.platform)
        if len(product_urls) < len(locs):
            self._count("skipped/not_product_url", len(locs) - len(product_urls))
        for url in product_urls:
            yield self._request(url, self.parse_product, config)

    def parse_listing_page(self, response: Response, store: str) -> Iterator[scrapy.Request]:
        config = self.stores[store]
        self._count("pages/listing")
        if extract.is_blocked(response.body):
            # counted as blocked by spiders.middlewares on every robot check; here it gave up
            self._count("skipped/blocked", store=store)
            logger.warning("blocked (robot check) on listing page %s", response.url)
            return
        links = discovery.listing_page_links(response.body, response.url, config.platform)
        for url in links.product_urls:
            yield self._request(url, self.parse_product, config)
        page_number = response.meta.get(budgets.LISTING_PAGE_META, 1) + 1  # of the next page
        if links.next_url and self._within_budget(store, budgets.MAX_LISTING_PAGES, page_number):
            yield self._request(
                links.next_url,
                self.parse_listing_page,
                config,
                meta={budgets.LISTING_PAGE_META: page_number},
            )

    def parse_feed(
        self, response: Response, store: str, page_number: int
    ) -> Iterator[scrapy.Request | Any]:
        """A page of the store's feed (Shopify's ``/products.json``, an API's JSON)."""
        config = self.stores[store]
        source = sources.named(config.platform) or sources.GENERIC
        feed_name = source.feed_name or "feed"
        self._count(f"pages/{feed_name}")
        try:
            feed = source.parse_feed(sources.Page(response.body, response.url), page_number)
        except ValueError as problem:  # not the feed, or (queued before) a catalog change
            refused = isinstance(problem, sources.FeedUnavailable)  # HTML, not the API's JSON
            if refused and page_number == 1 and source.feed_replaces_pages:
                yield from self._fall_back(config, "not_json")
                return
            self._count(f"errors/bad_{feed_name}")
            logger.warning("bad %s %s: %s", feed_name, response.url, problem)
            return
        if page_number == 1 and source.feed_replaces_pages:
            self._count(f"path/{feed_name}", store=store)
        for url in feed.product_urls:
            yield self._request(url, self.parse_product, config)
        for product in feed.products:  # an API's products come whole, each at its own URL
            url = product.listing.url if product.listing else response.url
            yield from self._product_items(product, config, url)
        next_page = page_number + 1
        if feed.next is not None and self._within_budget(
            store, budgets.MAX_LISTING_PAGES, next_page
        ):
            yield self._feed_request(feed.next, config, next_page)

    # -- product and review pages ----------------------------------------------------------

    def parse_product(self, response: Response, store: str) -> Iterator[Any]:
        config = self.stores[store]
        self._count("pages/product", store=store)
        page = sources.parse_product_page(response.body, response.url, platform=config.platform)
        if page.dropped_json_ld:
            self._count("skipped/json_ld_too_deep", page.dropped_json_ld, store=store)
        yield from self._product_items(page, config, response.url)

    def _product_items(self, page: ProductPage, config: StoreConfig, url: str) -> Iterator[Any]:
        """The listing and reviews of one product (off-niche, blocked, empty: counted, dropped),
        and the requests for its further review pages."""
        store = config.name
        if page.blocked:
            self._count("skipped/blocked", store=store)
            logger.warning("blocked (robot check) on %s", url)
            return
        listing = page.listing
        if listing is None:
            self._count("skipped/no_product", store=store)
            logger.info("no product on %s", url)
            return
        if not (
            discovery.matches_include(url, config.include)
            or discovery.matches_include(listing.title, config.include)
        ):
            self._count("dropped/off_niche", store=store)
            logger.info("off-niche, dropped: %s (%r)", url, listing.title)
            return
        fetched_at = utc_now()
        listing.store = store
        listing.fetched_at = fetched_at
        self._count("found/listings", store=store)
        yield listing
        yield from self._reviews(page.reviews, store, listing.url, fetched_at)
        for page_number, review_url in enumerate(page.review_page_urls[: self.max_review_pages], 1):
            yield self._review_request(review_url, config, listing.url, page_number)

    def parse_review_page(
        self, response: Response, store: str, listing_url: str, page_number: int
    ) -> Iterator[Any]:
        config = self.stores[store]
        self._count("pages/review")
        page = sources.parse_review_page(response.body, response.url, platform=config.platform)
        if page.blocked:
            self._count("skipped/blocked", store=store)
            logger.warning("blocked (robot check) on review page %s", response.url)
            return
        yield from self._reviews(page.reviews, store, listing_url, utc_now())
        if page.next_url and page_number < self.max_review_pages:
            yield self._review_request(page.next_url, config, listing_url, page_number + 1)

    def _review_request(
        self, url: str, config: StoreConfig, listing_url: str, page_number: int
    ) -> scrapy.Request:
        # A review app's own API (judge.me, api-cdn.yotpo.com) is not the store's host.
        meta = {"allow_offsite": True} if is_review_app_api(url) else None
        return self._request(
            url,
            self.parse_review_page,
            config,
            meta=meta,
            listing_url=listing_url,
            page_number=page_number,
        )

    def _reviews(
        self, reviews: list[Review], store: str, listing_url: str, fetched_at: str
    ) -> Iterator[Review]:
        for review in reviews:
            review.store = store
            review.url = listing_url
            review.fetched_at = fetched_at
            self._count("found/reviews")
            yield review

    # -- bookkeeping -----------------------------------------------------------------------

    def on_error(self, failure: Failure) -> list[scrapy.Request] | None:
        """Count a failed request by reason; robots.txt and offsite refusals are not errors.
        A refused API first page brings the store's pages instead (the fallback)."""
        kind = error_kind(failure)
        url = failure.request.url
        store = failure.request.cb_kwargs.get("store")
        if failure.check(BudgetExceeded):
            return  # counted by the budget that refused it (spiders.budgets)
        if self._api_refused(failure, kind):
            return list(self._fall_back(self.stores[store], kind))
        if kind in NOT_ERRORS:
            self._count(f"skipped/{kind}", store=store)
            logger.debug("skipped (%s): %s", kind, url)
            return None
        self._count(f"errors/{kind}", store=store)
        logger.warning("request failed (%s): %s: %s", kind, url, failure.getErrorMessage())
        return None

    def _api_refused(self, failure: Failure, kind: str) -> bool:
        """Whether the failed request is the first page of an API that replaces the store's
        pages, refused as a store that switched it off refuses it."""
        request = failure.request
        if getattr(request.callback, "__name__", None) != "parse_feed":
            return False
        if request.cb_kwargs.get("page_number") != 1 or kind not in API_REFUSALS:
            return False
        config = self.stores.get(request.cb_kwargs.get("store"))
        source = sources.named(config.platform) if config else None
        return bool(source and source.feed_replaces_pages)


def _host(domain: str) -> str:
    """``127.0.0.1:8101`` or ``https://shop.example/`` -> the bare host name."""
    if "//" not in domain:
        domain = f"//{domain}"
    return discovery.host_of(domain) or ""
