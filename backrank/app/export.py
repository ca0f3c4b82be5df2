"""Export the store's offers, reviews or products as CSV or JSON lines.

CSV is opened in spreadsheets, so a text cell a store or a reviewer wrote that starts like a
formula (``=``, ``+``, ``-``, ``@``, tab, carriage return) gets a leading ``'``, as OWASP's
CSV-injection advice says: it shows as text instead of running. Numbers are never text, so a
negative number stays a number. JSON lines are for programs and stay exactly as stored.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import IO

import pandas as pd

from backrank.core.frames import OFFERS, PRODUCTS, REVIEW_SCORES, REVIEWS
from backrank.core.store import Store

# What each export leads with (any further columns of the frame follow), picked from the
# frames' declared columns (backrank.core.frames).
LEADING_COLUMNS: dict[str, tuple[str, ...]] = {
    "offers": OFFERS.columns,
    "reviews": (
        *REVIEWS.pick(
            "store", "url", "review_id", "author", "rating", "title", "body", "date",
            "verified", "helpful_votes",
        ),
        *REVIEW_SCORES.pick("suspicion", "flags"),
    ),
    "products": PRODUCTS.pick(
        "product_id", "name", "brand", "subcategory", "listings", "best_price", "best_store",
        "adjusted_rating", "trust_grade", "composite_score", "badges",
    ),
}  # fmt: skip
# The first characters that make a spreadsheet read a cell as a formula (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def read_table(store: Store, table: str) -> pd.DataFrame:
    """The frame behind one export: leading columns fixed, any further ones after them."""
    if table == "offers":
        frame = store.read_offers(latest=True)
    elif table == "reviews":
        frame = reviews_with_scores(store)
    elif table == "products":
        frame = store.read_products()
    else:
        raise ValueError(f"unknown table {table!r}")
    leading = list(LEADING_COLUMNS[table])
    for column in leading:
        if column not in frame.columns:
            frame[column] = None
    trailing = [c for c in frame.columns if c not in leading]
    return frame[leading + trailing]


def reviews_with_scores(store: Store) -> pd.DataFrame:
    """Stored reviews with the suspicion and flags the last scoring gave them (None before)."""
    reviews = store.read_reviews()
    scores = store.read_review_scores()[["store", "review_id", "suspicion", "flags"]]
    return reviews.merge(scores, on=["store", "review_id"], how="left")


def export_table(db_path: Path | str, table: str, fmt: str, output: str | None) -> int:
    """Write one table to `output` (or stdout); returns the number of rows written."""
    with Store.open(db_path) as store:
        frame = read_table(store, table)
    if output:
        with open(output, "w", encoding="utf-8", newline="") as stream:
            write_frame(frame, fmt, stream)
    else:
        write_frame(frame, fmt, sys.stdout)
    return len(frame)


def write_frame(frame: pd.DataFrame, fmt: str, stream: IO[str]) -> None:
    """CSV (lists and dicts as JSON text, money exact) or one JSON object per line."""
    if fmt == "csv":
        nested = [c for c in frame.columns if frame[c].map(_is_nested).any()]
        cells = frame.assign(**{c: frame[c].map(json_text) for c in nested})
        text = [c for c in cells.columns if not pd.api.types.is_numeric_dtype(cells[c])]
        # CRLF rows, as RFC 4180 and Excel: a cell holding a bare carriage return is quoted
        # then, so it cannot end the row early.
        cells.assign(**{c: cells[c].map(spreadsheet_text) for c in text}).to_csv(
            stream, index=False, lineterminator="\r\n"
        )
        return
    for record in frame.to_dict(orient="records"):
        line = {k: plain_value(v) for k, v in record.items()}
        stream.write(json.dumps(line, ensure_ascii=False, default=plain_value))
        stream.write("\n")


def spreadsheet_text(value: object) -> object:
    """A text cell that would start a formula, with a leading ``'``; anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _is_nested(value: object) -> bool:
    return isinstance(value, list | dict | tuple)


def json_text(value: object) -> object:
    """A list or dict as compact JSON (Decimal as a string); other cells unchanged."""
    if not _is_nested(value):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=plain_value)


def plain_value(value: object) -> object:
    """JSON-safe value: Decimal as a string (money stays exact), NaN/NA as null."""
    if isinstance(value, Decimal):
        return str(value)
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(value, "item"):
        return value.item()
    return value
