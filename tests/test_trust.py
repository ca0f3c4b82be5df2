"""Tests of the review trust stage: planted problems fail, clean products pass, real labels."""

from __future__ import annotations

import importlib.util
import math
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.trust.features import FEATURES, behaviour_features
from pipelines.trust.judge import judge_reviews, prepare_reviews
from pipelines.trust.metrics import average_precision, roc_auc
from pipelines.trust.model import (
    MODEL_FILE,
    TreeModel,
    fit_summary,
    model_document,
    suspicion_model,
)
from pipelines.trust.stats import welch_p_value

WORDS = [
    "solid",
    "frame",
    "comfortable",
    "padding",
    "easy",
    "setup",
    "sturdy",
    "ankle",
    "locks",
    "smooth",
    "rotation",
    "helped",
    "my",
    "lower",
    "back",
    "after",
    "two",
    "weeks",
    "daily",
    "use",
    "quiet",
    "folding",
    "storage",
    "instructions",
]


def clean_product(product_id: str = "p1", count: int = 60, seed: int = 1) -> pd.DataFrame:
    """Reviews of one product by many distinct regular reviewers, spread over a year."""
    rng = np.random.default_rng(seed)
    texts = [" ".join(rng.choice(WORDS, 14)) for _ in range(count)]
    return pd.DataFrame(
        {
            "review_id": [f"{product_id}-r{i}" for i in range(count)],
            "reviewer_id": [f"u{i % (count // 2)}" for i in range(count)],
            "product_id": product_id,
            "rating": rng.choice([2, 3, 4, 5], count, p=[0.1, 0.2, 0.4, 0.3]).astype(float),
            "date": pd.date_range("2023-01-01", periods=count, freq="6D").strftime("%Y-%m-%d"),
            "verified": True,
            "title": "My review",
            "body": texts,
        }
    )


def card(result, product_id: str = "p1") -> dict[str, dict]:
    return {row["test"]: row for row in result.report_cards[product_id]}


def with_planted(base: pd.DataFrame, count: int, **columns) -> pd.DataFrame:
    """The base reviews plus ``count`` 5-star reviews with the given column values."""
    rng = np.random.default_rng(9)
    planted = pd.DataFrame(
        {
            "review_id": [f"fake{i}" for i in range(count)],
            "reviewer_id": [f"u{i % 30}" for i in range(count)],
            "product_id": "p1",
            "rating": 5.0,
            "date": pd.date_range("2023-02-03", periods=count, freq="5D").strftime("%Y-%m-%d"),
            "verified": True,
            "title": "Five stars",
            "body": [" ".join(rng.choice(WORDS, 14)) for _ in range(count)],
        }
    )
    for name, value in columns.items():
        planted[name] = value
    return pd.concat([base, planted], ignore_index=True)


def test_clean_product_passes_every_test_with_grade_a():
    result = judge_reviews(clean_product())
    statuses = {row["status"] for row in result.report_cards["p1"]}
    assert statuses == {"Pass"}
    product = result.products.iloc[0]
    assert product["trust_grade"] == "A"
    assert product["kept_share"] == 1.0
    assert product["adjusted_rating"] == pytest.approx(product["rating"])
    assert set(card(result)) == {
        "unverified",
        "one_review",
        "burst_day",
        "incentivised",
        "repeated_text",
        "short_five_star",
    }


def test_unverified_five_stars_fail_and_leave_the_adjusted_rating():
    reviews = with_planted(clean_product(), 25, verified=False)
    result = judge_reviews(reviews)
    row = card(result)["unverified"]
    assert row["status"] == "Fail"
    assert row["subset_size"] == 25
    assert row["subset_mean"] == 5.0
    assert row["rest_mean"] == pytest.approx(clean_product()["rating"].mean())
    assert row["p_value"] < 0.01
    assert row["share"] == pytest.approx(25 / 85, abs=1e-4)
    product = result.products.iloc[0]
    assert product["adjusted_rating"] == pytest.approx(clean_product()["rating"].mean())
    assert product["adjusted_rating"] < product["rating"]
    assert product["kept_share"] == pytest.approx(60 / 85)
    assert product["trust_grade"] == "C"
    fakes = result.reviews["review_id"].str.startswith("fake")
    assert result.reviews.loc[fakes, "flags"].str.contains("unverified").all()
    assert not result.reviews.loc[fakes, "kept"].any()
    assert (
        result.reviews.loc[fakes, "suspicion"].mean()
        > result.reviews.loc[~fakes, "suspicion"].mean()
    )


def test_one_review_reviewers_rating_higher_fail():
    reviews = with_planted(clean_product(), 20)
    reviews.loc[reviews["review_id"].str.startswith("fake"), "reviewer_id"] = [
        f"new{i}" for i in range(20)
    ]
    result = judge_reviews(reviews)
    row = card(result)["one_review"]
    assert (row["status"], row["subset_size"]) == ("Fail", 20)
    assert result.products.iloc[0]["kept_share"] == pytest.approx(60 / 80)


def test_burst_day_fails_and_names_the_reviews():
    reviews = with_planted(clean_product(), 15, date="2023-03-15")
    result = judge_reviews(reviews)
    row = card(result)["burst_day"]
    assert row["status"] == "Fail"
    assert row["subset_size"] == 15
    burst = result.reviews["flags"].str.contains("burst_day")
    assert set(result.reviews.loc[burst, "review_id"]) == {f"fake{i}" for i in range(15)}


def test_incentivised_reviews_are_found_and_fail():
    disclosures = [
        "I received this product free in exchange for my honest review. Works well.",
        "Got it at a discount for my unbiased review, and it really helps my back.",
        "I was provided this table at no cost for testing and review purposes.",
    ]
    reviews = with_planted(clean_product(), 12, body=[disclosures[i % 3] for i in range(12)])
    result = judge_reviews(reviews)
    row = card(result)["incentivised"]
    assert (row["status"], row["subset_size"]) == ("Fail", 12)
    flagged = result.reviews.loc[result.reviews["flags"].str.contains("incentivised"), "review_id"]
    assert set(flagged) == {f"fake{i}" for i in range(12)}


def test_near_duplicate_text_across_a_brand_fails():
    base = pd.concat(
        [
            clean_product("p1").assign(brand="Acme"),
            clean_product("p2", seed=2).assign(brand="Acme"),
        ],
        ignore_index=True,
    )
    template = "This inversion table changed my life, my back pain is gone after only {} days"
    fake = with_planted(base, 12, body=[template.format(n) for n in range(3, 15)], brand="Acme")
    fake.loc[fake["review_id"].isin([f"fake{i}" for i in range(6)]), "product_id"] = "p2"
    result = judge_reviews(fake)
    repeated = result.reviews["flags"].str.contains("repeated_text")
    assert set(result.reviews.loc[repeated, "review_id"]) == {f"fake{i}" for i in range(12)}
    assert card(result, "p1")["repeated_text"]["status"] == "Fail"
    assert card(result, "p2")["repeated_text"]["status"] == "Fail"


def test_single_brand_reviewers_and_short_five_stars():
    base = clean_product().assign(brand="Acme")
    other = clean_product("p9", seed=3).assign(brand="Other")
    base_reviewers = base["reviewer_id"].unique()
    other["reviewer_id"] = [base_reviewers[i % len(base_reviewers)] for i in range(len(other))]
    planted = with_planted(base, 20, brand="Acme", body="Love it!")
    planted.loc[planted["review_id"].str.startswith("fake"), "reviewer_id"] = [
        f"fan{i % 10}" for i in range(20)
    ]
    result = judge_reviews(pd.concat([planted, other], ignore_index=True))
    rows = card(result)
    assert rows["single_brand"]["status"] == "Fail"
    assert rows["single_brand"]["subset_size"] == 20
    assert rows["short_five_star"]["status"] == "Fail"
    fakes = result.reviews["review_id"].str.startswith("fake")
    assert result.reviews.loc[fakes, "flags"].str.contains("short_five_star").all()
    assert not result.reviews.loc[~fakes, "flags"].str.contains("short_five_star").any()


def test_deleted_negative_reviews_fail():
    current = clean_product()
    gone = pd.DataFrame(
        {"review_id": [f"old{i}" for i in range(15)], "product_id": "p1", "rating": 1.0}
    )
    previous = pd.concat([current[["review_id", "product_id", "rating"]], gone])
    result = judge_reviews(current, previous=previous)
    row = card(result)["deleted"]
    assert (row["status"], row["subset_size"], row["subset_mean"]) == ("Fail", 15, 1.0)
    assert "deleted" not in result.skipped_tests
    unchanged = judge_reviews(current, previous=current)
    assert card(unchanged)["deleted"]["status"] == "Pass"


def test_empty_frame():
    empty = pd.DataFrame(columns=["review_id", "reviewer_id", "product_id", "rating", "date"])
    result = judge_reviews(empty)
    assert result.reviews.empty and result.products.empty and result.report_cards == {}
    assert {"suspicion", "flags"} <= set(result.reviews.columns)


def test_one_review_is_kept_and_scored():
    one = pd.DataFrame(
        {
            "review_id": ["r1"],
            "reviewer_id": ["u1"],
            "product_id": ["p1"],
            "rating": [4],
            "date": ["2024-05-01"],
        }
    )
    result = judge_reviews(one)
    product = result.products.iloc[0]
    assert (product["adjusted_rating"], product["trust_grade"], product["review_count"]) == (
        4.0,
        "A",
        1,
    )
    assert 0.0 <= result.reviews["suspicion"].iloc[0] <= 1.0
    assert all(row["status"] == "Pass" for row in result.report_cards["p1"])


def test_identical_ratings_do_not_divide_by_zero():
    reviews = clean_product().assign(rating=5.0, verified=[i % 2 == 0 for i in range(60)])
    result = judge_reviews(reviews)
    assert card(result)["unverified"]["p_value"] == 1.0
    assert result.products.iloc[0]["adjusted_rating"] == 5.0
    assert result.reviews["suspicion"].notna().all()


def test_missing_dates_and_author_instead_of_reviewer_id():
    reviews = clean_product().rename(columns={"reviewer_id": "author"})
    reviews["date"] = None
    reviews.loc[:4, "date"] = "not a date"
    result = judge_reviews(reviews)
    assert "burst_day" in result.skipped_tests
    assert "one_review" in card(result)
    assert result.reviews["suspicion"].between(0, 1).all()


def test_missing_optional_columns_disable_their_tests():
    reviews = clean_product()[["review_id", "reviewer_id", "product_id", "rating", "date"]]
    result = judge_reviews(reviews)
    assert set(result.skipped_tests) == {
        "unverified",
        "incentivised",
        "repeated_text",
        "short_five_star",
        "single_brand",
        "deleted",
        "review_gating",
    }
    assert set(card(result)) == {"one_review", "burst_day"}
    with pytest.raises(ValueError, match="rating"):
        judge_reviews(reviews.drop(columns="rating"))


def test_welch_p_value_matches_student_t():
    # scipy.stats.ttest_ind(equal_var=False) on these moments gives p = 0.0214
    assert welch_p_value([4.5], [1.0], [10], [3.5], [1.2], [20])[0] == pytest.approx(
        0.0214, abs=0.002
    )


def test_ranking_metrics_on_a_known_case():
    assert roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
    assert average_precision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(5 / 6)


review_rows = st.lists(
    st.tuples(
        st.sampled_from(["p1", "p2", "p3"]),
        st.sampled_from(["u1", "u2", "u3", "u4", None]),
        st.one_of(st.integers(0, 6).map(float), st.just(math.nan)),
        st.one_of(st.dates().map(str), st.none()),
        st.one_of(st.booleans(), st.none()),
        st.one_of(st.text(max_size=40), st.none()),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(review_rows)
def test_properties_on_any_frame(rows):
    reviews = pd.DataFrame(
        rows, columns=["product_id", "reviewer_id", "rating", "date", "verified", "body"]
    )
    reviews.insert(0, "review_id", [f"r{i}" for i in range(len(rows))])
    result = judge_reviews(reviews)
    assert len(result.reviews) == len(rows)
    assert result.reviews["suspicion"].between(0.0, 1.0).all()
    adjusted = result.products["adjusted_rating"]
    assert (adjusted.isna() | adjusted.between(1.0, 5.0)).all()
    assert result.products["trust_grade"].isin(list("ABCDF")).all()
    for rows_of_card in result.report_cards.values():
        assert {row["status"] for row in rows_of_card} <= {"Pass", "Warn", "Fail"}


def trust_dir() -> Path:
    default = Path(__file__).resolve().parents[1].parent / "shared" / "trust"
    return Path(os.environ.get("BACKRANK_TRUST_DIR", default))


def yelp_scores() -> tuple[np.ndarray, np.ndarray]:
    path = trust_dir() / "yelpchi_even_products.csv"
    if not path.exists():
        pytest.skip(f"labelled reviews not found at {path}")
    table = pd.read_csv(path, dtype={"review_id": str, "reviewer_id": str})
    labels = table.pop("label").to_numpy()
    return labels, judge_reviews(table).reviews["suspicion"].to_numpy()


def test_suspicion_ranks_yelp_filtered_reviews_above_the_simple_baseline():
    labels, scores = yelp_scores()
    # README baselines: sum of four signals 0.70, logistic regression on them 0.73
    assert roc_auc(labels, scores) >= 0.75
    assert average_precision(labels, scores) >= 0.28


def test_suspicion_in_sample_auc_on_yelp():
    # In-sample only: the tree model was fitted on this file. The honest figure is ROC AUC 0.760
    # +- 0.004 cross-validated by product (5 folds x 3 shuffles), printed by
    # `python scripts/tune_trust.py --reviews ../shared/trust/yelpchi_even_products.csv`
    # ("summary" in pipelines/trust/model.json); test_cross_validated_auc_on_yelp checks it.
    labels, scores = yelp_scores()
    assert roc_auc(labels, scores) >= 0.80


def tune_trust():
    """scripts/tune_trust.py as a module (scripts/ is not a package)."""
    path = Path(__file__).resolve().parents[1] / "scripts" / "tune_trust.py"
    spec = importlib.util.spec_from_file_location("tune_trust", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules while the module runs
    sys.modules["tune_trust"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_cross_validated_auc_on_yelp():
    # The honest figure: no product is both fitted and scored. Fewer, faster trees than the
    # shipped model (0.760 +- 0.004 over 3 shuffles with 400 trees); this run gives 0.758, the
    # model before the recency features and the left-out products 0.747 on the same folds.
    path = trust_dir() / "yelpchi_even_products.csv"
    if not path.exists():
        pytest.skip(f"labelled reviews not found at {path}")
    tune = tune_trust()
    table = pd.read_csv(path, dtype={"review_id": str, "reviewer_id": str})
    labels = table.pop("label").to_numpy().astype(float)
    reviews = prepare_reviews(table)
    x = behaviour_features(reviews).to_numpy()
    usable = tune.fitting_rows(reviews["product_id"], labels, 20)
    settings = tune.BoostingSettings(trees=100, rate=0.15)
    scores = tune.cross_validated(x, labels, reviews["product_id"], usable, settings, 5, 0)
    assert roc_auc(labels, scores) >= 0.755


def test_products_with_all_alike_labels_are_left_out_of_fitting_only():
    products = pd.Series(["a"] * 30 + ["b"] * 30 + ["c"] * 5 + ["d"] * 30)
    labels = np.r_[np.zeros(30), np.ones(30), np.zeros(5), np.tile([0.0, 1.0], 15)]
    usable = tune_trust().fitting_rows(products, labels, 20)
    # a and b (30 reviews, all alike) are out; c is too small to judge; d has both labels
    assert usable.tolist() == [False] * 60 + [True] * 35
    folds = tune_trust().product_folds(products, 3, seed=0)
    assert pd.Series(folds).groupby(products).nunique().eq(1).all()
    assert sorted(set(folds)) == [0, 1, 2]


def test_recency_features_count_days_to_the_newest_review():
    reviews = prepare_reviews(
        pd.DataFrame(
            {
                "review_id": ["r1", "r2", "r3", "r4"],
                "reviewer_id": ["u1", "u1", "u2", None],
                "product_id": ["p1", "p2", "p1", "p2"],
                "rating": [5, 4, 3, 2],
                "date": ["2024-01-01", "2024-01-11", "2024-01-04", None],
            }
        )
    )
    features = behaviour_features(reviews)
    assert np.expm1(features["days_to_newest"]).round(6).tolist()[:3] == [10.0, 0.0, 7.0]
    assert np.expm1(features["reviewer_first_to_newest"]).round(6).tolist()[:3] == [10, 10, 7]
    assert np.expm1(features["reviewer_last_to_newest"]).round(6).tolist()[:3] == [0, 0, 7]
    assert np.expm1(features["product_days_to_newest"]).round(6).tolist()[:3] == [3, 0, 0]
    # no date: no age; no reviewer: no reviewer history
    assert features.loc[3, ["days_to_newest", "product_days_to_newest"]].isna().all()
    assert features.loc[3, ["reviewer_first_to_newest", "reviewer_last_to_newest"]].isna().all()


def test_suspicion_ignores_id_values_and_row_order():
    # YelpChi's ids encode the label in their order; renaming ids and shuffling rows must not move
    # any review's score.
    reviews = pd.concat(
        [clean_product("p1"), clean_product("p2", seed=2), with_planted(clean_product("p3"), 10)],
        ignore_index=True,
    )
    reviews.loc[reviews["review_id"].str.startswith("fake"), "product_id"] = "p3"
    scores = judge_reviews(reviews).reviews.set_index("review_id")["suspicion"]
    rng = np.random.default_rng(3)
    names = reviews["reviewer_id"].unique()
    renamed = dict(zip(names, rng.permutation([f"z{i}" for i in range(len(names))])))
    shuffled = reviews.sample(frac=1.0, random_state=5).assign(
        reviewer_id=lambda frame: frame["reviewer_id"].map(renamed)
    )
    shuffled_scores = judge_reviews(shuffled).reviews.set_index("review_id")["suspicion"]
    assert shuffled_scores.reindex(scores.index).to_numpy() == pytest.approx(scores.to_numpy())


def test_behaviour_model_reads_its_splits_and_sends_nan_to_the_recorded_side():
    model = TreeModel.from_rows(("a", "b"), 1, -1.0, (((0,), (2.0,), "R", (0.5, -0.5)),))
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, np.nan], "b": 0.0})
    assert model.log_odds(frame).tolist() == [-0.5, -0.5, -1.5, -1.5]
    with pytest.raises(ValueError, match="b"):
        model.log_odds(frame[["a"]])
    with pytest.raises(ValueError, match="tree 0"):
        TreeModel.from_rows(("a",), 2, 0.0, (((0,), (1.0,), "L", (0.0, 0.0)),))


def model_probe_reviews() -> pd.DataFrame:
    """Eight reviews over two products: repeat, lone and unknown reviewers, a same-day pair,
    an undated and an unrated review (so splits see values on both sides and NaN)."""
    return prepare_reviews(
        pd.DataFrame(
            {
                "review_id": [f"r{i}" for i in range(8)],
                "reviewer_id": ["u1", "u1", "u2", None, "u3", "u3", "u3", "u4"],
                "product_id": ["p1", "p2", "p1", "p2", "p1", "p1", "p2", "p1"],
                "rating": [5, 4, 3, 2, 1, 5, 5, None],
                "date": ["2024-01-01", "2024-01-11", "2024-01-04", None, "2024-01-04",
                         "2024-01-04", "2023-06-01", "2024-01-02"],
            }
        )
    )  # fmt: skip


def test_shipped_model_reads_exactly_the_features_the_code_computes():
    computed = tuple(behaviour_features(model_probe_reviews()).columns)
    assert suspicion_model().features == FEATURES == computed
    assert suspicion_model().feature.max() < len(FEATURES)
    assert fit_summary()["cv_roc_auc"] >= 0.75


def test_shipped_model_predicts_what_the_generated_module_did():
    # log-odds of these rows from pipelines/trust_model_table.py, before the trees became JSON
    before = [-1.705553366, -2.626128106, -2.711023362, -1.588952324,
              -1.726887742, -2.070560822, -2.831658014, -2.916174875]  # fmt: skip
    log_odds = suspicion_model().log_odds(behaviour_features(model_probe_reviews()))
    assert log_odds.tolist() == pytest.approx(before, abs=1e-9)
    nothing_known = pd.DataFrame({name: [np.nan] for name in FEATURES})
    assert suspicion_model().log_odds(nothing_known)[0] == pytest.approx(-2.2027647379, abs=1e-9)


def test_model_file_is_exactly_what_the_trainer_writes():
    # scripts/tune_trust.py --write uses model_document: the shipped file round-trips unchanged
    shipped = (Path(__file__).resolve().parents[1] / "pipelines" / "trust" / MODEL_FILE).read_text()
    assert model_document(suspicion_model(), fit_summary()) == shipped


def test_a_garbled_model_document_is_a_clear_error():
    with pytest.raises(ValueError, match="trees"):
        TreeModel.from_document({"features": ["a"], "depth": 1, "base": 0.0})
    tree = {"feature": [3], "threshold": [1.0], "missing": "L", "leaf": [0.0, 0.0]}
    with pytest.raises(ValueError, match="feature it does not list"):
        TreeModel.from_document({"features": ["a"], "depth": 1, "base": 0.0, "trees": [tree]})


def test_lone_reviewers_with_extreme_ratings_score_above_regulars():
    # the behaviour the Yelp fit learnt, on a store-shaped frame: author names, no review text
    regular = clean_product(count=60).drop(columns=["body", "title", "verified"])
    lone = regular.sample(20, random_state=4).assign(
        review_id=[f"lone{i}" for i in range(20)],
        reviewer_id=[f"once{i}" for i in range(20)],
        rating=[1.0, 5.0] * 10,
    )
    frame = pd.concat([regular, lone], ignore_index=True).rename(columns={"reviewer_id": "author"})
    scored = judge_reviews(frame).reviews
    is_lone = scored["review_id"].str.startswith("lone")
    assert scored.loc[is_lone, "suspicion"].min() > scored.loc[~is_lone, "suspicion"].max()


INCENTIVE_DISCLOSURES = [
    ("en", "I received this product free in exchange for my honest review."),
    ("en", "The seller offered a refund for leaving a five star review."),
    ("en", "They sent me a discount code in return for an honest review."),
    ("de", "Ich habe das Produkt kostenlos zum Testen erhalten."),
    ("de", "Den Artikel habe ich vergünstigt im Austausch für eine ehrliche Bewertung bekommen."),
    ("fr", "J'ai reçu ce produit gratuitement en échange d'un avis honnête."),
    ("fr", "Produit offert par la marque pour le tester."),
    ("es", "Recibí este producto gratis a cambio de mi opinión sincera."),
    ("it", "Ho ricevuto questo prodotto gratuitamente in cambio di una recensione onesta."),
    ("nl", "Ik heb dit product gratis ontvangen in ruil voor een eerlijke review."),
]
ORDINARY_TEXTS = [
    ("en", "My back pain is gone and I feel free again. My physio liked it too."),
    ("en", "I got free shipping and I am writing this review because it works."),
    ("en", "I returned it for a refund. Worst purchase this year."),
    ("de", "Kostenloser Versand, schnelle Lieferung. Meine Bewertung: super."),
    ("fr", "Livraison gratuite. Mon avis : très bon produit."),
    ("es", "Envío rápido y el producto es muy bueno, mi opinión es positiva."),
    ("it", "Spedizione veloce, la mia recensione è positiva."),
    ("nl", "Snelle levering, mijn mening: prima product."),
]


@pytest.mark.parametrize(("language", "text"), INCENTIVE_DISCLOSURES)
def test_incentive_disclosures_are_read_in_each_language(language, text):
    from pipelines.trust.text import incentivised

    assert incentivised(pd.Series([text])).tolist() == [True], language


@pytest.mark.parametrize(("language", "text"), ORDINARY_TEXTS)
def test_ordinary_reviews_mentioning_free_or_reviews_are_not_incentivised(language, text):
    from pipelines.trust.text import incentivised

    assert incentivised(pd.Series([text])).tolist() == [False], language


def multi_store_product(gated: int = 0, seed: int = 3, product_id: str = "p1") -> pd.DataFrame:
    """One product at three stores, 50 reviews each drawn alike (a quarter 1-3 stars); the
    last ``gated`` reviews at store "c" have their low ratings turned into 5 stars."""
    stores = []
    for number, store in enumerate(("a", "b", "c")):
        reviews = clean_product(product_id, count=50, seed=seed * 3 + number).assign(store=store)
        reviews["review_id"] = store + reviews["review_id"]
        reviews["reviewer_id"] = f"{product_id}{store}" + reviews["reviewer_id"]
        stores.append(reviews)
    frame = pd.concat(stores, ignore_index=True)
    if gated:
        at_c = frame.index[frame["store"].eq("c")][-gated:]
        frame.loc[at_c, "rating"] = frame.loc[at_c, "rating"].where(
            frame.loc[at_c, "rating"] >= 4, 5.0
        )
    return frame


def test_a_store_without_low_ratings_fails_review_gating_and_its_reviews_count_less():
    reviews = multi_store_product(gated=50)
    assert not reviews.loc[reviews["store"].eq("c"), "rating"].le(3).any()
    result = judge_reviews(reviews)
    row = card(result)["review_gating"]
    assert row["status"] == "Fail" and row["p_value"] < 0.01
    assert row["subset_size"] == 50 and row["share"] == pytest.approx(1 / 3, abs=1e-4)
    assert row["description"].startswith("reviews hosted by c: 0 of 50 (0%) rate it 1-3 stars")
    assert "at other stores" in row["description"]
    assert row["subset_mean"] > row["rest_mean"]
    gated = result.reviews["flags"].str.contains("review_gating")
    assert set(result.reviews.loc[gated, "store"]) == {"c"} and gated.sum() == 50
    product = result.products.iloc[0]
    assert product["kept_share"] == pytest.approx(100 / 150)
    assert product["adjusted_rating"] < product["rating"]


def test_stores_whose_reviews_are_drawn_alike_seldom_fail_review_gating():
    # the false alarm rate is about fail_p (1%) per product: chance may fail one or two
    products = [multi_store_product(seed=seed, product_id=f"p{seed}") for seed in range(40)]
    result = judge_reviews(pd.concat(products, ignore_index=True))
    statuses = [card(result, f"p{seed}")["review_gating"]["status"] for seed in range(40)]
    assert statuses.count("Fail") <= 2, statuses


def test_a_sole_store_with_no_low_ratings_past_the_expected_volume_fails():
    def sole_store(count: int) -> pd.DataFrame:
        reviews = clean_product(count=count).assign(store="brand-shop")
        return reviews.assign(rating=reviews["rating"].where(reviews["rating"] >= 4, 5.0))

    # none low of 40 is likely enough (0.95^40 = 0.13) at the 5% base rate; none of 100 is not
    assert card(judge_reviews(sole_store(40)))["review_gating"]["status"] == "Pass"
    row = card(judge_reviews(sole_store(100)))["review_gating"]
    assert row["status"] == "Fail"
    assert "would be expected of any product" in row["description"]
    assert row["rest_mean"] is None


def test_review_gating_needs_a_store_and_enough_reviews_at_it():
    assert "review_gating" in judge_reviews(clean_product()).skipped_tests
    few = multi_store_product(gated=50)
    few = few[~few["store"].eq("c") | few["review_id"].str.endswith(("r1", "r2", "r3"))]
    row = card(judge_reviews(few))["review_gating"]  # store c has 3 reviews: too few to test
    assert row["status"] == "Pass" and "hosted by c" not in row["description"]


def test_gating_tails_match_exact_sums():
    from math import comb

    from pipelines.trust.gating import binomial_lower_tail, fisher_lower_tail

    assert binomial_lower_tail(0, 60, 0.05) == pytest.approx(0.95**60)
    exact = sum(comb(60, j) * 0.05**j * 0.95 ** (60 - j) for j in range(3))
    assert binomial_lower_tail(2, 60, 0.05) == pytest.approx(exact)
    # store: 1 low of 30; others: 20 low of 80 (hypergeometric lower tail)
    total = comb(110, 30)
    exact = sum(comb(21, j) * comb(89, 30 - j) for j in range(2)) / total
    assert fisher_lower_tail(1, 30, 20, 80) == pytest.approx(exact)


def test_store_ratings_put_each_store_beside_the_others():
    from backrank.core.settings import TrustConfig
    from pipelines.trust.gating import store_ratings, store_tallies

    reviews = prepare_reviews(multi_store_product(gated=50))
    rows = {row["store"]: row for row in store_ratings(store_tallies(reviews, TrustConfig()))["p1"]}
    assert set(rows) == {"a", "b", "c"}
    assert rows["c"]["low_share"] == 0.0 and rows["c"]["reviews"] == 50
    others = reviews.loc[reviews["store"].ne("c"), "rating"].mean()
    assert rows["c"]["others_rating"] == pytest.approx(others, abs=1e-3)
    assert rows["c"]["rating"] > rows["a"]["rating"]


def test_every_exchange_or_free_cue_holds_an_anchor_word_of_the_first_pass():
    import re

    from pipelines.trust.text import INCENTIVE_CUES, LANGUAGE_ANCHORS

    for language, cues in INCENTIVE_CUES.items():
        for kind in ("exchange", "free"):
            for phrase in cues[kind].split("|"):
                words = set(re.findall(r"\w+", phrase.replace("['’]", "")))
                assert words & LANGUAGE_ANCHORS[language], (language, kind, phrase)


def test_text_shape_chunk_by_chunk_equals_reading_every_text_at_once(monkeypatch):
    from pipelines.trust import text

    rng = np.random.default_rng(4)
    texts = pd.Series(
        [" ".join(rng.choice(WORDS, rng.integers(3, 30))) for _ in range(200)] + [None, ""],
        dtype="string",
    )
    settings_ = {"shingle_words": 3, "bands": 10, "rows": 4, "min_words": 8, "seed": 11}
    monkeypatch.setattr(text, "MINHASH_CHUNK", 10_000)
    whole = text.text_shape(texts, **settings_)
    monkeypatch.setattr(text, "MINHASH_CHUNK", 7)
    chunked = text.text_shape(texts, **settings_)
    assert len(whole.band_hashes) > 100 and whole.band_hashes.shape[1] == 10
    assert chunked.band_hashes.index.equals(whole.band_hashes.index)
    assert (chunked.band_hashes.to_numpy() == whole.band_hashes.to_numpy()).all()
    assert chunked.word_count.equals(whole.word_count)
    lengths = [len(t.split()) if t else 0 for t in texts[:-2]] + [np.nan, 0.0]
    assert whole.word_count.tolist()[:-2] == lengths[:-2]
    assert np.isnan(whole.word_count.iloc[-2]) and whole.word_count.iloc[-1] == 0
    # texts under min_words words get no row (and so are nobody's near duplicate)
    assert set(whole.band_hashes.index) == {i for i, n in enumerate(lengths) if n >= 8}


def test_a_review_id_is_a_review_only_within_its_store():
    """Two stores may number their reviews alike: the deleted-reviews test keys each review by
    (store, review_id), so a review gone from one store is gone even when the other store
    still has a review with its id."""
    from pipelines.trust.products import store_review_keys

    reviews = pd.DataFrame({"store": ["a", "b", "a"], "review_id": ["1", "1", "2"]})
    keys = store_review_keys(reviews)
    assert keys.dtype == "uint64" and keys.nunique() == 3
    again = store_review_keys(reviews.iloc[[2, 1, 0]].reset_index(drop=True))
    assert list(again) == list(keys.iloc[[2, 1, 0]])  # a review's key is its own, not its row's
    previous = reviews.assign(review_id=keys)
    current = reviews.iloc[1:].assign(review_id=keys.iloc[1:])
    from pipelines.trust.judge import deleted_reviews

    gone = deleted_reviews(current.assign(product_id="p"), previous.assign(product_id="p"))
    assert len(gone) == 1  # store a's review 1, though store b still has a review 1
