"""Price history per product and store: observed range, current price and honest good-price calls."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from backrank.core.frames import OFFERS
from backrank.core.money import as_decimal
from backrank.core.settings import PriceRules

# What price history reads of each offer snapshot.
HISTORY_COLUMNS = OFFERS.pick(
    "listing_id", "run_id", "store", "price", "currency", "fetched_at", "availability"
)


def _utc(value: datetime) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)


def priced_snapshots(history: pd.DataFrame, product_listings: pd.DataFrame) -> pd.DataFrame:
    """Offer snapshots joined to their product, with ``fetched`` as UTC time, oldest first.

    Snapshots without a price stay (they may be the latest), ``price`` None; a fetched_at
    without a time zone is taken as UTC.
    """
    missing = [c for c in HISTORY_COLUMNS if c not in history.columns]
    if missing:
        raise ValueError(f"offer history frame is missing columns: {', '.join(missing)}")
    joined = history.merge(product_listings[["product_id", "listing_id"]], on="listing_id")
    fetched = pd.to_datetime(joined["fetched_at"], utc=True, format="ISO8601")
    prices = [p if isinstance(p, Decimal) and p.is_finite() else None for p in joined["price"]]
    return joined.assign(
        fetched=fetched, price=pd.Series(prices, index=joined.index, dtype=object)
    ).sort_values(
        ["product_id", "store", "fetched", "listing_id"], kind="mergesort", ignore_index=True
    )


def _price_keys(prices: pd.Series) -> pd.Series:
    """Exact sortable integers for Decimal prices (scaled by the most decimal places any
    price has: cents for ordinary money), or the Decimals themselves when that overflows."""
    places = max((-p.as_tuple().exponent for p in prices), default=0)
    scale = Decimal(1).scaleb(max(int(places), 0))
    scaled = [int(p * scale) for p in prices]
    if scaled and max(abs(v) for v in scaled) >= 2**62:
        return pd.Series(list(prices), index=prices.index, dtype=object)
    return pd.Series(scaled, index=prices.index, dtype="int64")


def _store_entries(snapshots: pd.DataFrame, now: pd.Timestamp, rules: PriceRules) -> pd.DataFrame:
    """One row per product, store and currency ever priced: ``product_id, currency_key, low``
    (for ordering) and ``entry`` (the summary dict), from snapshots sorted oldest first."""
    keys = ["product_id", "store", "currency_key"]
    latest = snapshots.drop_duplicates(keys, keep="last").set_index(keys)
    priced = snapshots[snapshots["price"].notna()]
    priced = priced.assign(key=_price_keys(priced["price"]), position=range(len(priced)))
    grouped = priced.groupby(keys, sort=True)
    first_at = grouped["fetched"].first()
    last_at = grouped["fetched"].last()
    count = grouped.size()
    # min()/max() of a list keep the first of equal values: so do idxmin/idxmax on the keys.
    low = priced.loc[grouped["key"].idxmin(), "price"].to_numpy()
    high = priced.loc[grouped["key"].idxmax(), "price"].to_numpy()
    # statistics.median: the middle of the stably sorted prices, or the mean of the two middle.
    ordered = priced.sort_values([*keys, "key", "position"], kind="mergesort")
    rank = ordered.groupby(keys, sort=False).cumcount().to_numpy()
    size = ordered.groupby(keys, sort=False)["key"].transform("size").to_numpy()
    upper = ordered[rank == size // 2].set_index(keys)["price"].reindex(count.index)
    lower = ordered[rank == (size - 1) // 2].set_index(keys)["price"].reindex(count.index)
    medians = [
        hi if n % 2 else (lo + hi) / 2
        for lo, hi, n in zip(lower.to_numpy(), upper.to_numpy(), count.to_numpy(), strict=True)
    ]
    last = latest.reindex(count.index)
    history_days = (last_at - first_at).dt.days.to_numpy()
    age_hours = ((now - last["fetched"]).dt.total_seconds() / 3600).to_numpy()
    current = last["price"].to_numpy()
    is_current = (
        last["price"].notna().to_numpy()
        & (last["availability"] != "out_of_stock").to_numpy()
        & (age_hours >= 0)
        & (age_hours <= rules.max_age_hours)
    )
    observed_since = first_at.dt.strftime("%Y-%m-%d").to_numpy()
    current_at = [stamp.isoformat() for stamp in last["fetched"]]
    snapshot_counts = count.to_numpy()
    entries = []
    for i, (_, store, currency_key) in enumerate(count.index):
        now_price = current[i]
        good = bool(
            is_current[i]
            and history_days[i] >= rules.min_history_days
            and now_price <= low[i] * (1 + rules.good_within)
        )
        entries.append(
            {
                "store": str(store),
                "currency": currency_key or None,
                "observed_since": observed_since[i],
                "history_days": int(history_days[i]),
                "snapshots": int(snapshot_counts[i]),
                "low": str(low[i]),
                "high": str(high[i]),
                "median": str(medians[i]),
                "current": None if now_price is None else str(now_price),
                "current_at": current_at[i],
                "is_current": bool(is_current[i]),
                "above_low": None if now_price is None else str(now_price - low[i]),
                "good_price": good,
            }
        )
    return pd.DataFrame(
        {
            "product_id": count.index.get_level_values("product_id"),
            "store": count.index.get_level_values("store").astype(str),
            "currency_key": count.index.get_level_values("currency_key"),
            "low": grouped["key"].min().to_numpy(),
            "entry": entries,
        }
    )


def _chart_points(snapshots: pd.DataFrame) -> pd.Series:
    """Per product: one point per store and day (that day's last priced snapshot), by date
    then store."""
    priced = snapshots[snapshots["price"].notna()]
    days = priced.assign(date=priced["fetched"].dt.strftime("%Y-%m-%d"))
    last = days.drop_duplicates(["product_id", "date", "store", "currency"], keep="last")
    last = last.sort_values(["product_id", "date", "store"], kind="mergesort")
    points = [
        {"date": date, "store": store, "price": str(price), "currency": currency}
        for date, store, price, currency in zip(
            *(last[c].to_numpy() for c in ("date", "store", "price", "currency")), strict=True
        )
    ]
    return _lists_by_product(last["product_id"], points)


def _lists_by_product(product_ids: pd.Series, values: list[Any]) -> pd.Series:
    """``values`` (in the order of ``product_ids``, each product's rows together) as one
    list per product id."""
    ids = product_ids.to_numpy()
    if not len(ids):
        return pd.Series(dtype=object)
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    ends = np.r_[starts[1:], len(ids)]
    return pd.Series(
        [values[a:b] for a, b in zip(starts, ends, strict=True)],
        index=pd.Index(ids[starts], dtype=object),
        dtype=object,
    )


def price_summaries(
    history: pd.DataFrame,
    product_listings: pd.DataFrame,
    *,
    now: datetime,
    rules: PriceRules | None = None,
) -> pd.DataFrame:
    """Per product: ``price_summary`` (a dict per store and currency, cheapest low first) and
    ``price_history`` (chart points {date, store, price, currency}).

    ``history`` is ``store.read_offer_history()``. Money is decimal text; a store never priced
    is left out; ``good_price`` needs a current price within ``good_within`` of the recorded
    low on at least ``min_history_days`` of history, so a short history never claims a low.
    Products without any priced snapshot are absent. Grouped work is vectorised; only the
    output dicts and exact Decimal arithmetic (medians, good-price calls) are per entry.
    """
    rules = rules or PriceRules()
    columns = ["product_id", "price_summary", "price_history"]
    snapshots = priced_snapshots(history, product_listings)
    snapshots = snapshots.assign(
        currency_key=snapshots["currency"].astype(object).where(snapshots["currency"].notna(), "")
    )
    if not snapshots["price"].notna().any():
        return pd.DataFrame({name: pd.Series(dtype=object) for name in columns})
    entries = _store_entries(snapshots, _utc(now), rules).sort_values(
        ["product_id", "currency_key", "low", "store"], kind="mergesort"
    )
    summaries = _lists_by_product(entries["product_id"], list(entries["entry"]))
    points = _chart_points(snapshots)
    return pd.DataFrame(
        {
            "product_id": summaries.index.to_numpy(dtype=object),
            "price_summary": summaries.to_numpy(),
            "price_history": points.reindex(summaries.index).to_numpy(),
        }
    )


def with_decimal_prices(offers: pd.DataFrame) -> pd.DataFrame:
    """Offers whose ``price`` is Decimal or None (object dtype): never NaN, never 0 for unknown."""
    prices = [as_decimal(value) for value in offers["price"]]
    return offers.assign(price=pd.Series(prices, index=offers.index, dtype=object))


def offer_history_of(offers: pd.DataFrame, history: pd.DataFrame | None) -> pd.DataFrame:
    """The offer history to summarise prices from: ``history``, else the latest offers alone."""
    frame = history if history is not None else offers
    if "run_id" not in frame.columns:
        frame = frame.assign(run_id=None)
    return frame.pipe(with_decimal_prices)


def with_price_summaries(
    products: pd.DataFrame,
    offers: pd.DataFrame,
    history: pd.DataFrame | None,
    product_listings: pd.DataFrame,
    *,
    now: datetime,
    rules: PriceRules,
) -> pd.DataFrame:
    """Products with ``price_summary`` and ``price_history`` (empty lists when unpriced),
    from the offer ``history`` (without one: the latest ``offers`` alone)."""
    prices = price_summaries(
        offer_history_of(offers, history), product_listings, now=now, rules=rules
    )
    products = products.merge(prices, on="product_id", how="left")
    for column in ("price_summary", "price_history"):
        products[column] = [v if isinstance(v, list) else [] for v in products[column]]
    return products


__all__ = [
    "HISTORY_COLUMNS",
    "PriceRules",
    "offer_history_of",
    "price_summaries",
    "priced_snapshots",
    "with_decimal_prices",
    "with_price_summaries",
]
