"""The registry of sources (store platforms and APIs) and the page parsers that dispatch to them.

A new platform is one module here with a ``Source`` subclass (see ``spiders.sources.base``)
and one line in ``SOURCES``; a platform read through an API client instead of pages (Amazon's
Creators API) is an ``ApiSource`` (``spiders.sources.api``) and one line in ``API_SOURCES``.
Nothing else in the crawl names a platform. Shopify's review apps are plug-ins of their own
(``spiders.sources.review_apps.APPS``): an app's endpoint page is read by its app, whatever
the store's platform.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from backrank.core.config import AUTO_PLATFORM
from spiders.extract import generic, is_blocked
from spiders.items import ProductPage, ReviewPage
from spiders.sources import review_apps
from spiders.sources.amazon import Amazon
from spiders.sources.api import ApiOutcome, ApiSource
from spiders.sources.base import (
    API_OFF_STATUSES,
    FeedPage,
    FeedRequest,
    FeedUnavailable,
    Page,
    Source,
)
from spiders.sources.creators_api import CreatorsApiSource
from spiders.sources.shopify import Shopify
from spiders.sources.walmart import Walmart
from spiders.sources.woocommerce import WooCommerce

if TYPE_CHECKING:
    from backrank.core.config import StoreConfig

__all__ = [
    "API_OFF_STATUSES",
    "API_SOURCES",
    "AUTO_PLATFORM",
    "GENERIC",
    "ApiOutcome",
    "ApiSource",
    "PLATFORMS",
    "SOURCES",
    "FeedPage",
    "FeedRequest",
    "FeedUnavailable",
    "Page",
    "Source",
    "api_source",
    "detect",
    "named",
    "parse_product_page",
    "parse_review_page",
    "url_sources",
]

logger = logging.getLogger(__name__)

# In detection order: the first source whose markers a page carries reads it; the generic
# source (schema.org only) reads every other page.
SOURCES: tuple[Source, ...] = (Amazon(), Walmart(), Shopify(), WooCommerce(), Source())
_BY_NAME = {source.name: source for source in SOURCES}
PLATFORMS: tuple[str, ...] = tuple(_BY_NAME)  # the names a catalog store's platform may take
GENERIC = SOURCES[-1]
# Platforms read through an API client instead of pages (spiders.sources.api): a store of one
# is never crawled, unless it opted into its pages (allow_amazon_scraping, for Amazon).
API_SOURCES: dict[str, type[ApiSource]] = {"amazon": CreatorsApiSource}


def api_source(store: StoreConfig) -> type[ApiSource] | None:
    """The API source that reads `store`, or None for a store crawled page by page."""
    if store.allow_amazon_scraping:
        return None
    return API_SOURCES.get(store.platform)


def named(platform: str | None) -> Source | None:
    """The source a catalog store names; None for ``auto`` (detected page by page)."""
    if platform is None or platform == AUTO_PLATFORM:
        return None
    try:
        return _BY_NAME[platform]
    except KeyError:
        raise ValueError(
            f"unknown platform {platform!r}; expected {AUTO_PLATFORM} or one of {', '.join(PLATFORMS)}"
        ) from None


def detect(html: str | bytes | Page) -> Source:
    """The source whose markup the page carries; the generic source for any other page.

    The URL is not consulted: a store's domain says nothing about its markup.
    """
    page = html if isinstance(html, Page) else Page(html, "")
    return next((source for source in SOURCES if source.detect(page)), GENERIC)


def url_sources(platform: str | None) -> tuple[Source, ...]:
    """The sources whose URL patterns a store configured with `platform` uses: its own when
    its platform has a product URL pattern, else every source that has one."""
    source = named(platform)
    if source is not None and source.product_path is not None:
        return (source,)
    return tuple(s for s in SOURCES if s.product_path is not None)


def _source_for(page: Page, platform: str | None) -> Source:
    return named(platform) or detect(page)


def parse_product_page(html: str | bytes, url: str, platform: str = AUTO_PLATFORM) -> ProductPage:
    """The listing, the reviews shown on the page and further review-page URLs (absolute)."""
    if is_blocked(html):
        return ProductPage(listing=None, blocked=True)
    page = Page(html, url)
    source = _source_for(page, platform)
    # what the platform's reading left empty, from what the page shows (price, stock, sku...)
    listing = generic.fill_from_page(
        source.parse_listing(page), page.sel, page.url, page.text, page.data
    )
    listing.platform = source.name
    reviews = source.parse_reviews(page)
    more = source.review_page_urls(page, listing)
    return ProductPage(
        listing=listing,
        reviews=reviews,
        review_page_urls=_unique(more),
        dropped_json_ld=page.data.dropped_json_ld,
    )


def parse_review_page(html: str | bytes, url: str, platform: str = AUTO_PLATFORM) -> ReviewPage:
    """Reviews of a review page, the next page's absolute URL and the page's rating summary.

    Each Review.url is the review page's URL; the spider, which knows the listing, replaces it
    with the listing URL.
    """
    if is_blocked(html):
        return ReviewPage(blocked=True)
    if review_apps.endpoint_app(url) is not None:  # a review app's JSON, whatever the store
        return _review_app_page(html, url)
    page = Page(html, url)
    return _source_for(page, platform).parse_review_page(page)


def _review_app_page(body: str | bytes, url: str) -> ReviewPage:
    """One page of a review app's endpoint; empty (and logged) when it answered no JSON."""
    try:
        read = review_apps.parse(body, url, url)
    except ValueError as problem:
        logger.warning("review app page %s: %s", url, problem)
        return ReviewPage()
    return ReviewPage(reviews=read.reviews, next_url=read.next_url, total_ratings=read.total)


def _unique(urls: list[str | None]) -> list[str]:
    seen: list[str] = []
    for url in urls:
        if url and url not in seen:
            seen.append(url)
    return seen
