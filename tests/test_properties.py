"""Property tests where tests/test_normalise.py has none: stock wording, rating text, and the store's round trip."""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backrank.core.store import Store
from spiders.normalise import normalise_availability, parse_rating

STOCK_WORDS = ("stock", "lager", "disponib", "stoc", "voorraad", "magazyn", "available", "sold", "esgotado", "agotado", "épuisé", "ausverkauft", "unavailable", "left", "ship")  # fmt: skip


@given(st.text(max_size=60))
def test_availability_is_one_of_three_states_or_none(text: str) -> None:
    state = normalise_availability(text)
    assert state in ("in_stock", "out_of_stock", "unknown", None)
    if not text.strip():
        assert state is None


@given(st.text(alphabet=st.characters(categories=("Nd", "Zs", "Po")), max_size=30))
def test_digits_and_punctuation_never_claim_stock(text: str) -> None:
    assert normalise_availability(text) in ("unknown", None)


@given(st.integers(min_value=0, max_value=50))
def test_star_text_reads_back_its_rating(tenths: int) -> None:
    rating = tenths / 10
    assert parse_rating(f"{rating:.1f} out of 5 stars") == rating


prices = st.one_of(st.none(), st.decimals(min_value=0, max_value=99999, places=2, allow_nan=False))
listings = st.lists(
    st.fixed_dictionaries(
        {
            "title": st.one_of(st.none(), st.text(min_size=1, max_size=40)),
            "price": prices,
            "list_price": prices,
            "rating": st.one_of(st.none(), st.floats(min_value=0, max_value=5)),
            "review_count": st.one_of(st.none(), st.integers(min_value=0, max_value=10**7)),
            "availability": st.sampled_from(["in_stock", "out_of_stock", "unknown"]),
            "currency": st.sampled_from(["USD", "EUR", None]),
        }
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(listings)
def test_what_goes_into_the_store_comes_out(rows: list[dict]) -> None:
    saved = [{**row, "store": "s", "url": f"https://s.example/p/{n}"} for n, row in enumerate(rows)]
    with tempfile.TemporaryDirectory() as folder, Store.open(Path(folder) / "p.db") as store:
        run_id = store.start_run()
        assert store.save_listings(run_id, saved) == len(saved)
        offers = store.read_offers(latest=True).set_index("url")
    assert len(offers) == len(saved)
    for row in saved:
        out = offers.loc[row["url"]]
        assert out["price"] == row["price"] and (
            row["price"] is None or str(out["price"]) == str(row["price"])
        ), "prices keep their exact decimal text"
        assert out["list_price"] == row["list_price"]
        assert out["title"] == row["title"]
        assert out["availability"] == row["availability"]
        assert out["currency"] == row["currency"]
        assert (row["rating"] is None and out["rating"] != out["rating"]) or out["rating"] == row[
            "rating"
        ]
        assert (row["review_count"] is None and out["review_count"] is _na()) or out[
            "review_count"
        ] == row["review_count"]
        assert not out["gone"]


def _na():
    import pandas as pd

    return pd.NA


def test_no_price_is_never_read_as_zero() -> None:
    with tempfile.TemporaryDirectory() as folder, Store.open(Path(folder) / "z.db") as store:
        run_id = store.start_run()
        store.save_listings(run_id, [{"store": "s", "url": "https://s.example/p", "price": None}])
        store.save_listings(
            store.start_run(), [{"store": "s", "url": "https://s.example/q", "price": Decimal(0)}]
        )
        offers = store.read_offers().set_index("url")
    assert offers.loc["https://s.example/p", "price"] is None
    assert offers.loc["https://s.example/q", "price"] == Decimal(0)
