"""Specs from listing text (normalised units, source kept), product merge, subcategory rules."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backrank.core.config import DEFAULT_CATEGORIES, CategoryRule
from backrank.core.settings import scoring_config
from pipelines.specs import extract_specs, product_specs, specs_from_text
from pipelines.subcategories import assign_subcategory, subcategory_rules

W, HMIN, HMAX = "max_user_weight_lb", "height_min_in", "height_max_in"
T, WMIN, WMAX, Y = "traction_force_lb", "waist_min_in", "waist_max_in", "warranty_years"

PHRASES = [
    ("Supports up to 300 lbs", {W: 300.0}),
    ("Max user weight: 136 kg", {W: 299.8}),
    ("weight capacity 350 lb", {W: 350.0}),
    ("Heavy Duty Inversion Table 350lb Capacity", {W: 350.0}),
    ("300-lb weight capacity, foldable", {W: 300.0}),
    ("Holds up to 1,000 pounds", {W: 1000.0}),
    ("Maximum load: 150 kg", {W: 330.7}),
    ("Fits users 4'10\" to 6'6\"", {HMIN: 58.0, HMAX: 78.0}),
    ("for heights 147-198 cm", {HMIN: 57.9, HMAX: 78.0}),
    ("Accommodates users from 5 ft 1 in to 6 ft 6 in", {HMIN: 61.0, HMAX: 78.0}),
    ("User height: 4\u203210\u2033 \u2013 6\u20326\u2033", {HMIN: 58.0, HMAX: 78.0}),
    ("for users up to 6'6\" tall", {HMAX: 78.0}),
    ("up to 40 lbs of traction", {T: 40.0}),
    ("Traction force: 0-50 lbs", {T: 50.0}),
    ("provides 20 kg traction force", {T: 44.1}),
    ("fits waist 29-49 inches", {WMIN: 29.0, WMAX: 49.0}),
    ("waist 74-125 cm", {WMIN: 29.1, WMAX: 49.2}),
    ('Decompression belt fits 29"-49" waist', {WMIN: 29.0, WMAX: 49.0}),
    ("2-year warranty", {Y: 2.0}),
    ("five year limited warranty", {Y: 5.0}),
    ("Warranty: 3 years", {Y: 3.0}),
    ("90-day warranty", {Y: 0.25}),
    ("18 month warranty", {Y: 1.5}),
    ("Lifetime warranty on the frame", {Y: None}),
    (
        "Inversion table, supports up to 300 lbs, fits 4'10\" to 6'6\", 5-year warranty",
        {W: 300.0, HMIN: 58.0, HMAX: 78.0, Y: 5.0},
    ),
]

NOT_SPECS = [
    "Inversion table, 300 reviews",
    "2 pack",
    "40 inch box",
    "Weighs 60 lbs",  # the product's own weight, not what it holds
    "Item weight: 25 kg",
    "Adjustable height 36-48 inches",  # the table, not the user
    "Package dimensions 48 x 28 x 10 inches",
    "supports up to 100 lbs of traction force",  # a force, not a user weight
    "Supports your lower back",
    "warranty card included",
    "Top 10 back stretchers of 2024",
    "Model 6'x4' mat",
]


@pytest.mark.parametrize(("text", "expected"), PHRASES)
def test_phrases_normalised(text: str, expected: dict[str, float | None]) -> None:
    specs = specs_from_text({"title": text})
    assert {name: entry["value"] for name, entry in specs.items()} == expected
    for entry in specs.values():
        assert entry["field"] == "title"
        assert entry["source"] and entry["source"].casefold() in " ".join(text.split()).casefold()
        assert entry["unit"] in ("lb", "in", "years")


@pytest.mark.parametrize("text", NOT_SPECS)
def test_phrases_that_are_not_specs(text: str) -> None:
    found = specs_from_text({"title": text})
    assert W not in found and HMIN not in found and HMAX not in found, found
    if "traction" not in text:
        assert found == {}


def test_lifetime_warranty_has_no_number_but_says_so() -> None:
    entry = specs_from_text({"description": "Backed by a lifetime warranty."})[Y]
    assert entry == {
        "value": None, "unit": "years", "source": "lifetime warranty",
        "field": "description", "note": "lifetime",
    }  # fmt: skip


def test_title_wins_over_description_and_fields_are_named() -> None:
    specs = specs_from_text(
        {
            "title": "Inversion Table 300 lb capacity",
            "specs_text": "Max user weight: 250 lbs\nWarranty: 2 years",
            "description": "Supports up to 280 lbs. Fits waist 30-50 inches.",
        }
    )
    assert specs[W]["value"] == 300.0 and specs[W]["field"] == "title"
    assert specs[Y]["value"] == 2.0 and specs[Y]["field"] == "specs_text"
    assert specs[WMIN]["field"] == "description"


def test_extract_specs_frame() -> None:
    listings = pd.DataFrame(
        {
            "listing_id": [1, 2, 3],
            "title": ["Table, supports up to 300 lbs", None, "Back stretcher"],
            "description": [None, "Max user weight 136 kg", None],
        }
    )
    result = extract_specs(listings)
    assert result["listing_id"].tolist() == [1, 2, 3]
    assert result.loc[0, "specs"][W]["value"] == 300.0
    assert result.loc[1, "specs"][W] == {
        "value": 299.8, "unit": "lb", "source": "Max user weight 136 kg", "field": "description",
    }  # fmt: skip
    assert result.loc[2, "specs"] == {}
    assert extract_specs(listings.iloc[0:0]).empty


def test_product_specs_agree_within_tolerance_and_note_conflicts() -> None:
    listing_specs = extract_specs(
        pd.DataFrame(
            {
                "listing_id": [1, 2, 3, 4, 5],
                "title": [
                    "Supports up to 300 lbs, 2-year warranty",
                    "Max user weight: 136 kg, 1 year warranty",  # 299.8 lb: the same claim
                    "Weight capacity 250 lbs, 2 year warranty",
                    "Inversion table",
                    "Back stretcher, 5 year warranty",
                ],
            }
        )
    )
    membership = pd.DataFrame(
        {"product_id": ["a", "a", "a", "a", "b"], "listing_id": [1, 2, 3, 4, 5]}
    )
    result = product_specs(listing_specs, membership).set_index("product_id")["specs"]
    weight = result["a"][W]
    assert weight["value"] == 300.0 and weight["listings"] == 2
    assert weight["conflict"] == [{"value": 250.0, "listings": 1}]
    warranty = result["a"][Y]
    assert warranty["value"] == 2.0 and warranty["conflict"] == [{"value": 1.0, "listings": 1}]
    assert result["b"] == {Y: result["b"][Y]} and "conflict" not in result["b"][Y]


def test_product_specs_tie_keeps_first_listing_and_empty_products() -> None:
    listing_specs = extract_specs(
        pd.DataFrame({"listing_id": [7, 3], "title": ["Supports 250 lbs", "Supports 300 lbs"]})
    )
    membership = pd.DataFrame({"product_id": ["a", "a", "c"], "listing_id": [7, 3, 9]})
    result = product_specs(listing_specs, membership).set_index("product_id")["specs"]
    assert result["a"][W]["value"] == 300.0  # listing 3 comes first by id
    assert result["c"] == {}


def test_subcategory_needs_keywords_and_stated_specs() -> None:
    heavy = CategoryRule(
        name="Heavy-duty inversion tables",
        slug="heavy-duty-inversion",
        keywords=("inversion table",),
    )
    categories = (heavy, *DEFAULT_CATEGORIES)
    scoring = {"subcategory_specs": {"heavy-duty-inversion": {"min_max_user_weight_lb": 300}}}
    specs = scoring_config(scoring, category_slugs=[c.slug for c in categories])
    rules = subcategory_rules(categories, specs.subcategory_specs)
    products = pd.DataFrame(
        {
            "product_id": ["a", "b", "c", "d", "e"],
            "name": ["Acme Inversion Table", "Acme Inversion Table XL", "Zen Inversion Table",
                     "Spine back stretcher", "Yoga mat"],
        }
    )  # fmt: skip
    specs = pd.DataFrame(
        {
            "product_id": ["a", "b", "d"],
            "specs": [{W: {"value": 250.0}}, {W: {"value": 350.0}}, {W: {"value": 400.0}}],
        }
    )
    result = assign_subcategory(products, rules, specs)
    assert result["subcategory"].tolist() == [
        "inversion-tables", "heavy-duty-inversion", "inversion-tables",  # c: capacity unknown
        "back-stretchers", "other",
    ]  # fmt: skip


def test_subcategory_condition_errors_are_named() -> None:
    slugs = [c.slug for c in DEFAULT_CATEGORIES]
    with pytest.raises(ValueError, match="scoring.subcategory_specs.nope: no category"):
        scoring_config({"subcategory_specs": {"nope": {}}}, category_slugs=slugs)
    with pytest.raises(ValueError, match="inversion-tables.min_max_user_weight_lb: must be a"):
        scoring_config(
            {"subcategory_specs": {"inversion-tables": {"min_max_user_weight_lb": "300"}}},
            category_slugs=slugs,
        )
    with pytest.raises(ValueError, match=r"inversion-tables\.min_max_weight: unknown key"):
        scoring_config(
            {"subcategory_specs": {"inversion-tables": {"min_max_weight": 300}}},
            category_slugs=slugs,
        )


@settings(max_examples=150, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("0123456789 .,-'\"\u2032\u2033abcdefgiklmnoprstuwxyz:")),
        max_size=120,
    )
    | st.text(max_size=120)
)
def test_never_crashes_and_values_are_plausible(text: str) -> None:
    for prefix in ("", "supports up to ", "fits users ", "waist ", "traction force "):
        specs = specs_from_text({"title": prefix + text})
        for name, entry in specs.items():
            value = entry["value"]
            if name == W:
                assert 50 <= value <= 1000
            elif name in (HMIN, HMAX):
                assert 36 <= value <= 96
            elif name == T:
                assert 0 < value <= 500
            elif name in (WMIN, WMAX):
                assert 15 <= value <= 80
            elif name == Y:
                assert value is None or 0 < value <= 30
        if HMIN in specs:
            assert specs[HMIN]["value"] < specs[HMAX]["value"]
