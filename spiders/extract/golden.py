"""Golden pages: read a manifest of saved pages and judge extracted values against it."""

from __future__ import annotations

import gzip
import json
import math
import os
from decimal import Decimal
from pathlib import Path

from spiders.currency import symbol_means
from spiders.items import Listing
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


def zyte_dir() -> Path:
    """The zyte benchmark pages beside the others (``<realpages>/zyte``), read in place."""
    return realpages_dir() / "zyte"


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


# The zyte set's attributes, judged as the product-extraction-benchmark's evaluate.py judges
# them: one value predicted per page, any of the truth's values is right.
BENCHMARK_ATTRIBUTES = ("price", "currency_symbol", "availability", "sku", "brand", "mpn", "gtin")


def truth_values(expected: dict, attribute: str) -> list[str]:
    """The values that count as right for an attribute: none when the page has none (the key
    is absent or null), the `any_of` list, else the one value."""
    value = expected.get(attribute)
    if value is None:
        return []
    if isinstance(value, dict):
        return list(value["any_of"])
    return [value]


def predicted(listing: Listing, attribute: str) -> object:
    """The normalised listing's answer for a benchmark attribute; None when it has none.

    sku is the ASIN (Amazon's own stock-keeping id, the benchmark's sku there), else the
    store's sku, else the MPN;
    availability is only in_stock / out_of_stock ("unknown" is no answer).
    """
    if attribute == "price":
        return listing.price
    if attribute == "currency_symbol":
        return listing.currency
    if attribute == "availability":
        return listing.availability if listing.availability != "unknown" else None
    if attribute == "sku":
        return listing.asin or listing.sku or listing.mpn
    return getattr(listing, attribute)


def benchmark_counts(attribute: str, truth: list[str], prediction: object) -> tuple[int, int, int]:
    """(true positive, false positive, false negative) of one page: a value that is not the
    truth's (or where the truth has none) is a false positive, and a wrong or missing one where
    the truth has a value a false negative."""
    if prediction is None:
        return (0, 0, 1 if truth else 0)
    if attribute == "price":
        right = any(Decimal(str(prediction)) == Decimal(value.strip()) for value in truth)
    elif attribute == "currency_symbol":
        right = any(symbol_means(value, str(prediction)) for value in truth)
    else:
        right = str(prediction) in truth
    return (1, 0, 0) if right else (0, 1, 1 if truth else 0)


def f1_score(counts: list[tuple[int, int, int]]) -> dict[str, float]:
    """Precision, recall and F1 over pages' counts, as the benchmark computes them."""
    tp, fp, fn = (sum(column) for column in zip(*counts, strict=True)) if counts else (0, 0, 0)
    if fp == fn == 0:
        precision = recall = 1.0
    else:
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn}
