"""The store, on SQLite and on PostgreSQL: what goes in comes out, runs don't duplicate, migrations."""

from __future__ import annotations

import itertools
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from backrank.core.frames import (
    LISTINGS,
    OFFERS,
    PRODUCT_INPUTS,
    PRODUCT_LISTINGS,
    PRODUCTS,
    REVIEW_SCORES,
    REVIEWS,
    RUN_STORES,
    RUNS,
    SENTENCES,
    SNAPSHOTS,
    Frame,
    UnknownColumnError,
)
from backrank.core.store import MIGRATIONS, Store, listing_key
from backrank.core.store.schema import schema_version
from spiders.items import Listing, Review


def listing(**fields) -> dict:
    base = Listing(
        store="demo-shopify",
        url="http://127.0.0.1:8102/products/teeter-x3",
        canonical_url="http://127.0.0.1:8102/products/teeter-x3",
        platform="shopify",
        title="Teeter X3 Inversion Table",
        brand="Teeter",
        price=Decimal("399.99"),
        currency="USD",
        list_price=Decimal("449.00"),
        availability="in_stock",
        rating=4.6,
        review_count=2842,
        gtin="0123456789012",
        mpn="X3-01",
        sku="TX3",
        category="Inversion tables",
        description="Heavy duty",
        image_url="http://127.0.0.1:8102/img/x3.jpg",
        fetched_at="2024-07-01T10:00:00+00:00",
    )
    return asdict(base) | fields


def review(**fields) -> dict:
    base = Review(
        store="demo-shopify",
        url="http://127.0.0.1:8102/products/teeter-x3",
        review_id="r-1",
        author="Dana",
        rating=5.0,
        title="Back pain gone",
        body="After two weeks my lower back feels better.",
        date="2024-06-30",
        verified=True,
        helpful_votes=12,
        language="en",
    )
    return asdict(base) | fields


@pytest.fixture
def store(store_target: str):
    with Store.open(store_target) as opened:
        yield opened


def test_offer_round_trip_keeps_every_value(store: Store) -> None:
    run = store.start_run("catalog.toml")
    assert store.save_listings(run, [listing()]) == 1
    offers = store.read_offers()
    assert list(offers.columns) == list(OFFERS.columns)
    row = offers.iloc[0]
    expected = listing()
    for column in ("store", "url", "canonical_url", "title", "brand", "currency", "availability",
                   "gtin", "mpn", "sku", "category", "image_url", "platform", "fetched_at"):  # fmt: skip
        assert row[column] == expected[column], column
    assert row["price"] == Decimal("399.99") and isinstance(row["price"], Decimal)
    assert row["list_price"] == Decimal("449.00")
    assert str(row["list_price"]) == "449.00"  # the trailing zero survives
    assert row["rating"] == 4.6
    assert row["review_count"] == 2842
    assert row["asin"] is None
    assert row["run_id"] == run


def test_missing_price_stays_missing(store: Store) -> None:
    run = store.start_run(None)
    priced = listing(url="http://127.0.0.1:8102/products/priced", canonical_url=None)
    store.save_listings(
        run, [priced, listing(price=None, list_price=None, rating=None, review_count=None)]
    )
    offers = store.read_offers()
    assert offers.iloc[0]["price"] == Decimal("399.99")
    row = offers.iloc[1]
    assert row["price"] is None
    assert row["list_price"] is None
    assert pd.isna(row["rating"]) and pd.isna(row["review_count"])
    with store.engine.connect() as conn:
        raw = conn.execute(
            text("SELECT price, review_count FROM offers WHERE listing_id = :id"),
            {"id": int(row["listing_id"])},
        ).one()
    assert tuple(raw) == (None, None)  # never 0 for unknown


def test_two_runs_keep_one_listing_and_one_snapshot_per_run(store: Store) -> None:
    first = store.start_run(None)
    store.save_listings(first, [listing()])
    store.save_reviews(first, [review()])
    store.finish_run(first, "ok", {"item_scraped_count": 2})
    second = store.start_run(None)
    store.save_listings(second, [listing(price=Decimal("379.00"), title=None)])
    store.save_reviews(second, [review(helpful_votes=13)])
    store.finish_run(second, "warnings", {"log_count/ERROR": 1})

    listings = store.read_listings()
    assert len(listings) == 1
    assert listings.iloc[0]["title"] == "Teeter X3 Inversion Table"  # NULL never overwrites
    assert (listings.iloc[0]["first_seen_run"], listings.iloc[0]["last_seen_run"]) == (
        first,
        second,
    )
    history = store.read_offers(latest=False)
    assert list(history["price"]) == [Decimal("399.99"), Decimal("379.00")]
    assert list(history["run_id"]) == [first, second]
    latest = store.read_offers()
    assert len(latest) == 1 and latest.iloc[0]["price"] == Decimal("379.00")
    reviews = store.read_reviews()
    assert len(reviews) == 1 and reviews.iloc[0]["helpful_votes"] == 13

    runs = store.runs()
    assert list(runs["status"]) == ["ok", "warnings"]
    assert runs.iloc[0]["stats"] == {"item_scraped_count": 2}
    assert store.last_run_id() == first
    assert store.last_run_id(status=None) == second


def test_run_counts_are_distinct_rows_even_when_saved_twice(store: Store) -> None:
    # A request redone after a killed worker saves its rows again: counts stay distinct.
    first = store.start_run(None)
    other = "http://127.0.0.1:8102/products/teeter-x1"
    store.save_listings(first, [listing(), listing(url=other, canonical_url=other)])
    store.save_reviews(first, [review(), review(review_id="r-2")])
    second = store.start_run(None)
    for _ in range(2):
        store.save_listings(second, [listing()])
        store.save_reviews(second, [review()])
    assert (store.count_offers(first), store.count_reviews(first)) == (2, 1)
    assert (store.count_offers(second), store.count_reviews(second)) == (1, 1)


def test_listing_identity_prefers_asin_then_canonical_then_url() -> None:
    assert listing_key(
        {"url": "https://www.amazon.com/x/dp/B0TEST1234?th=1", "asin": "b0test1234"}
    ) == ("asin:B0TEST1234")
    assert listing_key(
        {"url": "https://Shop.example/p?utm=1", "canonical_url": "https://shop.example/p/"}
    ) == ("https://shop.example/p")
    assert listing_key({"url": "HTTPS://Shop.Example/p/1/?utm_source=x#reviews"}) == (
        "https://shop.example/p/1"
    )


def test_same_product_under_tracking_urls_is_one_listing(store: Store) -> None:
    run = store.start_run(None)
    store.save_listings(
        run,
        [
            listing(
                canonical_url=None, url="http://127.0.0.1:8102/products/teeter-x3?utm_source=a"
            ),
            listing(canonical_url=None, url="http://127.0.0.1:8102/products/teeter-x3/"),
        ],
    )
    assert len(store.read_listings()) == 1


def test_reviews_without_store_id_dedupe_by_content(store: Store) -> None:
    run = store.start_run(None)
    anonymous = review(review_id=None)
    store.save_reviews(run, [anonymous, anonymous, review(review_id=None, body="Different text")])
    store.save_reviews(store.start_run(None), [anonymous])
    reviews = store.read_reviews()
    assert len(reviews) == 2
    assert all(rid.startswith("sha1:") for rid in reviews["review_id"])


def test_review_round_trip_and_late_listing_link(store: Store) -> None:
    run = store.start_run(None)
    # Reviews may arrive before their product page is stored (separate review pages).
    store.save_reviews(
        run,
        [
            review(),
            review(review_id="r-2", verified=None, helpful_votes=None, rating=None,
                   url="http://127.0.0.1:8102/products/teeter-x3?page=2"),
        ],
    )  # fmt: skip
    unlinked = store.read_reviews()
    assert unlinked["listing_id"].isna().all()
    store.save_listings(run, [listing()])
    reviews = store.read_reviews()
    listing_id = store.read_listings().iloc[0]["listing_id"]
    assert list(reviews["listing_id"]) == [listing_id, listing_id]
    first, second = reviews.iloc[0], reviews.iloc[1]
    assert first["url"] == listing()["url"]
    expected = review()
    for column in ("store", "review_id", "author", "rating", "title", "body", "date",
                   "helpful_votes"):  # fmt: skip
        assert first[column] == expected[column], column
    assert bool(first["verified"]) is True
    assert pd.isna(second["verified"]) and pd.isna(second["helpful_votes"])
    assert pd.isna(second["rating"])
    # A review saved after its listing is linked at once.
    store.save_reviews(run, [review(review_id="r-3")])
    assert store.read_reviews().iloc[-1]["listing_id"] == listing_id


def test_reopen_keeps_schema_and_data(store_target: str) -> None:
    with Store.open(store_target) as store:
        store.save_listings(store.start_run(None), [listing()])
        assert store.read_offers().shape[0] == 1
    with Store.open(store_target) as store, store.engine.connect() as conn:
        assert schema_version(conn) == len(MIGRATIONS)
        assert len(store.read_offers()) == 1


def test_sqlite_store_is_wal_with_foreign_keys(tmp_path: Path) -> None:
    with Store.open(tmp_path / "backrank.db") as store, store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 30000


def test_reader_sees_writer_commits_while_both_open(store_target: str) -> None:
    writer = Store.open(store_target)
    reader = Store.open(store_target)
    try:
        run = writer.start_run(None)
        writer.save_listings(run, [listing()])
        assert len(reader.read_offers()) == 1
        writer.save_listings(
            run, [listing(url="http://127.0.0.1:8102/products/other", canonical_url=None)]
        )
        assert len(reader.read_offers()) == 2
    finally:
        writer.close()
        reader.close()


def test_offers_need_a_real_run(store: Store) -> None:
    with pytest.raises(IntegrityError):
        store.save_listings(999, [listing()])
    assert store.read_listings().empty  # the batch rolled back as one transaction


def test_bad_price_is_refused_not_stored_as_zero(store: Store) -> None:
    run = store.start_run(None)
    with pytest.raises(ValueError, match="not a decimal price"):
        store.save_listings(
            run, [listing(), listing(url="http://x.example/p", price="about 5 dollars")]
        )
    assert store.read_listings().empty


def test_products_replace_and_keep_extra_columns(store: Store) -> None:
    run = store.start_run(None)
    store.save_listings(run, [listing()])
    listing_id = int(store.read_listings().iloc[0]["listing_id"])
    products = pd.DataFrame(
        [
            {"product_id": "gtin:0123456789012", "name": "Teeter X3", "brand": "Teeter",
             "category": "inversion-tables", "listings": 1, "best_price": Decimal("399.990"),
             "best_store": "demo-shopify", "rating": 4.6, "adjusted_rating": 4.41,
             "review_count": 2842, "rank": 1, "trust_grade": "B"},
        ]
    )  # fmt: skip
    links = pd.DataFrame({"product_id": ["gtin:0123456789012"], "listing_id": [listing_id]})
    store.save_products(run, products, links)
    store.save_products(run, products, links)  # replaces, never appends
    read = store.read_products()
    assert len(read) == 1
    row = read.iloc[0]
    assert str(row["best_price"]) == "399.990"
    assert row["trust_grade"] == "B"
    assert row["rank"] == 1 and row["adjusted_rating"] == 4.41
    assert store.read_product_listings().to_dict("records") == [
        {"product_id": "gtin:0123456789012", "listing_id": listing_id}
    ]


def assert_declared(frame: pd.DataFrame, declared: Frame) -> None:
    """``frame`` has the declared columns, in order first, each with its declared dtype."""
    assert list(frame.columns[: len(declared.columns)]) == list(declared.columns)
    dtypes = {c: str(frame[c].dtype) for c in declared.columns}
    assert dtypes == {c: declared.pandas_dtype(c) for c in declared.columns}


def test_every_frame_read_has_its_declared_columns_and_dtypes(store: Store) -> None:
    run = store.start_run(None)
    store.save_listings(run, [listing()])
    store.save_reviews(run, [review()])
    listing_id = int(store.read_listings().iloc[0]["listing_id"])
    health = {
        "store": "demo-shopify",
        "status": "ok",
        "product_pages": 1,
        "listings": 1,
        "with_price": 1,
        "price_share": 1.0,
        "baseline_run": None,
        "baseline_share": None,
    }
    store.save_run_store(run, health)
    products = pd.DataFrame(
        [{"product_id": "p-1", "name": "Teeter X3", "listings": 1, "best_price": Decimal("399.99"),
          "rating": 4.6, "adjusted_rating": 4.4, "review_count": 2, "rank": 1, "in_stock": True,
          "composite_score": 8.5, "subcategory": "tables", "currency": "USD"}]
    )  # fmt: skip
    links = pd.DataFrame({"product_id": ["p-1"], "listing_id": [listing_id]})
    store.save_products(run, products, links)
    store.save_review_scores(
        run, pd.DataFrame([("demo-shopify", "r-1", "p-1", 0.25, None, True)],
                          columns=list(REVIEW_SCORES.required))
    )  # fmt: skip
    store.save_review_sentences(
        pd.DataFrame([("a" * 40, 0, "Great.", 0.6)], columns=list(SENTENCES.columns)), "v1"
    )
    inputs = pd.DataFrame({"product_id": ["p-1"], "fingerprint": ["f"], "results": [{"a": 1}]})
    store.save_product_inputs(run, inputs)
    for frame, declared in [
        (store.read_offers(), OFFERS), (store.read_offer_history(), OFFERS),
        (store.read_listings(), LISTINGS), (store.read_reviews(), REVIEWS),
        (store.read_product_listings(), PRODUCT_LISTINGS),
        (store.read_product_snapshots(), SNAPSHOTS), (store.read_review_scores(), REVIEW_SCORES),
        (store.read_review_sentences("v1"), SENTENCES), (store.read_review_sentences("v0"), SENTENCES),
        (store.read_product_inputs(), PRODUCT_INPUTS), (store.runs(), RUNS),
        (store.read_run_stores(), RUN_STORES),
    ]:  # fmt: skip
        assert_declared(frame, declared)
    read = store.read_products()
    stored = [c for c in PRODUCTS.columns if c in read.columns]
    assert {c: str(read[c].dtype) for c in stored if c in ("rating", "listings", "rank")} == {
        "rating": "float64", "listings": "Int64", "rank": "Int64"
    }  # fmt: skip
    assert isinstance(read.iloc[0]["best_price"], Decimal)


def test_a_column_a_frame_lacks_fails_when_picked() -> None:
    assert OFFERS.pick("price", "store") == ("price", "store")
    with pytest.raises(UnknownColumnError, match="offers frame has no column cost"):
        OFFERS.pick("price", "cost")
    assert set(OFFERS.required) <= set(OFFERS.columns)


def test_finish_run_checks_status(store: Store) -> None:
    run = store.start_run(None)
    with pytest.raises(ValueError, match="status must be one of"):
        store.finish_run(run, "done", {})


prices = st.one_of(
    st.none(),
    st.decimals(min_value=0, max_value=10**7, places=2, allow_nan=False, allow_infinity=False),
    st.decimals(min_value=0, max_value=10**5, allow_nan=False, allow_infinity=False),
)  # fmt: skip
# No NUL: PostgreSQL text cannot hold one (psycopg refuses it with a DataError).
texts = st.one_of(
    st.none(),
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=40),
)
_example_number = itertools.count()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    price=prices,
    list_price=prices,
    title=texts,
    brand=texts,
    rating=st.one_of(st.none(), st.floats(min_value=0, max_value=5)),
    review_count=st.one_of(st.none(), st.integers(min_value=0, max_value=10**9)),
)
def test_round_trip_property(
    store: Store, price, list_price, title, brand, rating, review_count
) -> None:
    # One store for every example: each saves a listing of its own and reads that one back.
    run = store.start_run(None)
    url = f"http://127.0.0.1:8102/products/example-{next(_example_number)}"
    saved = listing(
        url=url, canonical_url=None, price=price, list_price=list_price, title=title,
        brand=brand, rating=rating, review_count=review_count,
    )  # fmt: skip
    store.save_listings(run, [saved])
    offers = store.read_offers()
    row = offers[offers["url"] == url].iloc[0]
    for column in ("price", "list_price"):
        if saved[column] is None:
            assert row[column] is None
        else:
            assert row[column] == saved[column]
            assert str(row[column]) == str(saved[column])  # exact, digits and exponent
    for column in ("title", "brand", "rating", "review_count"):
        if saved[column] is None:
            assert pd.isna(row[column])
        else:
            assert row[column] == saved[column]


def scored(**fields) -> dict:
    base = {
        "product_id": "gtin:0123456789012", "name": "Teeter X3", "brand": "Teeter",
        "category": "inversion-tables", "subcategory": "inversion-tables", "listings": 1,
        "best_price": Decimal("399.990"), "currency": "USD", "best_store": "demo-shopify",
        "in_stock": True, "rating": 4.6, "adjusted_rating": 4.41, "review_count": 2842, "rank": 1,
        "composite_score": 8.25,
    }  # fmt: skip
    return base | fields


def test_each_scoring_run_appends_a_snapshot_and_keeps_products_replaced(store: Store) -> None:
    first = store.start_run(None)
    store.save_listings(first, [listing()])
    listing_id = int(store.read_listings().iloc[0]["listing_id"])
    links = pd.DataFrame({"product_id": ["gtin:0123456789012"], "listing_id": [listing_id]})
    store.save_products(first, pd.DataFrame([scored()]), links)
    second = store.start_run(None)
    cheaper = scored(best_price=Decimal("379.00"), rank=2, composite_score=7.5, in_stock=False)
    newcomer = scored(
        product_id="asin:B0NEW",
        name="New",
        subcategory=None,
        category="traction",
        best_price=None,
        currency=None,
        composite_score=float("nan"),
        rank=None,
    )
    store.save_products(second, pd.DataFrame([cheaper, newcomer]), links)
    store.save_products(second, pd.DataFrame([cheaper, newcomer]), links)  # same run: replaced

    assert len(store.read_products()) == 2
    snapshots = store.read_product_snapshots()
    assert list(snapshots["run_id"]) == [first, second, second]
    old, now, new = (snapshots.iloc[i] for i in range(3))
    assert old["best_price"] == Decimal("399.990") and str(old["best_price"]) == "399.990"
    assert now["best_price"] == Decimal("379.00") and now["rank"] == 2
    assert bool(old["in_stock"]) is True and bool(now["in_stock"]) is False
    assert now["composite_score"] == 7.5
    # subcategory falls back to category; unknowns stay unknown, never 0
    assert new["subcategory"] == "traction"
    assert new["best_price"] is None and pd.isna(new["rank"]) and pd.isna(new["composite_score"])


def test_products_without_a_run_write_no_snapshot(store: Store) -> None:
    store.save_products(
        None, pd.DataFrame([scored()]), pd.DataFrame(columns=["product_id", "listing_id"])
    )
    assert len(store.read_products()) == 1
    assert store.read_product_snapshots().empty


def test_scoring_summary_is_the_latest_runs(store: Store) -> None:
    assert store.read_scoring_summary() is None
    first, second = store.start_run(None), store.start_run(None)
    summary = {
        "weights": {"rating": 0.35, "wilson": 0.2},
        "sensitivity": {
            "overall": {"min_tau": 0.8, "runs": [{"weight": "rating", "top1_same": True}]}
        },
        "min_price": Decimal("19.90"),
    }
    store.save_scoring_summary(second, summary)
    store.save_scoring_summary(first, {"weights": {"rating": 1.0}})
    read = store.read_scoring_summary()
    assert read["weights"] == {"rating": 0.35, "wilson": 0.2}
    assert read["sensitivity"]["overall"]["runs"][0] == {"weight": "rating", "top1_same": True}
    assert read["min_price"] == "19.90"  # Decimal kept exact, as text
    store.save_scoring_summary(second, {"weights": {"rating": 0.5}})  # re-scoring replaces
    assert store.read_scoring_summary() == {"weights": {"rating": 0.5}}


def test_reviews_keep_their_content_hash_and_fetch_time(store: Store) -> None:
    run = store.start_run(None)
    store.save_reviews(
        run, [review(fetched_at="2024-07-01T10:00:00+00:00"), review(review_id="r-2", body="Meh")]
    )
    reviews = store.read_reviews()
    assert {"content_hash", "fetched_at"} <= set(reviews.columns)
    assert reviews.iloc[0]["fetched_at"] == "2024-07-01T10:00:00+00:00"
    assert reviews["content_hash"].nunique() == 2


def test_sentence_lookup_beyond_one_statement(store: Store) -> None:
    hashes = [f"{i:040x}" for i in range(1200)]
    rows = [(key, 0, f"Sentence {i}.", i / 1200) for i, key in enumerate(hashes)]
    store.save_review_sentences(sentence_rows(rows), "vader-1")
    found = store.read_review_sentences("vader-1", [*hashes[::-1], "not-stored"])
    assert sorted(zip(found["review_key"], found["sentence"], strict=True)) == [
        (key, sentence) for key, _, sentence, _ in rows
    ]
    assert store.read_review_sentences("vader-1", []).empty


def test_scored_columns_survive_the_round_trip(store: Store) -> None:
    run = store.start_run(None)
    breakdown = [
        {"component": "rating", "label": "Adjusted rating", "weight": 0.7, "value": 9.2,
         "contribution": 6.44, "configured_weight": 0.35, "missing": False},
        {"component": "trust", "label": "Review trust grade", "weight": 0.0, "value": None,
         "contribution": 0.0, "configured_weight": 0.15, "missing": True},
    ]  # fmt: skip
    price_summary = [
        {"store": "demo-shopify", "currency": "USD", "observed_since": "2024-06-01",
         "history_days": 42, "low": "379.00", "high": "449.90", "median": "399.990",
         "current": "381.50", "current_at": "2024-07-13T10:00:00+00:00", "is_current": True,
         "above_low": "2.50", "good_price": True},
    ]  # fmt: skip
    product = scored(
        score_breakdown=breakdown,
        badges=["best-overall", "best-in-inversion-tables"],
        rating_histogram={"1": 2, "2": 0, "3": 1, "4": 5, "5": 40},
        price_summary=price_summary,
        wilson_lower=float("nan"),
    )
    store.save_products(
        run, pd.DataFrame([product]), pd.DataFrame(columns=["product_id", "listing_id"])
    )
    row = store.read_products().iloc[0]
    assert row["score_breakdown"] == breakdown
    assert row["badges"] == ["best-overall", "best-in-inversion-tables"]
    assert row["rating_histogram"] == {"1": 2, "2": 0, "3": 1, "4": 5, "5": 40}
    assert row["price_summary"] == price_summary  # money stays exact decimal text
    assert row["wilson_lower"] is None  # unknown stays unknown
    assert row["composite_score"] == 8.25


def sentence_rows(rows: list[tuple[str, int, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["review_key", "sentence_index", "sentence", "compound"])


def test_bulk_sentence_save_replaces_stored_rows_and_keeps_the_rest(store: Store) -> None:
    first = [("a" * 40, 0, "Great table.", 0.6249), ("a" * 40, 1, "Sturdy.", 0.0),
             ("b" * 40, 0, "Broke in a week.", -0.4215)]  # fmt: skip
    assert store.save_review_sentences(sentence_rows(first), "vader-1") == 3
    assert store.save_review_sentences(sentence_rows(first[:1]), "vader-2") == 1
    # Text COPY must escape: tab, newline, backslash, quotes, \N, non-ASCII; floats stay exact.
    awkward = "Tab\there,\nnew line, back\\slash \\N 'q' \"dq\" caf\u00e9 \u2603"
    again = [("a" * 40, 1, awkward, 0.1 + 0.2), ("c" * 40, 0, "New one.", -1e-300)]
    assert store.save_review_sentences(sentence_rows(again), "vader-1") == 2
    cached = store.read_review_sentences("vader-1")
    stored = {
        (k, i): (s, c)
        for k, i, s, c in zip(cached["review_key"], cached["sentence_index"], cached["sentence"],
                              cached["compound"], strict=True)
    }  # fmt: skip
    assert stored == {
        ("a" * 40, 0): ("Great table.", 0.6249),
        ("a" * 40, 1): (awkward, 0.1 + 0.2),
        ("b" * 40, 0): ("Broke in a week.", -0.4215),
        ("c" * 40, 0): ("New one.", -1e-300),
    }
    assert cached["sentence_index"].dtype == "int64" and cached["compound"].dtype == "float64"
    other = store.read_review_sentences("vader-2")
    assert list(other["sentence"]) == ["Great table."]  # another version is another row


def test_bulk_save_of_one_key_twice_keeps_the_last(store: Store) -> None:
    rows = [("a" * 40, 0, "first", 0.1), ("b" * 40, 0, "other", 0.2), ("a" * 40, 0, "last", 0.3)]
    store.save_review_sentences(sentence_rows(rows), "vader-1")
    cached = store.read_review_sentences("vader-1")
    assert sorted(zip(cached["sentence"], cached["compound"], strict=True)) == [
        ("last", 0.3),
        ("other", 0.2),
    ]


def test_bulk_save_in_batches_is_one_save(store: Store, monkeypatch) -> None:
    """Batches of a large save land in one transaction; a key repeated in a later batch wins."""
    from backrank.core.store import scoring

    monkeypatch.setattr(scoring, "SENTENCE_BATCH", 2)
    rows = [("a" * 40, 0, "first", 0.1), ("b" * 40, 0, "b", 0.2), ("c" * 40, 0, "c", 0.3),
            ("d" * 40, 0, "d", 0.4), ("a" * 40, 0, "last", 0.5)]  # fmt: skip
    assert store.save_review_sentences(sentence_rows(rows), "vader-1") == 5
    cached = store.read_review_sentences("vader-1")
    assert dict(zip(cached["review_key"], cached["sentence"], strict=True)) == {
        "a" * 40: "last", "b" * 40: "b", "c" * 40: "c", "d" * 40: "d",
    }  # fmt: skip


def review_scores(rows: list[tuple]) -> pd.DataFrame:
    columns = ["store", "review_id", "product_id", "suspicion", "flags", "kept"]
    return pd.DataFrame(rows, columns=columns)


def test_bulk_review_score_save_replaces_stored_rows_with_nulls_kept(store: Store) -> None:
    first = [("demo-shopify", "r-1", "p-1", 0.25, "burst", True),
             ("demo-shopify", "r-2", "p-1", 0.75, None, False),
             ("demo-amazon", "r-1", "p-2", 0.5, None, True)]  # fmt: skip
    assert store.save_review_scores(1, review_scores(first)) == 3
    again = [("demo-shopify", "r-2", None, None, "dup-text", None),
             ("demo-walmart", "w-9", "p-3", 1 / 3, None, False)]  # fmt: skip
    assert store.save_review_scores(None, review_scores(again)) == 2
    scores = store.read_review_scores()
    assert scores["suspicion"].dtype == "float64" and scores["kept"].dtype == "boolean"
    assert scores["run_id"].dtype == "Int64"
    by_key = {(r.store, r.review_id): r for r in scores.itertuples()}
    assert len(by_key) == 4
    replaced = by_key["demo-shopify", "r-2"]
    assert replaced.product_id is None and pd.isna(replaced.suspicion)
    assert replaced.flags == "dup-text" and pd.isna(replaced.kept) and pd.isna(replaced.run_id)
    kept = by_key["demo-shopify", "r-1"]
    assert (kept.product_id, kept.suspicion, kept.flags, kept.kept, kept.run_id) == (
        "p-1", 0.25, "burst", True, 1,
    )  # fmt: skip
    new = by_key["demo-walmart", "w-9"]
    assert (new.product_id, new.suspicion, new.kept) == ("p-3", 1 / 3, False)
    assert pd.isna(new.run_id)


def test_bulk_saves_refuse_rows_without_a_key_and_store_none_of_them(store: Store) -> None:
    store.save_review_scores(1, review_scores([("demo-shopify", "r-1", "p-1", 0.25, None, True)]))
    bad = [("demo-shopify", "r-1", "p-9", 0.9, None, False), (None, "r-2", "p-1", 0.1, None, True)]
    with pytest.raises(
        ValueError, match="store and a review_id; 1 rows lack one, first at index 1"
    ):
        store.save_review_scores(2, review_scores(bad))
    scores = store.read_review_scores()
    assert list(zip(scores["review_id"], scores["product_id"], scores["run_id"], strict=True)) == [
        ("r-1", "p-1", 1)
    ]
    rows = sentence_rows([("a" * 40, 0, "Fine.", 0.2), ("b" * 40, 0, None, 0.1)])
    with pytest.raises(ValueError, match="sentence rows need"):
        store.save_review_sentences(rows, "vader-1")
    rows = sentence_rows([("a" * 40, 0, "Fine.", float("nan"))])
    with pytest.raises(ValueError, match="sentence rows need"):
        store.save_review_sentences(rows, "vader-1")
    assert store.read_review_sentences("vader-1").empty
