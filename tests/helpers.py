"""Catalog text and the catalog writer the tests share, so each test names only what it varies."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from backrank.core.config import Catalog, load_catalog

if TYPE_CHECKING:
    from backrank.marketplace import Marketplace

SITE_TOML = '[site]\nname = "Back Pain Picks"\nbase_url = "https://example.com"\n'
# Two everyday categories; a test adds its own before or after them.
CATEGORIES_TOML = """
[[categories]]
name = "Inversion tables"
slug = "inversion-tables"
keywords = ["inversion table"]

[[categories]]
name = "Back stretchers"
slug = "back-stretchers"
keywords = ["back stretcher"]
"""


def write_catalog(folder: Path, text: str, name: str = "catalog.toml") -> Path:
    """Write catalog text where a user keeps it; return its path (for file:line error messages)."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def load_catalog_text(folder: Path, text: str) -> Catalog:
    """Load catalog text the way the CLI does: from a catalog.toml file."""
    return load_catalog(write_catalog(folder, text))


def write_demo_catalog(marketplace: Marketplace, folder: Path, max_review_pages: int) -> Path:
    """The running marketplace's demo catalog with its review pages per listing capped."""
    text = marketplace.demo_catalog_text()
    if "max_review_pages = 50" not in text:
        raise AssertionError("the demo catalog no longer sets max_review_pages = 50")
    return write_catalog(
        folder, text.replace("max_review_pages = 50", f"max_review_pages = {max_review_pages}", 1)
    )


def acked_by_worker(stats: dict) -> dict[str, int]:
    """How many requests each worker of a distributed crawl acknowledged, from the run stats."""
    prefix = "backrank/worker/"
    return {
        key.removeprefix(prefix).removesuffix("/acked"): int(value)
        for key, value in stats.items()
        if key.startswith(prefix) and key.endswith("/acked")
    }
