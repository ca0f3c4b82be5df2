"""Catalog text and the catalog writer the tests share, so each test names only what it varies."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

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


def mount_tmpfs(folder: Path, size: str = "1m") -> None:
    """Mount a real tmpfs of `size` on `folder`; skip the test where this process may not."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0777", "tmpfs", str(folder)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()})")


def fill_disk(folder: Path) -> None:
    """Write until the file system is full."""
    with open(folder / "filler", "wb") as filler:
        try:
            while True:
                filler.write(b"\0" * 65536)
                filler.flush()
        except OSError:
            pass


def leave_free(folder: Path, kib: int) -> None:
    """Fill the file system but for about `kib` KiB, so the crawl runs out early."""
    fill_disk(folder)
    filler = folder / "filler"
    filler.write_bytes(b"\0" * max(filler.stat().st_size - kib * 1024, 0))
