"""The one interface every source implements (a store platform or a store API), and the page it reads.

A source answers five questions, each a method or a class attribute: is this page mine
(``detect``), where are the product pages (``product_path``, ``product_link_css``,
``next_page_css``, ``canonical_product_url``, ``feed_requests`` + ``parse_feed``), what does a
product page say (``parse_listing``, ``parse_reviews``), where are more reviews
(``review_page_urls``) and what does a review page say (``parse_review_page``).

``Source`` itself is the generic store: schema.org JSON-LD / microdata / RDFa and OpenGraph
through ``spiders.extract``. A platform subclasses it and adds only what structured data
lacks. An API source (a JSON endpoint) sets ``feed_name``, returns its first requests from
``feed_requests`` (a POST with a JSON body where the API wants one) and reads the JSON of
``page.text`` in ``parse_feed`` and ``parse_review_page``; a feed page may carry whole
products (``FeedPage.products``) instead of product page URLs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import SplitResult

from parsel import Selector

from spiders.extract import generic
from spiders.extract.markup import decode_html, html_selector, page_language
from spiders.extract.schemaorg import StructuredData, read_structured_data
from spiders.items import Listing, ProductPage, Review, ReviewPage

if TYPE_CHECKING:
    from backrank.core.config import StoreConfig


class Page:
    """One fetched page: its text, and the selector, language and structured data read on demand."""

    def __init__(self, body: str | bytes, url: str) -> None:
        self.text = decode_html(body)
        self.url = url

    @cached_property
    def sel(self) -> Selector:
        return html_selector(self.text)

    @cached_property
    def language(self) -> str | None:
        return page_language(self.sel)

    @cached_property
    def data(self) -> StructuredData:
        return read_structured_data(self.text, self.url, self.sel)

    def has_any(self, hints: Iterable[str]) -> bool:
        """True when one of the plain substrings `hints` is in the page (a cheap pre-check)."""
        return any(hint in self.text for hint in hints)


@dataclass(frozen=True, kw_only=True)
class FeedRequest:
    """One request for a page of a source's feed or API: a GET unless the API wants more.

    Requests are queued as JSON (in Redis for a distributed crawl): ``headers`` never hold
    a secret; an API that signs its requests does so in a downloader middleware.
    """

    url: str
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str | None = None  # a JSON body, for a POST


@dataclass(kw_only=True)
class FeedPage:
    """What one feed page (a JSON listing such as Shopify's ``/products.json``) yields."""

    product_urls: list[str] = field(default_factory=list)  # product pages to fetch
    products: list[ProductPage] = field(default_factory=list)  # products the feed gives whole
    next: FeedRequest | None = None  # the feed's next page; None at the end


# How a store answers the first page of an API it switched off (a security plugin, behind a
# login) or never had: the crawl then reads its pages, and probe says so.
API_OFF_STATUSES = (401, 403, 404)


class FeedUnavailable(ValueError):
    """The store does not serve the source's feed (switched off, or not this platform)."""


class Source:
    """A store with schema.org markup and nothing else known: the base every source extends."""

    name: ClassVar[str] = "generic"
    # The path (and query) of a product page; None when the platform has no known pattern.
    product_path: ClassVar[re.Pattern[str] | None] = None
    # Links to product pages on a listing page (search results, category, collection).
    product_link_css: ClassVar[tuple[str, ...]] = ()
    # The "next page" link of a listing page.
    next_page_css: ClassVar[tuple[str, ...]] = ()
    # The stats name of the source's feed pages (``pages/<feed_name>``); None without a feed.
    feed_name: ClassVar[str | None] = None
    # A platform backrank never crawls: the path it takes instead, in a word and a sentence
    # (``backrank probe`` prints them).
    not_crawled: ClassVar[tuple[str, str] | None] = None
    # True: the feed is an API that gives whole products, so the store's pages (sitemaps,
    # listing and product pages) are crawled only when its first page is refused: a 401, 403
    # or 404, or ``FeedUnavailable`` from ``parse_feed`` (HTML instead of JSON).
    feed_replaces_pages: ClassVar[bool] = False

    def owns_host(self, host: str) -> bool:
        """True for a host that is this platform whatever its pages say (Amazon's shops)."""
        return False

    def detect(self, page: Page) -> bool:
        """True when the page's markup is this platform's (the URL says nothing about it)."""
        return False

    # -- discovery -------------------------------------------------------------------------

    def canonical_product_url(self, parts: SplitResult) -> str | None:
        """The one URL of this platform's product page `parts`; None when no own rule applies."""
        return None

    def feed_requests(self, store: StoreConfig) -> list[FeedRequest]:
        """The first feed or API pages of a catalog store (none for a plain HTML store)."""
        return []

    def parse_feed(self, page: Page, page_number: int) -> FeedPage:
        """Products of feed page `page_number`; ValueError when the page is not the feed."""
        raise ValueError(f"{self.name} has no feed")

    # -- product and review pages ----------------------------------------------------------

    def parse_listing(self, page: Page) -> Listing:
        """The listing a product page describes (raw values; ``spiders.normalise`` types them)."""
        return generic.parse_listing(page.sel, page.data, page.url, page.text, fill=False)

    def parse_reviews(self, page: Page) -> list[Review]:
        """The reviews shown on a product page."""
        return generic.parse_reviews(page.data, page.url, page.language)

    def review_page_urls(self, page: Page, listing: Listing) -> list[str]:
        """Further review pages of the product page `page` (absolute URLs)."""
        return []

    def parse_review_page(self, page: Page) -> ReviewPage:
        """Reviews of a review page, the next page and the page's rating summary."""
        listing = generic.parse_listing(page.sel, page.data, page.url, page.text)
        return ReviewPage(
            reviews=Source.parse_reviews(self, page),
            rating=listing.rating,
            total_ratings=listing.review_count,
            product_name=listing.title,
        )
