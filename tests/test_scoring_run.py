"""The whole scoring stage on a small store: every product column, incremental rescoring, export, CLI."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from helpers import CATEGORIES_TOML, SITE_TOML, load_catalog_text

from backrank.app.cli import main
from backrank.app.export import read_table, write_frame
from backrank.core.config import CatalogError
from backrank.core.store import Store
from pipelines.rescore import current_reviews, live_offers, score_store
from pipelines.run import PRODUCT_COLUMNS, SchemaError, score
from spiders.items import Listing, Review

NOW = datetime(2024, 7, 1, 12, tzinfo=UTC)
CATALOG = (
    "\n"
    + SITE_TOML
    + """
[[stores]]
name = "shop-a"
platform = "shopify"
start_urls = ["http://127.0.0.1:9/"]

[[stores]]
name = "shop-b"
platform = "woocommerce"
start_urls = ["http://127.0.0.1:9/"]

[[categories]]
name = "Heavy-duty inversion tables"
slug = "heavy-duty-inversion-tables"
keywords = ["inversion table"]
min_max_user_weight_lb = 300
"""
    + CATEGORIES_TOML
    + """
[scoring]
prior_strength = 5
"""
)

PRAISE = [
    "Very sturdy frame, no wobble at all.",
    "Assembly was easy and took twenty minutes.",
    "My lower back pain is gone after two weeks.",
    "Sturdy and well built, I love it.",
]
COMPLAINTS = ["The frame is flimsy and wobbly.", "Terrible, it squeaks and wobbles."]


def listing(store: str, slug: str, **fields) -> dict:
    base = Listing(
        store=store,
        url=f"http://{store}.test/products/{slug}",
        platform="shopify",
        currency="USD",
        availability="in_stock",
        fetched_at="2024-07-01T10:00:00+00:00",
    )
    return asdict(base) | fields


def review(store: str, slug: str, number: int, rating: float, body: str, **fields) -> dict:
    base = Review(
        store=store,
        url=f"http://{store}.test/products/{slug}",
        review_id=f"{slug}-{number}",
        author=f"{slug} reviewer {number}",
        rating=rating,
        title="Review",
        body=body,
        date=f"2024-0{1 + number % 6}-{10 + number % 15:02d}",
        verified=True,
        helpful_votes=number % 4,
    )
    return asdict(base) | fields


def fill(store: Store) -> int:
    """Two stores: one inversion table sold by both, one by shop-a, a stretcher by shop-b."""
    run = store.start_run("catalog.toml")
    store.save_listings(
        run,
        [
            listing("shop-a", "teeter-x3", title="Teeter X3 Inversion Table, 300 lb capacity",
                    brand="Teeter", gtin="0012345678905", price=Decimal("399.99"),
                    rating=4.6, review_count=120),
            listing("shop-b", "teeter-x3-table", title="Teeter X3 Inversion Table",
                    brand="Teeter", gtin="0012345678905", price=Decimal("379.00"),
                    rating=4.4, review_count=40),
            listing("shop-a", "ironman-gravity", title="Ironman Gravity 1000 Inversion Table",
                    brand="Ironman", mpn="IM-1000", price=Decimal("189.50"), rating=3.9,
                    review_count=30),
            listing("shop-b", "stretcher", title="Lumbar Back Stretcher Arch", brand="Chirp",
                    price=Decimal("29.99"), rating=4.1, review_count=12,
                    availability="out_of_stock"),
        ],
    )  # fmt: skip
    reviews = [review("shop-a", "teeter-x3", n, 5.0, PRAISE[n % 4]) for n in range(12)]
    reviews += [review("shop-b", "teeter-x3-table", n, 4.0, PRAISE[n % 4]) for n in range(6)]
    reviews += [review("shop-a", "ironman-gravity", n, 2.0, COMPLAINTS[n % 2]) for n in range(5)]
    reviews += [review("shop-a", "ironman-gravity", 9, 4.0, "Solid and sturdy for the price.")]
    store.save_reviews(run, reviews)
    store.finish_run(run, "ok", {})
    return run


@pytest.fixture
def catalog(tmp_path: Path):
    return load_catalog_text(tmp_path, CATALOG)


@pytest.fixture
def store(tmp_path: Path):
    with Store.open(tmp_path / "backrank.db") as opened:
        fill(opened)
        yield opened


def by_id(products: pd.DataFrame) -> pd.DataFrame:
    return products.set_index("product_id")


def test_products_have_every_design_column_with_real_values(store: Store, catalog) -> None:
    result = score_store(store, catalog, now=NOW)
    saved = by_id(store.read_products())
    assert set(PRODUCT_COLUMNS) <= set(saved.columns) | {"product_id"}
    # the two Teeter listings share a GTIN: one product, named by it
    teeter = saved.loc["gtin-0012345678905"]
    assert teeter["listings"] == 2
    assert teeter["best_price"] == Decimal("379.00") and teeter["best_store"] == "shop-b"
    assert teeter["specs"]["max_user_weight_lb"]["value"] == 300
    assert teeter["subcategory"] == "heavy-duty-inversion-tables"
    assert teeter["rating_histogram"] == {"1": 0, "2": 0, "3": 0, "4": 6, "5": 12}
    assert teeter["trust_grade"] in {"A", "B", "C", "D", "F"}
    assert {entry["test"] for entry in teeter["report_card"]} >= {"unverified", "burst_day"}
    assert [pro["aspect"] for pro in teeter["pros"]] == ["build_quality", "assembly", "pain_relief"]
    assert teeter["cons"] == []
    assert all(q["store"] in {"shop-a", "shop-b"} for p in teeter["pros"] for q in p["quotes"])
    total = sum(part["contribution"] for part in teeter["score_breakdown"])
    assert total == pytest.approx(teeter["composite_score"])
    assert 0 <= teeter["composite_score"] <= 10 and 0 <= teeter["wilson_lower"] <= 1
    assert {entry["store"] for entry in teeter["price_summary"]} == {"shop-a", "shop-b"}
    # the Ironman table has no stated capacity: not heavy-duty; its complaints become cons
    ironman = saved.loc["mpn-ironman-im1000"]
    assert ironman["subcategory"] == "inversion-tables"
    assert [(con["aspect"], con["count"]) for con in ironman["cons"]] == [("build_quality", 5)]
    assert ironman["composite_score"] < teeter["composite_score"]
    # a product nobody reviewed here still gets every column, unknowns as None, never 0
    stretcher = saved[saved["subcategory"] == "back-stretchers"].iloc[0]
    assert stretcher["trust_grade"] is None and stretcher["rating_histogram"] is None
    assert stretcher["best_price"] is None and not stretcher["badges"]
    # run-level figures and per-review scores reach the store
    summary = store.read_scoring_summary()
    assert summary["weights"] == pytest.approx(result.summary["weights"])
    assert summary["sensitivity"]["top_n"] == 5
    assert summary["counts"]["products"] == 3
    scores = store.read_review_scores()
    assert len(scores) == 24 and scores["suspicion"].between(0, 1).all()


def test_rescoring_unchanged_store_recomputes_nothing_and_changes_nothing(
    store: Store, catalog
) -> None:
    first = score_store(store, catalog, now=NOW)
    assert first.summary["counts"]["products_rescored"] == 3
    assert first.summary["counts"]["sentences_computed"] > 0
    saved_first = store.read_products()
    second = score_store(store, catalog, now=NOW)
    counts = second.summary["counts"]
    assert counts["products_rescored"] == 0 and counts["products_reused"] == 3
    assert counts["reviews_rescored"] == 0 and counts["sentences_computed"] == 0
    pd.testing.assert_frame_equal(second.products, first.products)
    pd.testing.assert_frame_equal(store.read_products(), saved_first)


def test_one_new_review_rescores_only_its_product(store: Store, catalog) -> None:
    score_store(store, catalog, now=NOW)
    before = by_id(store.read_products())
    run = store.start_run("catalog.toml")
    store.save_reviews(run, [review("shop-a", "ironman-gravity", 20, 1.0, "Flimsy, it wobbles.")])
    result = score_store(store, catalog, now=NOW)
    counts = result.summary["counts"]
    assert counts["products_rescored"] == 1 and counts["products_reused"] == 2
    assert set(result.reviews["product_id"]) == {"mpn-ironman-im1000"}
    assert counts["sentences_computed"] == 2  # only the new review: its title and body
    after = by_id(store.read_products())
    assert after.loc["mpn-ironman-im1000", "rating_histogram"]["1"] == 1
    teeter = "gtin-0012345678905"
    for column in ("report_card", "pros", "cons", "specs", "trust_grade"):
        assert after.loc[teeter, column] == before.loc[teeter, column], column


def test_unchanged_listings_keep_their_product_and_a_new_listing_joins_one(
    store: Store, catalog
) -> None:
    first = score_store(store, catalog, now=NOW)
    assert first.summary["counts"]["listings_matched"] == 4
    again = score_store(store, catalog, now=NOW)
    assert again.summary["counts"]["listings_matched"] == 0  # nothing new: nothing matched
    pd.testing.assert_frame_equal(again.product_listings, first.product_listings)

    run = store.start_run("catalog.toml")
    store.save_listings(run, [
        listing("shop-b", "ironman-1000", title="Ironman Gravity 1000 Inversion Table",
                brand="Ironman", mpn="IM-1000", price=Decimal("179.00")),
        listing("shop-a", "teeter-x3", title="Teeter X3 Inversion Table, 300 lb capacity",
                brand="Teeter", gtin="0012345678905", price=Decimal("349.99")),  # price only
    ])  # fmt: skip
    incremental = score_store(store, catalog, now=NOW)
    # only the new listing and the products it could join were matched again
    assert 0 < incremental.summary["counts"]["listings_matched"] < 5
    full = score_store(store, catalog, now=NOW, full=True)
    assert full.summary["counts"]["listings_matched"] == 5
    pd.testing.assert_frame_equal(incremental.product_listings, full.product_listings)
    ironman = by_id(incremental.products).loc["mpn-ironman-im1000"]
    assert ironman["listings"] == 2 and ironman["best_store"] == "shop-b"
    assert sorted(incremental.products["product_id"]) == sorted(first.products["product_id"])


def test_rescoring_after_a_setting_changes_rescores_everything(
    store: Store, catalog, tmp_path: Path
) -> None:
    score_store(store, catalog, now=NOW)
    changed = load_catalog_text(tmp_path, CATALOG + "\n[scoring.trust]\nwarn_p = 0.04\n")
    result = score_store(store, changed, now=NOW)
    assert result.summary["counts"]["products_rescored"] == 3


def test_a_review_gone_from_a_recrawled_page_is_not_current(store: Store) -> None:
    run = store.start_run("catalog.toml")
    kept = review("shop-a", "ironman-gravity", 0, 2.0, COMPLAINTS[0])
    store.save_listings(run, [listing("shop-a", "ironman-gravity", title="Ironman Gravity 1000 Inversion Table", mpn="IM-1000", brand="Ironman")])  # fmt: skip
    store.save_reviews(run, [kept])
    current = current_reviews(store.read_offers(), store.read_reviews())
    ironman = current[current["url"].str.contains("ironman")]
    assert list(ironman["review_id"]) == ["ironman-gravity-0"]
    # listings not crawled again keep all their reviews
    assert (current["url"].str.contains("teeter")).sum() == 18


def test_gone_listings_build_no_products(store: Store, catalog) -> None:
    # A later complete crawl in which shop-b listed neither product: refresh health marks its
    # listings gone after [crawl] gone_after_misses misses (here one); they are kept.
    run = store.start_run(None)
    health = {
        "store": "shop-b",
        "status": "ok",
        "product_pages": 3,
        "listings": 0,
        "with_price": 0,
        "price_share": None,
        "baseline_run": None,
        "baseline_share": None,
    }
    store.save_run_store(run, health, gone_after_misses=1)  # fmt: skip
    assert store.read_offers()["gone"].sum() == 2
    result = score_store(store, catalog, now=NOW)
    products = by_id(store.read_products())
    assert sorted(products.index) == ["gtin-0012345678905", "mpn-ironman-im1000"]
    teeter = products.loc["gtin-0012345678905"]
    # shop-b delisted the Teeter: its cheaper price and its six reviews are gone with it
    assert teeter["listings"] == 1 and teeter["best_store"] == "shop-a"
    assert teeter["best_price"] == Decimal("399.99")
    assert [entry["store"] for entry in teeter["price_summary"]] == ["shop-a"]
    assert sum(teeter["rating_histogram"].values()) == 12
    live = set(store.read_offers().query("not gone")["listing_id"])
    assert set(result.product_listings["listing_id"]) == live


def test_live_offers_keep_listings_without_a_gone_flag() -> None:
    offers = pd.DataFrame({"listing_id": [1, 2, 3], "gone": pd.array([False, None, True],
                                                                    dtype="boolean")})  # fmt: skip
    assert live_offers(offers)["listing_id"].tolist() == [1, 2]
    assert live_offers(offers.drop(columns="gone"))["listing_id"].tolist() == [1, 2, 3]


def test_score_names_missing_columns(store: Store, catalog) -> None:
    offers = store.read_offers().drop(columns=["title", "gtin"])
    with pytest.raises(SchemaError, match="offers frame is missing columns: title, gtin"):
        score(offers, store.read_reviews(), categories=catalog.categories, now=NOW)


def test_old_callers_unpack_products_and_listings(store: Store, catalog) -> None:
    products, product_listings = score(
        store.read_offers(),
        store.read_reviews(),
        categories=catalog.categories,
        prior_strength=catalog.scoring.prior_strength,
    )
    assert len(products) == 3 and len(product_listings) == 4


# What a products export leads with, as a user reads it in the CSV header.
EXPORT_PRODUCT_COLUMNS = [
    "product_id", "name", "brand", "subcategory", "listings", "best_price", "best_store",
    "adjusted_rating", "trust_grade", "composite_score", "badges",
]  # fmt: skip


def test_export_products_and_reviews_columns(store: Store, catalog) -> None:
    score_store(store, catalog, now=NOW)
    products = read_table(store, "products")
    assert list(products.columns[: len(EXPORT_PRODUCT_COLUMNS)]) == EXPORT_PRODUCT_COLUMNS
    stream = io.StringIO()
    write_frame(products, "csv", stream)
    rows = list(csv.DictReader(io.StringIO(stream.getvalue())))
    teeter = next(r for r in rows if r["product_id"] == "gtin-0012345678905")
    assert teeter["best_price"] == "379.00"
    assert isinstance(json.loads(teeter["badges"]), list)
    assert json.loads(teeter["specs"])["max_user_weight_lb"]["value"] == 300
    reviews = read_table(store, "reviews")
    assert list(reviews.columns[:13]) == [
        "store", "url", "review_id", "author", "rating", "title", "body", "date", "verified",
        "helpful_votes", "suspicion", "flags", "listing_id",
    ]  # fmt: skip
    offers = read_table(store, "offers")
    assert list(offers.columns[:17]) == [
        "store", "url", "canonical_url", "title", "brand", "price", "currency", "availability",
        "rating", "review_count", "gtin", "mpn", "sku", "asin", "fetched_at", "listing_id",
        "category",
    ]  # fmt: skip
    assert reviews["suspicion"].notna().all()


def test_cli_score_then_export(store: Store, catalog, tmp_path: Path, capsys) -> None:
    db, catalog = store.path, str(catalog.path)
    assert main(["score", "--catalog", catalog, "--db", db, "--quiet"]) == 0
    assert "4 listings -> 3 products" in capsys.readouterr().out
    out = tmp_path / "products.csv"
    assert main(["export", "products", "--catalog", catalog, "--db", db, "--output", str(out)]) == 0
    header = out.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header[: len(EXPORT_PRODUCT_COLUMNS)] == EXPORT_PRODUCT_COLUMNS
    assert main(["score", "--catalog", catalog, "--db", db, "--quiet"]) == 0
    assert "0 rescored, 3 unchanged" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("table", "line", "message"),
    [
        ("[scoring.trust]\nwarnp = 0.05\n", 2,
         "scoring.trust.warnp: unknown key (did you mean warn_p?)"),
        ("[scoring.weights]\nrating = 1\nprice = 2\n", 3,
         "scoring.weights.price: unknown weight (known: rating, wilson, value, volume, trust)"),
        ("[scoring.badges]\nmin_contenders = 0\n", 2,
         "scoring.badges.min_contenders: must be at least 1 (got 0)"),
        # a multi-line array is one value: its rows are not mistaken for table headers
        ('[scoring.trust]\ngrade_bounds = [\n  ["A", 0.9],\n  ["B", 0.95],\n]\nwarn_p = "x"\n', 2,
         "scoring.trust.grade_bounds: must go from the best grade down, shares falling"),
        ('[scoring.trust]\ngrade_bounds = [\n  ["A", 0.9],\n]\nwarn_p = "x"\n', 5,
         "scoring.trust.warn_p: must be a number (got a string)"),
        ("[scoring.matching]\n\nthreshold = true\n", 3,
         "scoring.matching.threshold: must be a number (got a boolean)"),
        ("[scoring.trust]\nfail_p = 0.2\n", 2, "scoring.trust.fail_p: need 0 < fail_p <= warn_p < 1"),
        ('[scoring.aspects]\nnoise = "loud"\n', 2,
         "scoring.aspects.noise: must be a list of keywords or a table (got a string)"),
        ("[scoring.prices]\ngood_within = -0.1\n", 2,
         "scoring.prices.good_within: must not be negative (got -0.1)"),
        ("[scoring.subcategory_specs.nope]\nmin_warranty_years = 1\n", 1,
         "scoring.subcategory_specs.nope: no category has this slug"),
    ],
)  # fmt: skip
def test_bad_scoring_tables_are_catalog_errors_with_a_line(
    tmp_path: Path, table: str, line: int, message: str
) -> None:
    offset = CATALOG.count("\n")
    with pytest.raises(CatalogError) as error:
        load_catalog_text(tmp_path, CATALOG + table)
    assert str(error.value) == f"catalog.toml:{offset + line}: {message}"


def test_category_spec_bounds_load(catalog) -> None:
    heavy = catalog.categories[0]
    assert heavy.minimums == {"max_user_weight_lb": 300.0} and heavy.maximums == {}


def test_sentiment_over_worker_processes_matches_in_process(
    store: Store, catalog, monkeypatch
) -> None:
    offers, reviews = store.read_offers(), store.read_reviews()
    serial = score(offers, reviews, categories=catalog.categories, now=NOW, workers=1)
    monkeypatch.setattr("pipelines.sentiment.PARALLEL_SENTIMENT_MIN", 1)
    monkeypatch.setattr("pipelines.sentiment.SENTIMENT_CHUNK", 5)
    parallel = score(offers, reviews, categories=catalog.categories, now=NOW, workers=2)
    columns = ["review_key", "sentence_index", "sentence", "compound"]
    pd.testing.assert_frame_equal(
        parallel.new_sentence_cache_rows[columns].sort_values(columns[:2]).reset_index(drop=True),
        serial.new_sentence_cache_rows[columns].sort_values(columns[:2]).reset_index(drop=True),
    )
    pd.testing.assert_series_equal(parallel.products["pros"], serial.products["pros"])


def test_export_into_a_closed_pipe_exits_quietly(tmp_path: Path) -> None:
    """`backrank export reviews | head -1`: no traceback when the reader stops early."""
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(CATALOG, encoding="utf-8")
    db = tmp_path / "backrank.db"
    with Store.open(db) as store:
        run_id = store.start_run(str(catalog))
        store.save_listings(run_id, [listing("shop-a", "table", title="Inversion table")])
        store.save_reviews(
            run_id, [review("shop-a", "table", n, 5.0, PRAISE[n % 4]) for n in range(5000)]
        )
    command = [sys.executable, "-m", "backrank.app.cli", "export", "reviews"]
    command += ["--catalog", str(catalog), "--db", str(db)]
    export = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert export.stdout.readline().startswith(b"store,url,review_id")
    export.stdout.close()
    _, stderr = export.communicate(timeout=60)
    assert b"Traceback" not in stderr, stderr.decode()
    assert export.returncode in (0, 141)
