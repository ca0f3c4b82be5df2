"""Group listings that share an identifier (GTIN, ASIN, brand+MPN) into products."""

from __future__ import annotations

import hashlib
import re
import unicodedata

import numpy as np
import pandas as pd

# Identifier kinds in the order that names a product: the first kind a product has gives its id.
KEY_PRIORITY = ("gtin", "asin", "mpn")

# Placeholder MPNs seen on real pages; they would glue unrelated products together.
_JUNK_MPNS = frozenset({"na", "n/a", "none", "null", "unknown", "notapplicable", "doesnotapply"})

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def normalise_gtin(value: object) -> str | None:
    """A GTIN as 13 digits (14 for a real GTIN-14), or None when absent or its check digit fails.

    UPC-A (12), EAN-8 and EAN-13 of the same item compare equal after zero-padding.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    digits = "".join(ch for ch in str(value) if ch.isdigit())
    if len(digits) not in (8, 12, 13, 14) or not digits.strip("0"):
        return None
    gtin14 = digits.zfill(14)
    body = [int(ch) for ch in gtin14[:13]]
    # Weights 3,1,3,... from the left of the 14-digit form (the digit before the check digit is x3).
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(body))
    if (10 - total % 10) % 10 != int(gtin14[13]):
        return None
    return gtin14[1:] if gtin14[0] == "0" else gtin14


def normalise_asin(value: object) -> str | None:
    """An ASIN lowercased (10 letters/digits), or None."""
    if value is None or pd.isna(value):
        return None
    asin = re.sub(r"\s+", "", str(value)).lower()
    return asin if re.fullmatch(r"[a-z0-9]{10}", asin) else None


def _fold(value: object) -> str:
    """Case, accent, space and punctuation-insensitive form of a short identifier."""
    if value is None or pd.isna(value):
        return ""
    ascii_text = unicodedata.normalize("NFKD", str(value)).encode("ascii", "ignore").decode()
    return _NON_ALNUM.sub("", ascii_text.casefold())


def normalise_brand_mpn(brand: object, mpn: object) -> str | None:
    """``brand-mpn`` folded (case/space/dash-insensitive), or None when either part is missing."""
    brand_key, mpn_key = _fold(brand), _fold(mpn)
    if not brand_key or not mpn_key or mpn_key in _JUNK_MPNS:
        return None
    return f"{brand_key}-{mpn_key}"


def listing_fallback_id(store: object, url: object) -> str:
    """Id of a listing with no usable identifier: its store and a hash of its URL."""
    store_key = _NON_ALNUM.sub("-", str(store or "").casefold()).strip("-") or "store"
    digest = hashlib.sha1(str(url or "").encode("utf-8")).hexdigest()[:12]
    return f"listing-{store_key}-{digest}"


def identifier_keys(offers: pd.DataFrame) -> pd.DataFrame:
    """One row per (listing_id, key) for each usable identifier, e.g. ``gtin-0012345678905``."""
    columns = ["listing_id", "kind", "key"]
    if offers.empty:
        return pd.DataFrame(columns=columns)
    gtin = offers["gtin"].map(normalise_gtin)
    asin = offers["asin"].map(normalise_asin)
    mpn = pd.Series(
        [normalise_brand_mpn(b, m) for b, m in zip(offers["brand"], offers["mpn"], strict=True)],
        index=offers.index,
        dtype=object,
    )
    parts = [
        pd.DataFrame({"listing_id": offers["listing_id"], "kind": kind, "value": values})
        for kind, values in (("gtin", gtin), ("asin", asin), ("mpn", mpn))
    ]
    keys = pd.concat(parts, ignore_index=True).dropna(subset=["value"])
    keys["key"] = keys["kind"] + "-" + keys["value"].astype(str)
    return keys[columns].drop_duplicates().reset_index(drop=True)


def _components(n_nodes: int, edges_a: np.ndarray, edges_b: np.ndarray) -> np.ndarray:
    """Connected-component root per node (union-find with path halving)."""
    parent = list(range(n_nodes))

    def find(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for a, b in zip(edges_a.tolist(), edges_b.tolist(), strict=True):
        root_a, root_b = find(a), find(b)
        if root_a != root_b:
            parent[max(root_a, root_b)] = min(root_a, root_b)
    return np.fromiter((find(node) for node in range(n_nodes)), dtype=np.int64, count=n_nodes)


def group_listings(offers: pd.DataFrame) -> pd.DataFrame:
    """``listing_id, product_id``: listings linked by any shared identifier, transitively.

    The product id is the component's best identifier key (a GTIN before an ASIN before a
    brand+MPN, the smallest within a kind), so it stays the same across refreshes while that
    identifier is seen; a listing with no identifier gets ``listing-<store>-<url hash>``.
    """
    if offers.empty:
        return pd.DataFrame(
            {"listing_id": pd.Series(dtype=object), "product_id": pd.Series(dtype=str)}
        )
    listings = offers.drop_duplicates("listing_id")[
        ["listing_id", "store", "url", "canonical_url", "gtin", "asin", "brand", "mpn"]
    ].reset_index(drop=True)
    keys = identifier_keys(listings)

    # Nodes: listings 0..n-1, then one node per distinct key; an edge joins a listing to its key.
    n_listings = len(listings)
    listing_node = pd.Series(np.arange(n_listings), index=listings["listing_id"])
    key_codes, key_uniques = pd.factorize(keys["key"])
    roots = _components(
        n_listings + len(key_uniques),
        listing_node.loc[keys["listing_id"]].to_numpy(),
        key_codes + n_listings,
    )[:n_listings]
    listings["component"] = roots

    priority = {kind: rank for rank, kind in enumerate(KEY_PRIORITY)}
    keyed = keys.assign(
        component=roots[listing_node.loc[keys["listing_id"]].to_numpy()],
        priority=keys["kind"].map(priority),
    ).sort_values(["component", "priority", "key"])
    component_id = keyed.drop_duplicates("component").set_index("component")["key"]

    canonical = listings["canonical_url"]
    fallback_url = canonical.where(canonical.notna(), listings["url"])
    fallback = pd.Series(
        [listing_fallback_id(s, u) for s, u in zip(listings["store"], fallback_url, strict=True)],
        index=listings.index,
    )
    product_id = listings["component"].map(component_id).astype(object)
    product_id = product_id.where(product_id.notna(), fallback)
    return pd.DataFrame(
        {"listing_id": listings["listing_id"], "product_id": product_id.astype(str)}
    )
