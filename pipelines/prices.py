"""Price history per product and store: observed range, current price and honest good-price calls."""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pandas as pd

HISTORY_COLUMNS = (
    "listing_id",
    "run_id",
    "store",
    "price",
    "currency",
    "fetched_at",
    "availability",
)


@dataclass(frozen=True, kw_only=True)
class PriceRules:
    """When a price counts as current and as a good price; defaults are the methodology page's."""

    # a snapshot older than this (hours before `now`) is not a current price
    max_age_hours: float = 24.0
    # a good price is at most this share above the recorded low ...
    good_within: Decimal = Decimal("0.05")
    # ... on a history spanning at least this many days (short history says nothing)
    min_history_days: int = 35

    @classmethod
    def from_scoring(
        cls, scoring_raw: Mapping[str, Any], max_age_hours: float = 24.0
    ) -> PriceRules:
        """Rules from a ``[scoring.prices]`` table (good_within, min_history_days) and the
        site's ``max_price_age_hours``."""
        table = dict(scoring_raw.get("prices", {}) or {})
        unknown = [key for key in table if key not in ("good_within", "min_history_days")]
        if unknown:
            raise ValueError(f"[scoring.prices] unknown key {unknown[0]!r}")
        rules = cls(
            max_age_hours=float(max_age_hours),
            good_within=Decimal(str(table.get("good_within", cls.good_within))),
            min_history_days=int(table.get("min_history_days", cls.min_history_days)),
        )
        if rules.good_within < 0 or rules.min_history_days < 0 or rules.max_age_hours <= 0:
            raise ValueError(
                "[scoring.prices] good_within and min_history_days must be >= 0,"
                " max_price_age_hours above 0"
            )
        return rules


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


def _store_summary(
    store: str, currency: str | None, snapshots: pd.DataFrame, now: pd.Timestamp, rules: PriceRules
) -> dict[str, Any] | None:
    """One store's entry for a product, from its snapshots oldest first; None when never priced."""
    priced = snapshots[snapshots["price"].notna()]
    if priced.empty:
        return None
    prices: list[Decimal] = list(priced["price"])
    low, high = min(prices), max(prices)
    latest = snapshots.iloc[-1]
    first_at, last_at = priced["fetched"].iloc[0], priced["fetched"].iloc[-1]
    history_days = int((last_at - first_at).days)
    current: Decimal | None = latest["price"]
    age_hours = (now - latest["fetched"]).total_seconds() / 3600
    is_current = (
        current is not None
        and latest["availability"] != "out_of_stock"
        and 0 <= age_hours <= rules.max_age_hours
    )
    good_price = bool(
        is_current
        and history_days >= rules.min_history_days
        and current <= low * (1 + rules.good_within)
    )
    return {
        "store": store,
        "currency": currency,
        "observed_since": first_at.date().isoformat(),
        "history_days": history_days,
        "snapshots": len(prices),
        "low": str(low),
        "high": str(high),
        "median": str(statistics.median(prices)),
        "current": None if current is None else str(current),
        "current_at": latest["fetched"].isoformat(),
        "is_current": bool(is_current),
        "above_low": None if current is None else str(current - low),
        "good_price": good_price,
    }


def _chart_points(snapshots: pd.DataFrame) -> list[dict[str, str]]:
    """One point per store and day (that day's last priced snapshot), by date then store."""
    priced = snapshots[snapshots["price"].notna()]
    days = priced.assign(date=priced["fetched"].dt.strftime("%Y-%m-%d"))
    last = days.drop_duplicates(["date", "store", "currency"], keep="last").sort_values(
        ["date", "store"], kind="mergesort"
    )
    return [
        {"date": date, "store": store, "price": str(price), "currency": currency}
        for date, store, price, currency in zip(
            last["date"], last["store"], last["price"], last["currency"], strict=True
        )
    ]


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
    Products without any priced snapshot are absent.
    """
    rules = rules or PriceRules()
    at = _utc(now)
    snapshots = priced_snapshots(history, product_listings)
    rows = []
    for product_id, product in snapshots.groupby("product_id", sort=True):
        summary = []
        for (store, currency), group in product.groupby(
            [product["store"], product["currency"].fillna("")], sort=True
        ):
            entry = _store_summary(str(store), currency or None, group, at, rules)
            if entry is not None:
                summary.append(entry)
        if summary:
            summary.sort(key=lambda e: (e["currency"] or "", Decimal(e["low"]), e["store"]))
            rows.append(
                {
                    "product_id": product_id,
                    "price_summary": summary,
                    "price_history": _chart_points(product),
                }
            )
    columns = ["product_id", "price_summary", "price_history"]
    if not rows:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in columns})
    return pd.DataFrame(rows, columns=columns)


__all__ = ["HISTORY_COLUMNS", "PriceRules", "price_summaries", "priced_snapshots"]
