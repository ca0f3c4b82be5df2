"""Result reuse between scoring runs: product fingerprints, what changed, what is kept.

A product's per-product results (trust, specs, pros and cons) depend only on its own listings
and reviews and the settings; when none of them changed since the last run, the stored
results are kept instead of computed again.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

# What each product keeps between runs: computed from its own listings and reviews only.
PER_PRODUCT_RESULTS = (
    "specs", "trust_grade", "kept_share", "tests_failed", "tests_warned", "mean_suspicion",
    "trusted_reviews", "trusted_mean", "report_card", "store_ratings", "pros", "cons",
)  # fmt: skip

# Listing fields a product's fingerprint covers (fetched_at and run ids change every crawl).
FINGERPRINT_FIELDS = (
    "listing_id", "store", "url", "canonical_url", "title", "brand", "price", "currency",
    "availability", "rating", "review_count", "gtin", "mpn", "sku", "asin", "category",
    "description",
)  # fmt: skip

# Key in each product's stored results: {listing_id: match digest} of the listings it holds.
MATCHES_KEY = "listing_matches"


def row_hashes(frame: pd.DataFrame) -> np.ndarray:
    """A 64-bit hash per row of ``frame``'s values as text (None and NaN hash alike)."""
    text = frame.astype(object).where(frame.notna(), "\x00").astype(str)
    return pd.util.hash_pandas_object(text, index=False).to_numpy(dtype="uint64")


def _summed_hash(hashes: np.ndarray, groups: pd.Series) -> pd.Series:
    """Order-free 64-bit digest per group: the two 32-bit halves summed separately."""
    frame = pd.DataFrame(
        {
            "hi": (hashes >> np.uint64(32)).astype("int64"),
            "lo": (hashes & np.uint64(0xFFFFFFFF)).astype("int64"),
            "group": groups.to_numpy(),
        }
    )
    sums = frame.groupby("group")[["hi", "lo"]].sum()
    count = frame.groupby("group").size()
    digests = [
        f"{hi:x}.{lo:x}.{n}"
        for hi, lo, n in zip(sums["hi"], sums["lo"], count.reindex(sums.index), strict=True)
    ]
    return pd.Series(digests, index=sums.index, dtype=object)


def product_fingerprints(
    listings: pd.DataFrame, reviews: pd.DataFrame, settings_fingerprint: str
) -> pd.Series:
    """Per product id: a digest of its listings' latest offer rows, its reviews' content and
    ids, and the settings its per-product results depend on."""
    columns = [c for c in FINGERPRINT_FIELDS if c in listings.columns]
    listing_part = _summed_hash(row_hashes(listings[columns]), listings["product_id"])
    review_columns = [c for c in ("store", "review_id", "content_hash") if c in reviews.columns]
    if "content_hash" not in reviews.columns:
        review_columns += [c for c in ("author", "rating", "title", "body", "date")]
    review_part = _summed_hash(row_hashes(reviews[review_columns]), reviews["product_id"])
    reviewed = review_part.to_dict()
    review_part = pd.Series(
        [reviewed.get(pid, "-") for pid in listing_part.index], index=listing_part.index
    )
    return settings_fingerprint + ":" + listing_part + ":" + review_part


def changed_products(fingerprints: pd.Series, previous_inputs: pd.DataFrame | None) -> pd.Index:
    """Product ids whose fingerprint is new or differs from the stored one."""
    if previous_inputs is None or previous_inputs.empty:
        return fingerprints.index
    stored = previous_inputs.set_index("product_id")["fingerprint"]
    same = fingerprints.index.to_series().map(stored).eq(fingerprints)
    return fingerprints.index[~same.to_numpy(dtype=bool)]


def stored_matches(previous_inputs: pd.DataFrame | None) -> pd.DataFrame:
    """``listing, group, digest`` from an earlier run's product inputs (empty without them)."""
    rows: list[tuple[str, str, str]] = []
    if previous_inputs is not None:
        for product_id, results in zip(
            previous_inputs["product_id"], previous_inputs["results"], strict=True
        ):
            matches = results.get(MATCHES_KEY) if isinstance(results, dict) else None
            for listing, digest in (matches or {}).items():
                rows.append((str(listing), str(product_id), str(digest)))
    return pd.DataFrame(rows, columns=["listing", "group", "digest"], dtype=object)


def _plain(value: Any) -> Any:
    """A cell as a JSON-ready value: numpy scalars unwrapped, NaN/NA as None."""
    if value is None or value is pd.NA:
        return None
    if hasattr(value, "item") and not isinstance(value, list | dict):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def results_records(results: pd.DataFrame) -> list[dict[str, Any]]:
    """Per-product results as the plain JSON values the store keeps between runs, so a
    fresh result and a stored one look exactly alike."""
    records = [
        {column: _plain(record[column]) for column in PER_PRODUCT_RESULTS}
        for record in results.to_dict("records")
    ]
    return json.loads(json.dumps(records, default=_json_value))


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"cannot keep {type(value).__name__} between runs: {value!r}")


def stored_results(previous_inputs: pd.DataFrame, products: pd.Index) -> pd.DataFrame:
    """``product_id, results`` of ``products`` from an earlier run's product_inputs."""
    kept = previous_inputs[previous_inputs["product_id"].isin(set(products))]
    return kept[["product_id", "results"]].reset_index(drop=True)


def kept_results(
    fresh: pd.DataFrame, previous_inputs: pd.DataFrame | None, unchanged: pd.Index
) -> pd.DataFrame:
    """``product_id, results``: the fresh results as plain records, then the stored ones of
    the ``unchanged`` products (a fresh result and a stored one look exactly alike)."""
    parts = [
        pd.DataFrame(
            {"product_id": fresh["product_id"].to_numpy(), "results": results_records(fresh)}
        )
    ]
    if len(unchanged):
        if previous_inputs is None:
            raise ValueError("unchanged products need the previous run's product inputs")
        parts.append(stored_results(previous_inputs, unchanged))
    return pd.concat([p for p in parts if len(p)], ignore_index=True)


def results_frame(kept: pd.DataFrame) -> pd.DataFrame:
    """``product_id`` and one object column per PER_PRODUCT_RESULTS name, from kept results."""
    return pd.DataFrame(
        {
            "product_id": kept["product_id"],
            **{
                column: pd.Series([r.get(column) for r in kept["results"]], dtype=object)
                for column in PER_PRODUCT_RESULTS
            },
        }
    )


def product_inputs(
    kept: pd.DataFrame, fingerprints: pd.Series, listing_matches: dict[str, dict[str, str]]
) -> pd.DataFrame:
    """``product_id, fingerprint, results`` for the store, each product's results with the
    match digests of its listings (MATCHES_KEY), so the next run can reuse both."""
    return kept.assign(
        fingerprint=kept["product_id"].map(fingerprints),
        results=[
            {**results, MATCHES_KEY: listing_matches.get(pid, {})}
            for pid, results in zip(kept["product_id"], kept["results"], strict=True)
        ],
    )[["product_id", "fingerprint", "results"]].sort_values("product_id", ignore_index=True)
