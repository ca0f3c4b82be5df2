"""Build the static site from the scored store: read frames, context, render, write."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from reports.context import SiteContext
from reports.links import offsite_link_count
from reports.pages import Reuse, site_context
from reports.render import (
    make_environment,
    page_keys,
    render_site,
    templates_fingerprint,
    unchanged_pages,
)
from reports.write import BUNDLED_STATIC, WriteStats, previous_keys, write_site_stats


class StoreReader(Protocol):
    """The store methods the build reads (``backrank.core.store.Store`` has them).

    ``read_offer_history``, ``read_scoring_summary`` and ``read_product_snapshots`` are used
    when the store has them.
    """

    def read_offers(self, latest: bool = True) -> pd.DataFrame: ...
    def read_reviews(self) -> pd.DataFrame: ...
    def read_products(self) -> pd.DataFrame: ...
    def read_product_listings(self) -> pd.DataFrame: ...


class NotScored(RuntimeError):
    """The store was crawled but never scored; the build never scores on its own."""


@dataclass(frozen=True)
class BuildResult:
    """Where the site went, which files (relative paths) it holds, and what was rewritten."""

    out_dir: Path
    pages: tuple[str, ...]
    rendered: int = 0
    written: int = 0
    kept: int = 0
    offsite_links: int = 0  # store URLs dropped for pointing at another host (reports.links)


def _optional(store: Any, method: str) -> Any:
    """A read the store may not have yet (an older store, or a test double)."""
    return getattr(store, method)() if hasattr(store, method) else None


def live_offers(offers: pd.DataFrame) -> pd.DataFrame:
    """The offers still listed: a ``gone`` (delisted) listing's offer and link leave the site.

    A store without the ``gone`` column (before issue 5) lists every offer.
    """
    if "gone" not in offers.columns or offers.empty:
        return offers
    gone = offers["gone"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    return offers[~gone].reset_index(drop=True)


def context_from_store(
    catalog: Any, store: StoreReader, now: datetime, reuse: Reuse | None = None
) -> SiteContext:
    """Step 1: the site's context from what the store holds (``backrank score`` must have run).

    With ``reuse`` (see ``reuse_for``), unchanged products keep their pages from the last build.
    """
    offers = live_offers(store.read_offers(latest=True))
    reviews = store.read_reviews()
    products = store.read_products()
    product_listings = store.read_product_listings()
    if products.empty and not offers.empty:
        raise NotScored("the store holds offers but no scored products: run `backrank score` first")
    context = site_context(
        catalog,
        products,
        product_listings,
        offers,
        reviews,
        now,
        offer_history=_optional(store, "read_offer_history"),
        scoring_summary=_optional(store, "read_scoring_summary"),
        snapshots=_optional(store, "read_product_snapshots"),
        reuse=reuse,
    )
    return replace(context, offsite_links=offsite_link_count(catalog, offers))


def reuse_for(catalog: Any, out_dir: str | Path) -> Reuse:
    """What a build into ``out_dir`` may keep: the last build's keys, this build's templates."""
    theme_dir = getattr(catalog.site, "theme_dir", None)
    fingerprint = templates_fingerprint(make_environment(theme_dir))
    return Reuse(previous=previous_keys(out_dir, existing=True), templates_fingerprint=fingerprint)


def write_context(context: SiteContext, out_dir: str | Path) -> BuildResult:
    """Steps 2 and 3: render what changed since the last build into ``out_dir``, then write.

    Pages the context kept are carried over from the last build without rendering.
    """
    env = make_environment(context.theme_dir)
    fingerprint = templates_fingerprint(env)
    if context.kept and context.fingerprint != fingerprint:
        raise ValueError("the context kept pages rendered with other templates: rebuild it")
    keys = page_keys(context, fingerprint)
    unchanged = unchanged_pages(keys, previous_keys(out_dir)) | set(context.kept)
    keys.update(context.kept)
    pages = render_site(context, skip=unchanged, env=env)
    static_dirs = [BUNDLED_STATIC]
    if context.theme_dir:
        static_dirs.append(Path(context.theme_dir) / "static")
    written_dir, stats = write_site_stats(
        pages, out_dir, static_dirs=static_dirs, keys=keys, reuse=unchanged
    )
    return _result(written_dir, pages, unchanged, stats, context.offsite_links)


def _result(
    out_dir: Path,
    pages: dict[str, str],
    unchanged: set[str],
    stats: WriteStats,
    offsite_links: int = 0,
) -> BuildResult:
    return BuildResult(
        out_dir=out_dir,
        pages=tuple(sorted(set(pages) | unchanged)),
        rendered=len(pages),
        written=stats.written,
        kept=stats.kept,
        offsite_links=offsite_links,
    )


def build_site(
    catalog: Any, store: StoreReader, out_dir: str | Path, now: datetime | None = None
) -> BuildResult:
    """Render the whole site into ``out_dir`` (swapped in atomically, unchanged files kept).

    Uses the products ``backrank score`` saved; a crawled store that was never scored raises
    ``NotScored`` (the app's build step runs the real scoring first).
    """
    context = context_from_store(
        catalog, store, now or datetime.now(UTC), reuse_for(catalog, out_dir)
    )
    return write_context(context, out_dir)
