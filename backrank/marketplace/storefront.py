"""What every demo store shares: its catalog listings, their indexes, URLs, sitemap files, page numbers."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ClassVar

from backrank.marketplace.catalog import KINDS, Catalog, StoreListing
from backrank.marketplace.response import rendered_once, urlset


class StoreFront:
    """One store's listings, indexed by the store's own key (ASIN, handle, slug, item id)."""

    store: ClassVar[str]
    listing_path: ClassVar[Callable[[StoreListing], str]]
    sitemap_size: ClassVar[int]  # listings per sitemap file

    def __init__(self, catalog: Catalog, base_url: str):
        self.catalog = catalog
        self.base_url = base_url
        self.listings = catalog.listings[self.store]
        self.by_key = catalog.by_key[self.store]

    def url(self, listing: StoreListing) -> str:
        return self.base_url + self.listing_path(listing)

    @functools.cached_property
    def by_category(self) -> dict[str, list[StoreListing]]:
        """The listings under each category, every category present (empty when it has none)."""
        index: dict[str, list[StoreListing]] = {kind.category: [] for kind in KINDS}
        for row in self.listings:
            index[row.product.category].append(row)
        return index

    def sitemap_count(self) -> int:
        """How many sitemap files the listings fill."""
        return -(-len(self.listings) // self.sitemap_size)

    def sitemap_rows(self, number: int) -> list[StoreListing]:
        """The listings of sitemap file ``number`` (counted from 1); empty outside the files."""
        if number < 1:
            return []
        return self.listings[(number - 1) * self.sitemap_size : number * self.sitemap_size]

    @rendered_once
    def sitemap_chunk(self, number: int) -> str | None:
        """Sitemap file ``number`` as a plain <urlset> of listing URLs; None outside the files."""
        rows = self.sitemap_rows(number)
        return urlset([self.url(row) for row in rows]) if rows else None


def page_number(text: str) -> int | None:
    """A positive page number, or None for anything else."""
    return int(text) if text.isdigit() and 0 < int(text) < 10**7 else None
