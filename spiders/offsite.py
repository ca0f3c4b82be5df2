"""Per-store offsite filter: a store's requests go only to the origins of its own catalog URLs."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Self
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest

from spiders.sources.review_apps import is_review_app_api

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler

    from backrank.core.config import StoreConfig

logger = logging.getLogger(__name__)

DEFAULT_PORTS = {"http": 80, "https": 443}
Origin = tuple[str, str, int]  # scheme, host, port


def origin_of(url: str) -> Origin | None:
    """(scheme, host, port) of an http(s) URL, the port made explicit; None for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a port out of range or not a number
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme]


def store_origins(store: StoreConfig) -> frozenset[Origin]:
    """The origins of a store's catalog URLs, plus the https upgrade of a plain-http default
    port (``http://shop.example`` redirecting to ``https://shop.example`` stays the store)."""
    origins = {origin for url in store.urls if (origin := origin_of(url))}
    upgrades = {
        ("https", host, 443) for scheme, host, port in origins if (scheme, port) == ("http", 80)
    }
    return frozenset(origins | upgrades)


class StoreOffsiteMiddleware:
    """Downloader middleware: refuses a store's request to any scheme, host or port its catalog
    URLs do not name (links in its sitemaps, listings, review pagination or redirects).

    Scrapy's OffsiteMiddleware compares host names across every store of the catalog, so a
    store could make the crawler fetch any port of a host another store names (two demo stores
    on 127.0.0.1, a shop next to an admin port). Requests without a store (robots.txt) pass.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.origins: dict[str, frozenset[Origin]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        store = request.cb_kwargs.get("store")
        catalog = getattr(spider or self.crawler.spider, "catalog", None)
        if not store or catalog is None:
            return
        if store not in self.origins:
            config = catalog.store(store)
            self.origins[store] = frozenset() if config is None else store_origins(config)
        if is_review_app_api(request.url):
            return  # the store's review app's own API (Judge.me, Yotpo, ...): its reviews
        if origin_of(request.url) not in self.origins[store]:
            raise IgnoreRequest(f"offsite for store {store}: {request.url}")
