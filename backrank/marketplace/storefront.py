"""What every demo store shares: its catalog listings, their key index, their URLs and page numbers."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from backrank.marketplace.catalog import KINDS, Catalog, StoreListing


class StoreFront:
    """One store's listings, indexed by the store's own key (ASIN, handle, slug, item id)."""

    store: ClassVar[str]
    listing_path: ClassVar[Callable[[StoreListing], str]]

    def __init__(self, catalog: Catalog, base_url: str):
        self.catalog = catalog
        self.base_url = base_url
        self.listings = catalog.listings[self.store]
        self.by_key = catalog.by_key[self.store]

    def url(self, listing: StoreListing) -> str:
        return self.base_url + self.listing_path(listing)


def by_category(listings: list[StoreListing]) -> dict[str, list[StoreListing]]:
    """The listings under each category, every category present (empty when it has none)."""
    index: dict[str, list[StoreListing]] = {kind.category: [] for kind in KINDS}
    for row in listings:
        index[row.product.category].append(row)
    return index


def page_number(text: str) -> int | None:
    """A positive page number, or None for anything else."""
    return int(text) if text.isdigit() and 0 < int(text) < 10**7 else None
