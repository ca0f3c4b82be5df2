"""Price history: observed range per store, current price freshness, good-price calls."""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backrank.core.settings import scoring_config
from backrank.core.store import Store
from pipelines.prices import PriceRules, price_summaries, priced_snapshots

NOW = datetime(2024, 8, 1, 12, 0, tzinfo=UTC)
LINKS = pd.DataFrame({"product_id": ["x3", "x3", "stretcher"], "listing_id": [1, 2, 3]})


def snapshot(listing_id: int, days_ago: float, price: str | None, **fields: object) -> dict:
    row = {
        "listing_id": listing_id,
        "run_id": 1,
        "store": {1: "shop-a", 2: "shop-b", 3: "shop-a"}[listing_id],
        "price": None if price is None else Decimal(price),
        "currency": "USD",
        "fetched_at": (NOW - timedelta(days=days_ago)).isoformat(),
        "availability": "in_stock",
    }
    row.update(fields)
    return row


def weekly(listing_id: int, prices: list[str | None]) -> list[dict]:
    """One snapshot a week, the last one an hour before NOW."""
    last = len(prices) - 1
    return [snapshot(listing_id, 7 * (last - i) + 1 / 24, p) for i, p in enumerate(prices)]


def summary_of(history: list[dict], rules: PriceRules | None = None) -> dict[str, dict]:
    result = price_summaries(pd.DataFrame(history), LINKS, now=NOW, rules=rules)
    rows = result.set_index("product_id")["price_summary"]
    return {pid: {entry["store"]: entry for entry in entries} for pid, entries in rows.items()}


def test_six_weeks_of_history_and_a_price_near_the_low_is_good() -> None:
    # six weeks spanned, current 104.00 within 5% of the 100.00 low
    entry = summary_of(
        weekly(1, ["129.00", "100.00", "119.00", "125.00", "110.00", "115.00", "104.00"])
    )["x3"]["shop-a"]
    assert entry["history_days"] == 42
    assert entry["observed_since"] == "2024-06-20"
    assert (entry["low"], entry["high"], entry["median"]) == ("100.00", "129.00", "115.00")
    assert entry["current"] == "104.00" and entry["is_current"]
    assert entry["above_low"] == "4.00"
    assert entry["good_price"] is True


def test_four_weeks_of_history_is_never_a_good_price() -> None:
    entry = summary_of(weekly(1, ["129.00", "119.00", "110.00", "105.00", "100.00"]))["x3"][
        "shop-a"
    ]
    assert entry["history_days"] == 28
    assert entry["current"] == entry["low"] == "100.00"  # at the low, yet history is too short
    assert entry["good_price"] is False


def test_more_than_five_percent_above_the_low_is_not_good() -> None:
    entry = summary_of(
        weekly(1, ["100.00", "120.00", "120.00", "120.00", "120.00", "120.00", "105.01"])
    )["x3"]["shop-a"]
    assert entry["good_price"] is False
    at_the_edge = summary_of(
        weekly(1, ["100.00", "120.00", "120.00", "120.00", "120.00", "120.00", "105.00"])
    )
    assert at_the_edge["x3"]["shop-a"]["good_price"] is True


def test_a_stale_latest_snapshot_is_not_current() -> None:
    history = [snapshot(1, 50, "100.00"), snapshot(1, 2, "100.00")]  # newest is two days old
    entry = summary_of(history)["x3"]["shop-a"]
    assert entry["current"] == "100.00" and entry["is_current"] is False
    assert entry["good_price"] is False
    assert entry["current_at"] == (NOW - timedelta(days=2)).isoformat()
    longer = PriceRules(max_age_hours=72)
    assert summary_of(history, longer)["x3"]["shop-a"]["is_current"] is True


def test_missing_prices_are_skipped_never_zero() -> None:
    history = weekly(1, ["100.00", None, "120.00", None, "110.00", "110.00", None])
    entry = summary_of(history)["x3"]["shop-a"]
    assert entry["low"] == "100.00" and entry["snapshots"] == 4
    assert entry["current"] is None and entry["is_current"] is False  # the latest had no price
    assert entry["above_low"] is None and entry["good_price"] is False


def test_out_of_stock_latest_price_is_not_current() -> None:
    history = weekly(1, ["100.00"] * 6) + [snapshot(1, 0.01, "100.00", availability="out_of_stock")]
    entry = summary_of(history)["x3"]["shop-a"]
    assert entry["is_current"] is False and entry["good_price"] is False


def test_each_store_has_its_own_entry_and_chart_points() -> None:
    history = (
        weekly(1, ["100.00", "90.00"])
        + [snapshot(2, 7, "95.50"), snapshot(2, 7.01, "97.00"), snapshot(2, 0.5, "99.00")]
        + [snapshot(3, 1, None)]  # the stretcher was never priced
    )
    result = price_summaries(pd.DataFrame(history), LINKS, now=NOW).set_index("product_id")
    assert list(result.index) == ["x3"]  # no priced snapshot, no summary
    stores = result.loc["x3", "price_summary"]
    assert [e["store"] for e in stores] == ["shop-a", "shop-b"]  # cheapest low first
    assert stores[1]["low"] == "95.50" and stores[1]["median"] == "97.00"
    points = result.loc["x3", "price_history"]
    # one point per store and day: shop-b's two snapshots that day keep the later one
    assert points == [
        {"date": "2024-07-25", "store": "shop-a", "price": "100.00", "currency": "USD"},
        {"date": "2024-07-25", "store": "shop-b", "price": "95.50", "currency": "USD"},
        {"date": "2024-08-01", "store": "shop-a", "price": "90.00", "currency": "USD"},
        {"date": "2024-08-01", "store": "shop-b", "price": "99.00", "currency": "USD"},
    ]


def test_median_of_an_even_count_stays_exact() -> None:
    entry = summary_of([snapshot(1, 3, "399.99"), snapshot(1, 0.1, "379.00")])["x3"]["shop-a"]
    assert entry["median"] == "389.495"


def test_no_history_gives_an_empty_frame() -> None:
    empty = pd.DataFrame(
        columns=["listing_id", "run_id", "store", "price", "currency", "fetched_at", "availability"]
    )
    result = price_summaries(empty, LINKS, now=NOW)
    assert result.empty and list(result.columns) == ["product_id", "price_summary", "price_history"]


def test_missing_history_column_is_named() -> None:
    with pytest.raises(ValueError, match="fetched_at"):
        price_summaries(
            pd.DataFrame([snapshot(1, 1, "1.00")]).drop(columns="fetched_at"), LINKS, now=NOW
        )


def test_rules_from_catalog() -> None:
    table = {"prices": {"good_within": 0.03, "min_history_days": 60}}
    rules = scoring_config(table, max_price_age_hours=48).prices
    assert (rules.good_within, rules.min_history_days, rules.max_age_hours) == (
        Decimal("0.03"),
        60,
        48.0,
    )
    assert scoring_config({}).prices == PriceRules()
    with pytest.raises(ValueError, match=r"^scoring\.prices\.good: unknown key"):
        scoring_config({"prices": {"good": 0.1}})


def test_reads_the_stores_offer_history(tmp_path: Path) -> None:
    with Store.open(tmp_path / "backrank.db") as store:
        for days_ago, price in ((45, "120.00"), (20, "119.00"), (0.1, "101.00")):
            run = store.start_run(None)
            store.save_listings(run, [{
                "store": "shop-a", "url": "https://shop-a.example/p/x3", "price": Decimal(price),
                "currency": "USD", "availability": "in_stock",
                "fetched_at": (NOW - timedelta(days=days_ago)).isoformat(),
            }])  # fmt: skip
        history = store.read_offer_history()
        links = pd.DataFrame(
            {"product_id": ["x3"], "listing_id": [int(history["listing_id"].iloc[0])]}
        )
    result = price_summaries(history, links, now=NOW)
    entry = result.iloc[0]["price_summary"][0]
    assert (entry["low"], entry["high"], entry["current"]) == ("101.00", "120.00", "101.00")
    assert entry["history_days"] == 44 and entry["good_price"] is True


# --- the vectorised summaries agree with the plain per-store loop they replaced -----------


def reference_summaries(history: pd.DataFrame, now: datetime, rules: PriceRules) -> dict:
    """The obvious loop: per product, store and currency, from snapshots oldest first."""
    snapshots = priced_snapshots(history, LINKS)
    out: dict[str, list[dict]] = {}
    keyed = snapshots.assign(cur=snapshots["currency"].fillna(""))
    for product_id, product in keyed.groupby("product_id", sort=True):
        entries = []
        for (store, currency), group in product.groupby(["store", "cur"], sort=True):
            priced = group[group["price"].notna()]
            if priced.empty:
                continue
            prices = list(priced["price"])
            low, latest = min(prices), group.iloc[-1]
            days = int((priced["fetched"].iloc[-1] - priced["fetched"].iloc[0]).days)
            age = (pd.Timestamp(now) - latest["fetched"]).total_seconds() / 3600
            current = latest["price"]
            is_current = (
                current is not None
                and latest["availability"] != "out_of_stock"
                and 0 <= age <= rules.max_age_hours
            )
            entries.append({
                "store": store, "currency": currency or None,
                "observed_since": priced["fetched"].iloc[0].date().isoformat(),
                "history_days": days, "snapshots": len(prices), "low": str(low),
                "high": str(max(prices)), "median": str(statistics.median(prices)),
                "current": None if current is None else str(current),
                "current_at": latest["fetched"].isoformat(), "is_current": is_current,
                "above_low": None if current is None else str(current - low),
                "good_price": bool(is_current and days >= rules.min_history_days
                                   and current <= low * (1 + rules.good_within)),
            })  # fmt: skip
        if entries:
            entries.sort(key=lambda e: (e["currency"] or "", Decimal(e["low"]), e["store"]))
            out[product_id] = entries
    return out


snapshot_rows = st.lists(
    st.tuples(
        st.sampled_from([1, 2, 3]),
        st.integers(0, 24 * 90),  # hours before NOW
        st.one_of(
            st.none(),
            st.decimals("0.01", "999.99", places=2),
            # equal values written differently must keep their own text, as the loop did
            st.sampled_from([Decimal("100"), Decimal("100.0"), Decimal("99.995")]),  # noqa: FURB157
        ),
        st.sampled_from(["USD", "EUR", None]),
        st.sampled_from(["in_stock", "out_of_stock", "unknown"]),
    ),
    max_size=25,
)


@settings(max_examples=20, deadline=None)
@given(snapshot_rows)
def test_vectorised_summaries_match_the_per_store_loop(rows: list[tuple]) -> None:
    history = pd.DataFrame(
        [
            snapshot(lid, hours / 24, None if p is None else str(p), currency=c, availability=a)
            for lid, hours, p, c, a in rows
        ],
        columns=["listing_id", "run_id", "store", "price", "currency", "fetched_at",
                 "availability"],
    )  # fmt: skip
    rules = PriceRules(min_history_days=30)
    result = price_summaries(history, LINKS, now=NOW, rules=rules)
    assert dict(zip(result["product_id"], result["price_summary"], strict=True)) == (
        reference_summaries(history, NOW, rules)
    )


def test_three_thousand_products_summarise_in_seconds() -> None:
    # the per-store loop took ~10 ms a product (30 s here); grouped work takes about one
    n = 9_000
    links = pd.DataFrame({"product_id": [f"p{i // 3}" for i in range(n)], "listing_id": range(n)})
    history = pd.DataFrame({
        "listing_id": list(range(n)) * 2, "run_id": [1] * n + [2] * n,
        "store": [f"shop-{i % 3}" for i in range(n)] * 2,
        "price": [Decimal(100 + i % 50) for i in range(2 * n)], "currency": "USD",
        "fetched_at": ["2024-07-01T12:00:00+00:00"] * n + ["2024-08-01T11:00:00+00:00"] * n,
        "availability": "in_stock",
    })  # fmt: skip
    started = time.perf_counter()
    result = price_summaries(history, links, now=NOW)
    assert len(result) == 3_000
    assert time.perf_counter() - started < 8
    assert result.iloc[0]["price_summary"][0]["history_days"] == 30
