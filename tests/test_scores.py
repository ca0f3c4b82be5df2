"""Scores, badges and weight sensitivity: Wilson bounds, value, composite, who gets a badge."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backrank.core.settings import COMPOSITE_WEIGHTS as DEFAULT_WEIGHTS
from backrank.core.settings import scoring_config
from pipelines.badges import BadgeRules, assign_badges, cheapest_third
from pipelines.scores import (
    composite_score,
    rank_by_composite,
    rating_histogram,
    score_products,
    value_score,
    wilson_lower_bound,
)
from pipelines.sensitivity import kendall_tau_b, weight_sensitivity


def scoring_weights(scoring: dict) -> dict[str, float]:
    """The composite weights the scorer uses for a [scoring] table."""
    return scoring_config(scoring).weights


WEIGHTS = scoring_weights({})


def product(product_id: str, **fields: object) -> dict[str, object]:
    row: dict[str, object] = {
        "product_id": product_id,
        "name": product_id.title(),
        "subcategory": "inversion-tables",
        "best_price": Decimal("200.00"),
        "currency": "USD",
        "in_stock": True,
        "rating": 4.5,
        "adjusted_rating": 4.5,
        "review_count": 100,
    }
    row.update(fields)
    return row


def frame(*rows: dict[str, object]) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def reviews_for(product_id: str, stars: dict[int, int]) -> list[dict[str, object]]:
    return [
        {"product_id": product_id, "rating": float(s)} for s, n in stars.items() for _ in range(n)
    ]


def breakdown(row: pd.Series) -> dict[str, dict]:
    return {entry["component"]: entry for entry in row["score_breakdown"]}


# --- Wilson lower bound ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("positive", "total", "z", "expected"),
    [
        (8, 10, 1.96, 0.4902),  # hand computed: (0.8 + 0.19208 - 0.31362) / 1.38416
        (80, 100, 1.96, 0.7112),
        (10, 10, 1.96, 0.7225),  # perfect on ten reviews is still far from certain
        (1, 1, 1.96, 0.2065),
        (0, 10, 1.96, 0.0),
        (8, 10, 1.645, 0.5408),
    ],
)
def test_wilson_lower_bound_hand_values(positive, total, z, expected) -> None:
    assert wilson_lower_bound(positive, total, z) == pytest.approx(expected, abs=5e-5)


def test_wilson_is_vectorised_and_nan_without_reviews() -> None:
    positive = pd.Series([8, 0, 80], index=["a", "b", "c"])
    total = pd.Series([10, 0, 100], index=["a", "b", "c"])
    bound = wilson_lower_bound(positive, total)
    assert list(bound.index) == ["a", "b", "c"]
    assert bound["a"] == pytest.approx(0.4902, abs=5e-5) and math.isnan(bound["b"])
    # more evidence for the same share ranks higher
    assert bound["c"] > bound["a"]
    assert np.allclose(
        wilson_lower_bound(np.array([8, 80]), np.array([10, 100])), [bound["a"], bound["c"]]
    )


def test_rating_histogram_counts_stars_and_skips_unrated() -> None:
    reviews = pd.DataFrame(
        reviews_for("a", {5: 3, 4: 1, 1: 2}) + [{"product_id": "a", "rating": None},
                                                 {"product_id": "b", "rating": None},
                                                 {"product_id": "c", "rating": 4.5}]
    )  # fmt: skip
    histograms = rating_histogram(reviews).set_index("product_id")
    assert histograms.loc["a", "rating_histogram"] == {"1": 2, "2": 0, "3": 0, "4": 1, "5": 3}
    assert (histograms.loc["a", "positive"], histograms.loc["a", "total"]) == (4, 6)
    assert histograms.loc["c", "rating_histogram"]["5"] == 1  # 4.5 rounds up
    assert "b" not in histograms.index  # no rated review: no histogram, not zeros
    assert rating_histogram(pd.DataFrame({"product_id": [], "rating": []})).empty


# --- weights ------------------------------------------------------------------------------


def test_weights_default_and_normalise() -> None:
    assert WEIGHTS == pytest.approx(DEFAULT_WEIGHTS)
    assert sum(WEIGHTS.values()) == pytest.approx(1.0)
    custom = scoring_weights(
        {
            "prior_strength": 10,
            "weights": {"rating": 2, "wilson": 1, "value": 1, "volume": 0, "trust": 0},
        }
    )
    assert custom == pytest.approx(
        {"rating": 0.5, "wilson": 0.25, "value": 0.25, "volume": 0.0, "trust": 0.0}
    )


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"ratnig": 0.3}, r"^scoring\.weights\.ratnig: unknown weight \(known: rating, "),
        ({"rating": -1}, r"^scoring\.weights\.rating: must not be negative \(got -1\)"),
        ({"rating": "high"}, r"^scoring\.weights\.rating: must be a number \(got a string\)"),
        (dict.fromkeys(DEFAULT_WEIGHTS, 0), r"^scoring\.weights: at least one weight"),
    ],
)
def test_bad_weights_are_refused(table, message) -> None:
    with pytest.raises(ValueError, match=message):
        scoring_weights({"weights": table})


# --- value and composite --------------------------------------------------------------------


def test_value_prefers_cheaper_at_equal_quality_and_better_at_equal_price() -> None:
    products = frame(
        product("cheap", best_price=Decimal("100.00")),
        product("dear", best_price=Decimal("400.00")),
        product("mid", best_price=Decimal("200.00")),
        product("mid-worse", best_price=Decimal("200.00"), adjusted_rating=3.5),
        product("unpriced", best_price=None, currency=None),
        product("unrated", adjusted_rating=math.nan, rating=math.nan),
    )
    value = value_score(products).set_index("product_id")["value_score"]
    assert value["cheap"] > value["mid"] > value["dear"]
    assert value["mid"] > value["mid-worse"]
    assert math.isnan(value["unpriced"]) and math.isnan(value["unrated"])  # never 0 for unknown
    assert value.dropna().between(0, 10).all()
    # a lone product sits at its own median: half-way price factor
    alone = value_score(frame(product("x", adjusted_rating=5.0)))
    assert alone["value_score"].iloc[0] == pytest.approx(7.5)


def test_value_compares_within_subcategory_only() -> None:
    products = frame(
        product("table", best_price=Decimal("300.00")),
        product("stretcher", subcategory="back-stretchers", best_price=Decimal("30.00")),
    )
    value = value_score(products)["value_score"]
    assert value.iloc[0] == pytest.approx(value.iloc[1])  # each is its subcategory's median


def test_composite_with_every_component_is_the_weighted_sum() -> None:
    products = frame(
        product("a", trust_grade="A", trust_adjusted_rating=4.0, adjusted_rating=4.8),
        product("b", trust_grade="C", review_count=10, best_price=Decimal("100.00")),
    )
    reviews = pd.DataFrame(reviews_for("a", {5: 8, 2: 2}) + reviews_for("b", {5: 5, 3: 5}))
    scored = score_products(products, rating_histogram(reviews), WEIGHTS).set_index("product_id")
    a = breakdown(scored.loc["a"])
    assert a["rating"]["value"] == pytest.approx(8.0)  # trust-adjusted 4.0 wins over 4.8
    assert a["wilson"]["value"] == pytest.approx(4.902, abs=5e-4)
    assert a["trust"]["value"] == 10.0 and breakdown(scored.loc["b"])["trust"]["value"] == 5.0
    assert a["volume"]["value"] == pytest.approx(10.0)  # the subcategory's most reviewed
    for entry in a.values():
        assert entry["weight"] == pytest.approx(WEIGHTS[entry["component"]])
        assert not entry["missing"]
    total = sum(entry["contribution"] for entry in a.values())
    assert scored.loc["a", "composite_score"] == pytest.approx(total)
    assert scored.loc["a", "rating_histogram"] == {"1": 0, "2": 2, "3": 0, "4": 0, "5": 8}


def test_missing_components_share_their_weight_and_say_so() -> None:
    # no stored reviews, no trust grade, no price: only rating and volume remain
    products = frame(product("a", best_price=None, currency=None, review_count=50))
    scored = score_products(
        products, rating_histogram(pd.DataFrame(columns=["product_id", "rating"])), WEIGHTS
    )
    row = scored.iloc[0]
    parts = breakdown(row)
    assert {k for k, e in parts.items() if e["missing"]} == {"wilson", "value", "trust"}
    assert all(
        parts[k]["value"] is None and parts[k]["weight"] == 0 for k in ("wilson", "value", "trust")
    )
    rating_share = 0.35 / (0.35 + 0.1)
    assert parts["rating"]["weight"] == pytest.approx(rating_share)
    assert parts["rating"]["configured_weight"] == pytest.approx(0.35)
    assert row["composite_score"] == pytest.approx(rating_share * 9.0 + (1 - rating_share) * 10.0)
    assert row["rating_histogram"] is None and math.isnan(row["wilson_lower"])


def test_no_component_at_all_gives_no_composite() -> None:
    products = frame(
        product(
            "a",
            adjusted_rating=math.nan,
            rating=math.nan,
            review_count=None,
            best_price=None,
            currency=None,
        )
    )
    scored = composite_score(value_score(products), WEIGHTS)
    assert math.isnan(scored["composite_score"].iloc[0])  # unknown, never 0
    assert all(e["missing"] and e["contribution"] == 0 for e in scored["score_breakdown"].iloc[0])


def test_identical_products_score_alike_and_rank_deterministically() -> None:
    products = frame(*(product(pid) for pid in ("c", "a", "b")))
    scored = rank_by_composite(
        score_products(
            products,
            rating_histogram(
                pd.DataFrame(
                    reviews_for("a", {5: 3}) + reviews_for("b", {5: 3}) + reviews_for("c", {5: 3})
                )
            ),
            WEIGHTS,
        )
    )
    assert scored["composite_score"].nunique() == 1
    assert dict(zip(scored["product_id"], scored["rank"], strict=True)) == {"a": 1, "b": 2, "c": 3}


def test_empty_products_score_to_empty() -> None:
    empty = frame(product("a")).iloc[0:0]
    scored = score_products(
        empty, rating_histogram(pd.DataFrame(columns=["product_id", "rating"])), WEIGHTS
    )
    assert scored.empty and {
        "composite_score",
        "score_breakdown",
        "value_score",
        "wilson_lower",
    } <= set(scored)


components = st.one_of(st.none(), st.floats(min_value=0, max_value=5, allow_nan=False))


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            components,
            st.one_of(st.none(), st.integers(0, 10**6)),
            st.one_of(st.none(), st.decimals(min_value=Decimal("0.01"), max_value=10**5, places=2)),
            st.one_of(st.none(), st.sampled_from(["A", "B", "C", "D", "F"])),
            st.one_of(st.none(), st.tuples(st.integers(0, 50), st.integers(0, 50))),
        ),
        min_size=1,
        max_size=8,
    ),
    raw_weights=st.fixed_dictionaries({k: st.floats(0, 10) for k in DEFAULT_WEIGHTS}).filter(
        lambda w: sum(w.values()) > 0
    ),
)
def test_composite_always_between_0_and_10(rows, raw_weights) -> None:
    products = frame(
        *(
            product(f"p{i}", adjusted_rating=math.nan if r is None else r, review_count=n,
                    best_price=price, currency=None if price is None else "USD", trust_grade=grade)
            for i, (r, n, price, grade, _) in enumerate(rows)
        )
    )  # fmt: skip
    histograms = pd.DataFrame(
        [
            {"product_id": f"p{i}", "rating_histogram": {}, "positive": min(p, t), "total": t}
            for i, (*_, counts) in enumerate(rows)
            if counts is not None
            for p, t in [counts]
        ],
        columns=["product_id", "rating_histogram", "positive", "total"],
    )
    scored = score_products(products, histograms, scoring_weights({"weights": raw_weights}))
    composite = scored["composite_score"].dropna()
    assert composite.between(0, 10).all()
    for score, parts in zip(scored["composite_score"], scored["score_breakdown"], strict=True):
        if not math.isnan(score):
            assert sum(p["contribution"] for p in parts) == pytest.approx(score)
            assert sum(p["weight"] for p in parts) == pytest.approx(1.0)
    assert scored["value_score"].dropna().between(0, 10).all()


# --- badges ---------------------------------------------------------------------------------


def scored_catalog(mid_grade: str = "A", mid_reviews: int = 100) -> pd.DataFrame:
    products = frame(
        product("top", best_price=Decimal("120.00"), adjusted_rating=4.9, review_count=900, trust_grade="A"),
        product("budget", best_price=Decimal("82.00"), adjusted_rating=4.4, review_count=300, trust_grade="A"),
        product("cheap-dud", best_price=Decimal("80.00"), adjusted_rating=3.0, review_count=200, trust_grade="A"),
        product("mid", best_price=Decimal("200.00"), adjusted_rating=4.3, review_count=mid_reviews,
                trust_grade=mid_grade),
        product("out", best_price=Decimal("95.00"), adjusted_rating=5.0, review_count=5000, in_stock=False),
        product("few", best_price=Decimal("85.00"), adjusted_rating=5.0, review_count=3, trust_grade="A"),
        product("unpriced", best_price=None, currency=None, adjusted_rating=5.0, review_count=5000),
        product("bar", subcategory="hanging-bars", best_price=Decimal("40.00"), review_count=50,
                adjusted_rating=4.0, trust_grade="C"),
    )  # fmt: skip
    return score_products(
        products, rating_histogram(pd.DataFrame(columns=["product_id", "rating"])), WEIGHTS
    )


def test_badges_go_to_eligible_winners() -> None:
    badged = assign_badges(scored_catalog(), BadgeRules(min_reviews=10)).set_index("product_id")[
        "badges"
    ]
    assert badged["top"] == ["best-overall", "best-in-inversion-tables", "most-trusted"]
    assert badged["budget"] == ["best-budget"]
    # out of stock, too few reviews, no price: never badged however good they look
    assert badged["out"] == [] and badged["few"] == [] and badged["unpriced"] == []
    assert badged["cheap-dud"] == [] and badged["mid"] == []
    # a lone product does not win "best in" its subcategory
    assert badged["bar"] == []
    assert sum(len(b) for b in badged) == 4


def test_most_trusted_puts_grade_before_review_count() -> None:
    badged = assign_badges(
        scored_catalog(mid_grade="B", mid_reviews=9000), BadgeRules(min_reviews=10)
    )
    badged = badged.set_index("product_id")["badges"]
    assert "most-trusted" in badged["top"]  # A with 900 reviews
    assert "most-trusted" not in badged["mid"]  # B with 9000
    only_a = BadgeRules(min_reviews=10, trusted_grades=("A",))
    graded_b = scored_catalog(mid_grade="B").assign(trust_grade="B")
    assert all("most-trusted" not in b for b in assign_badges(graded_b, only_a)["badges"])


def test_cheapest_third_counts_in_stock_priced_products_per_subcategory() -> None:
    cheap = cheapest_third(scored_catalog()).to_numpy()
    products = scored_catalog()["product_id"].tolist()
    # in stock and priced in inversion-tables: 80, 82, 85, 120, 200: fewer than 5/3 cheaper
    assert {p for p, c in zip(products, cheap, strict=True) if c} == {"cheap-dud", "budget", "bar"}


def test_no_badges_when_nobody_qualifies() -> None:
    badged = assign_badges(scored_catalog(), BadgeRules(min_reviews=10**6))
    assert all(b == [] for b in badged["badges"])


def test_badge_rules_from_catalog() -> None:
    rules = scoring_config({"min_reviews": 25, "badges": {"trusted_grades": ["A"]}}).badges
    assert (rules.min_reviews, rules.trusted_grades, rules.min_contenders) == (25, ("A",), 2)
    assert BadgeRules() == scoring_config({}).badges
    with pytest.raises(ValueError, match=r"badges\.min_contender: unknown key \(did you mean"):
        scoring_config({"badges": {"min_contender": 3}})
    with pytest.raises(ValueError, match='badges.trusted_grades: unknown grade "E"'):
        scoring_config({"badges": {"trusted_grades": ["E"]}})


# --- sensitivity ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "y", "expected"),
    [
        ([1, 2, 3, 4, 5], [1, 2, 3, 4, 5], 1.0),
        ([1, 2, 3, 4, 5], [5, 4, 3, 2, 1], -1.0),
        ([1, 2, 3, 4, 5], [2, 1, 3, 4, 5], 0.8),
        # with ties (tau-b): C=7, D=1, one pair tied in x, one in y, 10 pairs -> 6/9
        ([1, 1, 2, 3, 4], [1, 2, 2, 4, 3], 6 / 9),
    ],
)
def test_kendall_tau_b_hand_values(x, y, expected) -> None:
    assert kendall_tau_b(x, y) == pytest.approx(expected)


def test_kendall_tau_b_undefined_when_all_tied() -> None:
    assert math.isnan(kendall_tau_b([1, 1, 1], [1, 2, 3]))
    assert math.isnan(kendall_tau_b([1], [1]))


def test_sensitivity_is_stable_when_one_product_beats_all_on_every_component() -> None:
    products = frame(
        *(
            product(f"p{i}", adjusted_rating=5.0 - 0.3 * i, review_count=1000 // (i + 1),
                    best_price=Decimal(100 + 20 * i), trust_grade="ABCDF"[min(i, 4)])
            for i in range(6)
        )
    )  # fmt: skip
    scored = score_products(
        products,
        rating_histogram(
            pd.DataFrame([r for i in range(6) for r in reviews_for(f"p{i}", {5: 20 - 3 * i, 1: i})])
        ),
        WEIGHTS,
    )
    result = weight_sensitivity(scored, WEIGHTS)
    assert result["perturbation"] == 0.2 and result["weights"] == pytest.approx(WEIGHTS)
    overall = result["overall"]
    assert overall["top"] == ["p0", "p1", "p2", "p3", "p4"]
    assert len(overall["runs"]) == 2 * len(WEIGHTS)
    assert {(r["weight"], r["direction"]) for r in overall["runs"]} == {
        (k, d) for k in WEIGHTS for d in ("up", "down")
    }
    assert overall["min_tau"] == 1.0 and overall["mean_tau"] == 1.0 and overall["top1_share"] == 1.0
    assert result["subcategories"]["inversion-tables"]["min_tau"] == 1.0


def test_sensitivity_notices_a_ranking_that_flips_with_the_weights() -> None:
    # "rated" wins only on rating, "trusted" only on trust; equal weights put them neck and neck
    weights = scoring_weights(
        {"weights": {"rating": 0.5, "trust": 0.5, "wilson": 0, "value": 0, "volume": 0}}
    )
    products = frame(
        product("rated", adjusted_rating=5.0, trust_grade="C"),
        product("trusted", adjusted_rating=2.4, trust_grade="A"),
        product("third", adjusted_rating=3.0, trust_grade="D"),
        product("stretcher", subcategory="back-stretchers", adjusted_rating=2.0, trust_grade="D"),
    )
    scored = composite_score(value_score(products), weights)
    result = weight_sensitivity(scored, weights)
    overall = result["overall"]
    # rated 0.5*10 + 0.5*5 = 7.5 just ahead of trusted 0.5*4.8 + 0.5*10 = 7.4
    assert overall["top"] == ["rated", "trusted", "third", "stretcher"]
    runs = {(r["weight"], r["direction"]): r for r in overall["runs"]}
    assert runs[("rating", "up")]["top1_same"] and runs[("trust", "down")]["top1_same"]
    assert not runs[("trust", "up")]["top1_same"] and not runs[("rating", "down")]["top1_same"]
    # a swap of the first two among four: tau (5 - 1) / 6
    assert runs[("rating", "down")]["kendall_tau"] == pytest.approx(4 / 6)
    assert overall["min_tau"] == pytest.approx(4 / 6) and overall["top1_share"] == 0.5
    # a subcategory of one product has nothing to reorder
    assert set(result["subcategories"]) == {"inversion-tables"}
    assert set(runs) == {
        (k, d) for k in ("rating", "trust") for d in ("up", "down")
    }  # zero weights skipped


def test_sensitivity_on_identical_products_keeps_their_order() -> None:
    products = frame(*(product(pid, trust_grade="A") for pid in "abc"))
    scored = composite_score(value_score(products), WEIGHTS)
    overall = weight_sensitivity(scored, WEIGHTS)["overall"]
    assert overall["top"] == ["a", "b", "c"] and overall["min_tau"] == 1.0


def test_sensitivity_with_too_few_products_reports_nothing() -> None:
    scored = composite_score(value_score(frame(product("a"))), WEIGHTS)
    result = weight_sensitivity(scored, WEIGHTS)
    assert result["overall"] is None and result["subcategories"] == {}
