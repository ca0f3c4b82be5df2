"""Incremental matching: unchanged listings keep last run's product, the rest are matched again."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

import pandas as pd

from pipelines.matching import MatchConfig, MatchOverrides, match_listings
from pipelines.reuse import row_hashes, stored_matches
from pipelines.scoring_config import ScoringSettings

# Listing fields matching reads (price and page ratings move every crawl without changing
# which product a listing is, so they do not make a listing "changed" for matching).
MATCH_FIELDS = (
    "store", "url", "canonical_url", "title", "brand", "gtin", "mpn", "sku", "asin", "category",
)  # fmt: skip

# Above this share of listings new or changed, incremental matching gives way to a full match.
REMATCH_SHARE_MAX = 0.3


@dataclass(frozen=True)
class MatchedListings:
    """What ``match_products`` returns."""

    groups: pd.DataFrame  # listing_id, product_id: a group id (its smallest listing id) each
    digests: pd.Series  # per listing id (text): its match digest, kept for the next run
    listings_matched: int  # listings compared now (all of them on a full match)


def match_products(
    offers: pd.DataFrame,
    settings: ScoringSettings,
    overrides: MatchOverrides | None,
    previous_inputs: pd.DataFrame | None,
) -> MatchedListings:
    """Group ``offers`` into products: incrementally when an earlier run's product inputs
    are given and little changed since, else by matching every listing."""
    config = settings.matching
    digests = match_digests(offers, f"{settings.fingerprint}/{_overrides_digest(overrides)}")
    previous = stored_matches(previous_inputs)
    reused = None
    if len(previous) and len(offers):
        reused = incremental_match(offers, previous, digests, config=config, overrides=overrides)
    if reused is None:
        groups = match_listings(offers, config=config, overrides=overrides)
        return MatchedListings(groups, digests, len(offers))
    groups, matched_count = reused
    return MatchedListings(groups, digests, matched_count)


def match_digests(offers: pd.DataFrame, salt: str) -> pd.Series:
    """Per listing (as text id): a digest of the fields matching reads and ``salt`` (the
    settings and owner overrides), so an unchanged listing can keep its product."""
    columns = [c for c in MATCH_FIELDS if c in offers.columns]
    hashes = row_hashes(offers[columns])
    return pd.Series(
        [f"{salt}:{h:x}" for h in hashes],
        index=offers["listing_id"].astype(str).to_numpy(),
        dtype=object,
    )


def _neighbour_keys(offers: pd.DataFrame) -> pd.DataFrame:
    """``position, key``: identifiers, brand and title first words, and model-code-like
    tokens of each listing; listings sharing none of them are never matched together."""

    def words(value: object) -> list[str]:
        return (
            "".join(c if c.isalnum() else " " for c in value.casefold()).split()
            if isinstance(value, str)
            else []
        )

    rows: list[tuple[int, str]] = []
    for position, (title, brand, gtin, asin, mpn, sku) in enumerate(
        zip(*(offers[c].to_numpy(dtype=object) for c in
              ("title", "brand", "gtin", "asin", "mpn", "sku")), strict=True)
    ):  # fmt: skip
        title_words, brand_words = words(title), words(brand)
        keys = {f"w:{ws[0]}" for ws in (title_words, brand_words) if ws}
        keys |= {f"c:{w}" for w in title_words if len(w) >= 3 and not w.isalpha()}
        for kind, value in (("g", gtin), ("a", asin), ("m", mpn), ("m", sku)):
            text = "".join(words(value)).lstrip("0")
            if text:
                keys.add(f"{kind}:{text}")
        rows.extend((position, key) for key in keys)
    return pd.DataFrame(rows, columns=["position", "key"])


def incremental_match(
    offers: pd.DataFrame,
    previous: pd.DataFrame,
    digests: pd.Series,
    *,
    config: MatchConfig,
    overrides: MatchOverrides | None,
) -> tuple[pd.DataFrame, int] | None:
    """``(listing_id, product_id frame, listings matched)``: a group id per listing, reusing
    ``previous`` groups for unchanged listings; None when too much changed for that to pay
    (the caller matches in full).

    Listings that are new or changed, and every listing of a product that lost or changed
    one, are matched again together with the products sharing a block key with them (those
    stay whole, as owner-kept groups), so a new listing can join an existing product.
    """
    listing_keys = offers["listing_id"].astype(str).to_numpy()
    before = previous.drop_duplicates("listing").set_index("listing")
    old_group = pd.Series(listing_keys).map(before["group"]).to_numpy(dtype=object)
    same = (
        pd.Series(listing_keys).map(before["digest"]).to_numpy(dtype=object) == digests.to_numpy()
    )
    if not same.any():
        return None
    kept_keys = set(listing_keys[same])
    touched = set(previous.loc[~previous["listing"].isin(kept_keys), "group"])
    rematch = ~same | pd.Series(old_group).isin(touched).to_numpy()
    if rematch.mean() > REMATCH_SHARE_MAX:
        return None
    groups = pd.Series(old_group, index=offers.index, dtype=object)
    matched_count = 0
    if rematch.any():
        keys = _neighbour_keys(offers)
        wanted = set(keys.loc[rematch[keys["position"].to_numpy()], "key"])
        near = keys.loc[keys["key"].isin(wanted), "position"].unique()
        neighbour_groups = set(groups.iloc[near][~rematch[near]])
        whole = (~rematch) & groups.isin(neighbour_groups).to_numpy()
        subset = offers[rematch | whole]
        kept_together = pd.Series(listing_keys[whole]).groupby(groups[whole].to_numpy()).agg(tuple)
        owner = overrides or MatchOverrides()
        # the owner's answers and refitted weights stay; listings kept together join them
        extended = replace(owner, same=owner.same + tuple(g for g in kept_together if len(g) > 1))
        matched = match_listings(subset, config=config, overrides=extended)
        matched_count = len(subset)
        groups[subset.index] = "m\x1f" + matched["product_id"].astype(str).to_numpy()
    # a group is named by its smallest listing id, as match_listings names its products
    frame = pd.DataFrame({"listing_id": offers["listing_id"].to_numpy(), "group": groups})
    first = frame.groupby("group")["listing_id"].transform("min")
    membership = pd.DataFrame({"listing_id": frame["listing_id"], "product_id": first.to_numpy()})
    return membership, matched_count


def listing_digests_by_product(
    membership: pd.DataFrame, digests: pd.Series
) -> dict[str, dict[str, str]]:
    """Per product id: ``{listing id: match digest}`` of its listings, kept for the next run."""
    by_product: dict[str, dict[str, str]] = {}
    listings = membership["listing_id"].astype(str).to_numpy()
    for pid, listing, digest in zip(
        membership["product_id"].astype(str), listings, digests.reindex(listings), strict=True
    ):
        by_product.setdefault(pid, {})[listing] = digest
    return by_product


def _overrides_digest(overrides: MatchOverrides | None) -> str:
    text = repr(overrides or MatchOverrides())
    return hashlib.sha1(text.encode()).hexdigest()[:12]
