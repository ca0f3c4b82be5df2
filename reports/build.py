"""Build the static site from the store: read frames, score if needed, context, render, write."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from pipelines.run import score
from reports.context import site_context
from reports.render import render_site
from reports.write import BUNDLED_STATIC, write_site


class StoreReader(Protocol):
    """The store methods the build reads (``backrank.store.Store`` has them)."""

    def read_offers(self, latest: bool = True) -> pd.DataFrame: ...
    def read_reviews(self) -> pd.DataFrame: ...
    def read_products(self) -> pd.DataFrame: ...
    def read_product_listings(self) -> pd.DataFrame: ...


@dataclass(frozen=True)
class BuildResult:
    """Where the site went and which pages (relative paths) it holds."""

    out_dir: Path
    pages: tuple[str, ...]


def build_site(
    catalog: Any, store: StoreReader, out_dir: str | Path, now: datetime | None = None
) -> BuildResult:
    """Render the whole site into ``out_dir`` (swapped in atomically).

    Uses the products ``backrank score`` saved; when there are none, scores the offers now
    (without saving: only ``score`` writes to the store).
    """
    now = now or datetime.now(UTC)
    offers = store.read_offers(latest=True)
    reviews = store.read_reviews()
    products = store.read_products()
    product_listings = store.read_product_listings()
    if products.empty:
        products, product_listings = score(
            offers,
            reviews,
            categories=catalog.categories,
            prior_strength=catalog.scoring.prior_strength,
        )
    context = site_context(catalog, products, product_listings, offers, reviews, now)
    pages = render_site(context)
    static_dirs = [BUNDLED_STATIC]
    if context.theme_dir:
        static_dirs.append(Path(context.theme_dir) / "static")
    written = write_site(pages, out_dir, static_dirs=static_dirs)
    return BuildResult(out_dir=written, pages=tuple(sorted(pages)))
