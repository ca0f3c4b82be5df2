"""The interface of a source read through an API client instead of pages (Amazon's Creators API).

Such a source runs beside the Scrapy crawl (``spiders.crawl.run_api_sources``), never through
it: ``for_store`` builds it for one catalog store (its credentials, its program's tag) and
``fetch`` returns an ``ApiOutcome``: the listings to store, as the item pipelines store
crawled ones, the path the store took and, when the API refused, why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self

if TYPE_CHECKING:
    from backrank.core.config import Catalog, StoreConfig


@dataclass(kw_only=True)
class ApiOutcome:
    """What one API store gave in one run."""

    path: str  # the path it took, as the refresh report names it ("creators-api", "link-only")
    refusal: str | None = None  # why the API stopped the store (a short key), else None
    reason: str | None = None  # plain words for the report; never a credential
    listings: list[dict[str, Any]] = field(default_factory=list)  # for Store.save_listings
    counts: dict[str, int] = field(default_factory=dict)  # per-store stats

    def count(self, name: str, value: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + value


class ApiSource(Protocol):
    """A store's products read through an API client."""

    name: ClassVar[str]

    @classmethod
    def for_store(cls, store: StoreConfig, catalog: Catalog) -> Self: ...

    def fetch(self, known_urls: Mapping[str, str] | None = None) -> ApiOutcome:
        """A listing per product of the store; ``known_urls`` (product key -> URL stored
        before) keeps a listing on its URL when the API gives none this run."""
        ...
