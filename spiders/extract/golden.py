"""Golden pages: read a manifest of saved pages and judge extracted values against it."""

from __future__ import annotations

import gzip
import json
import math
import os
from decimal import Decimal
from pathlib import Path

from spiders.normalise import clean_text

# manifest key -> attribute of the normalised Listing / Review it is compared with
LISTING_FIELDS = {
    "name": "title",
    "price": "price",
    "currency": "currency",
    "availability": "availability",
    "brand": "brand",
    "rating": "rating",
    "review_count": "review_count",
    "sku": "sku",
    "gtin": "gtin",
    "mpn": "mpn",
    "asin": "asin",
}
REVIEW_FIELDS = {
    "id": "review_id",
    "author": "author",
    "rating": "rating",
    "title": "title",
    "date": "date",
    "verified": "verified",
}
_REPO = Path(__file__).resolve().parents[2]


def realpages_dir() -> Path:
    """BACKRANK_REALPAGES, else ``<repo>/../shared/realpages`` (third-party pages, read in place)."""
    return Path(os.environ.get("BACKRANK_REALPAGES") or _REPO.parent / "shared" / "realpages")


def read_manifest(root: Path) -> list[dict]:
    """The manifest's entries, or none when the folder is absent."""
    manifest = root / "manifest.json"
    return json.loads(manifest.read_text()) if manifest.exists() else []


def read_page(root: Path, entry: dict) -> bytes:
    """A page's original bytes (stored gzipped when its name ends in .gz)."""
    raw = (root / entry["file"]).read_bytes()
    return gzip.decompress(raw) if entry["file"].endswith(".gz") else raw


def page_url(entry: dict) -> str:
    # Pages saved without their URL still need a base for relative links.
    return entry["url"] or "https://store.example/"


def matches(expected: object, actual: object) -> bool:
    """An extracted value equals the manifest's: None only for None, ratings within 0.005,
    prices as Decimal, text after whitespace normalisation, everything else exactly."""
    if expected is None:
        return actual is None
    if isinstance(expected, float):
        return isinstance(actual, (int, float)) and math.isclose(actual, expected, abs_tol=0.005)
    if isinstance(actual, Decimal):
        return actual == Decimal(str(expected))
    if isinstance(expected, str):
        return actual is not None and clean_text(actual) == clean_text(expected)
    return actual == expected
