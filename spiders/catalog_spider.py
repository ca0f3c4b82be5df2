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

from spiders import discovery, extract
from spiders.items import Review

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from twisted.python.failure import Failure

    from backrank.core.config import Catalog, StoreConfig

logger = logging.getLogger(__name__)

SHOPIFY_JSON_MAX_PAGES = 500  # a store with 125k products; past that something loops


def utc_now() -> str:
    """Now as ISO 8601 UTC, the format of ``fetched_at``."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def error_kind(failure: Failure) -> str:
    """A short stable name for why a request failed: ``http_503``, ``timeout``, ``dns``..."""
    if failure.check(HttpError):
        return f"http_{failure.value.response.status}"
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


# Requests that were never meant to be fetched: counted as skipped, not as errors.
NOT_ERRORS = {"robots_forbidden", "offsite", "amazon_page"}


class CatalogSpider(scrapy.Spider):
    """Crawls the stores of a catalog (``-a catalog=catalog.toml [-a store=NAME]``).

    Discovery per store: its sitemaps (index, urlset, gzip, or a robots.txt naming them),
    its listing pages (search results, categories, collections; paginated), its product URLs,
    and for Shopify ``/products.json``. Product pages go to ``spiders.extract``; off-niche,
    blocked and product-less pages are dropped with a counted reason.
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
            from backrank.core.config import load_catalog

            catalog = load_catalog(catalog)
        self.catalog = catalog
        names = [store.name for store in catalog.stores]
        if self.store_filter is not None and self.store_filter not in names:
            raise ValueError(
                f"store {self.store_filter!r} is not in the catalog ({', '.join(names)})"
            )
        # An Amazon store read through the Creators API has no pages to fetch
        # (spiders.crawl.run_api_sources reads it).
        self.stores = {
            store.name: store
            for store in catalog.stores
            if (self.store_filter is None or store.name == self.store_filter)
            and not store.uses_creators_api
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
        for url in store.sitemap_urls:
            yield self._request(url, self.parse_sitemap, store)
        for url in store.start_urls:
            yield self._request(url, self.parse_listing_page, store)
        for url in store.product_urls:
            product_url = discovery.canonical_product_url(url, store.platform)
            yield self._request(product_url, self.parse_product, store)
        if store.platform == "shopify":
            origins = {
                discovery.shopify_products_json_url(url, 1)
                for url in (*store.sitemap_urls, *store.start_urls, *store.product_urls)
            }
            for products_json in sorted(origins):
                yield self._request(products_json, self.parse_products_json, store, page_number=1)

    def _request(
        self, url: str, callback: Any, store: StoreConfig, **cb_kwargs: Any
    ) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=callback,
            errback=self.on_error,
            cb_kwargs={"store": store.name, **cb_kwargs},
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
        if response.url.endswith("/robots.txt"):
            for url in sitemap_urls_from_robots(response.body, base_url=response.url):
                yield self._request(url, self.parse_sitemap, config)
            return
        body = discovery.sitemap_body(
            response.body, response.url, max_size=self.settings.getint("DOWNLOAD_MAXSIZE")
        )
        try:
            if body is None:
                raise ValueError("the response is neither XML nor gzip")
            kind, locs = discovery.read_sitemap(body)
        except ValueError as problem:
            self._count("errors/bad_sitemap")
            logger.warning("bad sitemap %s: %s", response.url, problem)
            return
        if kind == "sitemapindex":
            for url in discovery.sitemaps_to_follow(locs):
                yield self._request(url, self.parse_sitemap, config)
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
        if links.next_url:
            yield self._request(links.next_url, self.parse_listing_page, config)

    def parse_products_json(
        self, response: Response, store: str, page_number: int
    ) -> Iterator[scrapy.Request]:
        config = self.stores[store]
        self._count("pages/products_json")
        try:
            product_urls = discovery.shopify_product_urls(response.json(), response.url)
        except ValueError as problem:
            self._count("errors/bad_products_json")
            logger.warning("bad products.json %s: %s", response.url, problem)
            return
        if not product_urls:  # past the last page
            return
        for url in product_urls:
            yield self._request(url, self.parse_product, config)
        if page_number < SHOPIFY_JSON_MAX_PAGES:
            next_url = discovery.shopify_products_json_url(response.url, page_number + 1)
            yield self._request(
                next_url, self.parse_products_json, config, page_number=page_number + 1
            )

    # -- product and review pages ----------------------------------------------------------

    def parse_product(self, response: Response, store: str) -> Iterator[Any]:
        config = self.stores[store]
        self._count("pages/product", store=store)
        page = extract.parse_product_page(response.body, response.url, platform=config.platform)
        if page.blocked:
            self._count("skipped/blocked", store=store)
            logger.warning("blocked (robot check) on %s", response.url)
            return
        listing = page.listing
        if listing is None:
            self._count("skipped/no_product", store=store)
            logger.info("no product on %s", response.url)
            return
        if not (
            discovery.matches_include(response.url, config.include)
            or discovery.matches_include(listing.title, config.include)
        ):
            self._count("dropped/off_niche", store=store)
            logger.info("off-niche, dropped: %s (%r)", response.url, listing.title)
            return
        fetched_at = utc_now()
        listing.store = store
        listing.fetched_at = fetched_at
        self._count("found/listings", store=store)
        yield listing
        yield from self._reviews(page.reviews, store, listing.url, fetched_at)
        for page_number, url in enumerate(page.review_page_urls[: self.max_review_pages], 1):
            yield self._review_request(url, config, listing.url, page_number)

    def parse_review_page(
        self, response: Response, store: str, listing_url: str, page_number: int
    ) -> Iterator[Any]:
        config = self.stores[store]
        self._count("pages/review")
        page = extract.parse_review_page(response.body, response.url, platform=config.platform)
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
        return self._request(
            url,
            self.parse_review_page,
            config,
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

    def on_error(self, failure: Failure) -> None:
        """Count a failed request by reason; robots.txt and offsite refusals are not errors."""
        kind = error_kind(failure)
        url = failure.request.url
        store = failure.request.cb_kwargs.get("store")
        if kind in NOT_ERRORS:
            self._count(f"skipped/{kind}", store=store)
            logger.debug("skipped (%s): %s", kind, url)
            return
        self._count(f"errors/{kind}", store=store)
        logger.warning("request failed (%s): %s: %s", kind, url, failure.getErrorMessage())


def _host(domain: str) -> str:
    """``127.0.0.1:8101`` or ``https://shop.example/`` -> the bare host name."""
    if "//" not in domain:
        domain = f"//{domain}"
    return discovery.host_of(domain) or ""
