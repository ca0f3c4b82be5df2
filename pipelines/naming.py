"""Naming products: stable product ids from identifiers, display names from listing titles."""

from __future__ import annotations

import pandas as pd

from pipelines.grouping import identifier_keys, listing_fallback_id


def product_ids(offers: pd.DataFrame, groups: pd.DataFrame) -> pd.DataFrame:
    """``listing_id, product_id`` with matched groups named by ``stable_product_ids``,
    sorted by product then listing."""
    membership = stable_product_ids(offers, groups) if len(offers) else groups
    return membership.sort_values(["product_id", "listing_id"], ignore_index=True)


def stable_product_ids(offers: pd.DataFrame, membership: pd.DataFrame) -> pd.DataFrame:
    """``listing_id, product_id`` with each matched group named by its best identifier.

    The id is the group's GTIN, else ASIN, else brand+MPN key (``gtin-...``), else
    ``listing-<store>-<url hash>`` of its first listing, so ids (and the site's URLs) stay
    the same across refreshes. A name two groups would share goes to the group holding the
    smaller listing id; the other gets its first listing id appended.
    """
    listings = offers.drop_duplicates("listing_id").set_index("listing_id")
    group = membership.set_index("listing_id")["product_id"]
    keys = identifier_keys(listings.reset_index()[["listing_id", "gtin", "asin", "brand", "mpn"]])
    priority = {"gtin": 0, "asin": 1, "mpn": 2}
    keyed = keys.assign(
        group=keys["listing_id"].map(group), priority=keys["kind"].map(priority)
    ).sort_values(["group", "priority", "key"])
    best_key = keyed.drop_duplicates("group").set_index("group")["key"]
    groups = pd.DataFrame({"group": membership["product_id"].unique()})
    first_listing = membership.groupby("product_id")["listing_id"].min()
    url = listings["canonical_url"].where(listings["canonical_url"].notna(), listings["url"])
    names = []
    for group_id in groups["group"]:
        if group_id in best_key.index:
            names.append(best_key[group_id])
        else:
            first = first_listing[group_id]
            names.append(listing_fallback_id(listings.at[first, "store"], url[first]))
    groups = groups.assign(name=names, first=groups["group"].map(first_listing))
    groups = groups.sort_values("first", kind="mergesort")
    taken = groups["name"].duplicated(keep="first")
    groups["name"] = groups["name"].where(
        ~taken, groups["name"] + "-" + groups["first"].astype(str)
    )
    return pd.DataFrame(
        {
            "listing_id": membership["listing_id"].to_numpy(),
            "product_id": membership["product_id"]
            .map(groups.set_index("group")["name"])
            .astype(str)
            .to_numpy(),
        }
    )


def _clean(text: pd.Series) -> pd.Series:
    """Text with runs of whitespace collapsed; empty becomes None."""
    cleaned = [" ".join(value.split()) if isinstance(value, str) else "" for value in text]
    return pd.Series(cleaned, index=text.index, dtype=object).replace("", None)


def _most_common(listings: pd.DataFrame, column: str) -> pd.Series:
    """Per product, the most common clean value of ``column`` (ties: shortest, alphabetical)."""
    values = listings[["product_id"]].assign(value=_clean(listings[column])).dropna()
    if values.empty:
        return pd.Series(dtype=object)
    counts = values.groupby(["product_id", "value"]).size().rename("n").reset_index()
    counts = counts.assign(length=counts["value"].str.len()).sort_values(
        ["product_id", "n", "length", "value"], ascending=[True, False, True, True]
    )
    return counts.drop_duplicates("product_id").set_index("product_id")["value"]


def _display_name(title: str | None, brand: str | None, product_id: str) -> str:
    """The title, prefixed by the brand when the title does not name it."""
    if title is None:
        return brand or product_id
    if brand and brand.casefold() not in title.casefold():
        return f"{brand} {title}"
    return title


def product_names(listings: pd.DataFrame) -> pd.DataFrame:
    """Per product: ``name`` (its most common title, brand-prefixed when the title lacks it),
    ``brand``, ``listings`` count and ``category_text`` (all titles and breadcrumbs)."""
    products = pd.DataFrame({"product_id": sorted(listings["product_id"].unique())})
    titles = products["product_id"].map(_most_common(listings, "title")).astype(object)
    brands = products["product_id"].map(_most_common(listings, "brand")).astype(object)
    names = [
        _display_name(
            title if isinstance(title, str) else None,
            brand if isinstance(brand, str) else None,
            pid,
        )
        for title, brand, pid in zip(titles, brands, products["product_id"], strict=True)
    ]
    text = (
        listings.assign(
            _text=listings["title"].fillna("").astype(str)
            + " | "
            + listings["category"].fillna("").astype(str)
        )
        .groupby("product_id")["_text"]
        .agg(" | ".join)
    )
    return products.assign(
        name=pd.Series(names, index=products.index, dtype=object),
        brand=brands.where(brands.notna(), None),
        listings=products["product_id"].map(listings.groupby("product_id").size()).astype("int64"),
        category_text=products["product_id"].map(text),
    )
