"""Group listings that share an identifier (GTIN, ASIN, brand+MPN) into products."""

from __future__ import annotations

import hashlib
import re
import unicodedata

import numpy as np
import pandas as pd

from backrank.core.identifiers import canonical_asin, canonical_gtin, canonical_mpn

# Identifier kinds in the order that names a product: the first kind a product has gives its id.
KEY_PRIORITY = ("gtin", "asin", "mpn")

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def _fold(value: object) -> str:
    """Case, accent, space and punctuation-insensitive form of a brand."""
    if value is None or pd.isna(value):
        return ""
    ascii_text = unicodedata.normalize("NFKD", str(value)).encode("ascii", "ignore").decode()
    return _NON_ALNUM.sub("", ascii_text.casefold())


def brand_mpn_key(brand: object, mpn: object) -> str | None:
    """``brand-mpn`` folded (case/space/dash-insensitive), or None when either part is missing."""
    brand_key, mpn_key = _fold(brand), canonical_mpn(mpn)
    if not brand_key or mpn_key is None:
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
    gtin = offers["gtin"].map(canonical_gtin)
    asin = offers["asin"].map(canonical_asin)
    mpn = pd.Series(
        [brand_mpn_key(b, m) for b, m in zip(offers["brand"], offers["mpn"], strict=True)],
        index=offers.index,
        dtype=object,
    )
    parts = [
        pd.DataFrame({"listing_id": offers["listing_id"], "kind": kind, "value": values})
        for kind, values in (("gtin", gtin), ("asin", asin), ("mpn", mpn))
    ]
    keys = pd.concat(parts, ignore_index=True).dropna(subset=["value"])
    # product ids are lower case: ``asin-b001fk81pu``, ``mpn-acme-tr893b``
    keys["key"] = (keys["kind"] + "-" + keys["value"].astype(str)).str.lower()
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
