"""Catalog text and the catalog writer the tests share, so each test names only what it varies."""

from __future__ import annotations

from pathlib import Path

from backrank.config import Catalog, load_catalog

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
