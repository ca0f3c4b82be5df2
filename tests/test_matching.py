"""Tests for the product matcher: identifiers, model numbers, overrides, scale, real benchmark."""

from __future__ import annotations

import importlib.util
import os
import random
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from pipelines.identifiers import model_codes, normalise_brand
from pipelines.matching import (
    MatchConfig,
    MatchOverrides,
    candidate_pairs,
    load_overrides,
    match_listings,
    pair_score,
    prepare_listings,
    score_pairs,
)

REPO = Path(__file__).resolve().parents[1]
MATCHING_DIR = Path(
    os.environ.get("BACKRANK_MATCHING_DIR", REPO.parent / "shared" / "matching" / "walmart_amazon")
)


def listing(listing_id: int, store: str, title: str, **fields: object) -> dict[str, object]:
    return {
        "listing_id": listing_id,
        "store": store,
        "title": title,
        "url": f"https://{store}.example/p/{listing_id}",
        **fields,
    }


def products(frame: pd.DataFrame, **kwargs: object) -> list[set[int]]:
    """The products found, as sets of listing ids, largest first."""
    matched = match_listings(frame, **kwargs)
    assert list(matched.columns) == ["listing_id", "product_id"]
    assert sorted(matched["listing_id"]) == sorted(frame["listing_id"])
    groups = matched.groupby("product_id")["listing_id"].apply(set)
    return sorted(groups.tolist(), key=lambda g: (-len(g), min(g)))


def same_product(frame: pd.DataFrame, a: int, b: int, **kwargs: object) -> bool:
    return any({a, b} <= group for group in products(frame, **kwargs))


# ------------------------------------------------------------------ identifiers


def test_model_codes_find_codes_and_skip_specs() -> None:
    codes = model_codes("Sony VGP-BKB1 Bluetooth keyboard, 2GB DDR2 USB 2.0, 10-outlet", None)
    assert "vgpbkb1" in codes.strong
    assert not {"2gb", "ddr2", "usb20", "10outlet"} & codes.every
    assert "ml2250" in model_codes("Innovera ML 2250 toner").every
    assert "nu561aa" in model_codes("notebook sleeve", "HP NU561AA", "HP").strong


def test_model_codes_keep_title_words_beside_an_mpn_and_drop_marketplace_prefix() -> None:
    # the title's "5590" is still a word when the MPN field says "hp sj5590"
    assert "5590" in model_codes("HP ScanJet 5590 flatbed scanner", "hp sj5590", "HP").words
    # Amazon's "New-7653 compatible ink": the code is 7653, not "new7653"
    assert "7653" in model_codes("New-7653 compatible ink, case pack 1", None).words
    assert "new7653" not in model_codes("New-7653 compatible ink, case pack 1", None).every
    # a long-numbered part is not a length in metres
    assert "2544m" in model_codes("Quartet magnetic board", "2544M", "Quartet").strong
    # "for 32 to 63 inch displays" names a size range, not a product line
    assert not model_codes("Tilt wall mount for 32 to 63 displays").every
    assert model_codes("Leather case for Asus Transformer TF101", None).targets == {"tf101"}


def test_brand_normalisation_drops_punctuation_and_legal_suffix() -> None:
    assert normalise_brand("Bell'O Inc.") == normalise_brand("bello") == "bello"
    assert normalise_brand("  ") is None


# ------------------------------------------------------------------ pair decisions


def test_pair_score_explains_a_model_number_match() -> None:
    decision = pair_score(
        {"title": "Teeter EP-960 Inversion Table", "brand": "Teeter", "price": Decimal("399.99")},
        {
            "title": "Teeter EP960 inversion table with back pain relief",
            "brand": "TEETER",
            "price": 379.0,
        },
    )
    assert decision.match
    assert 0.5 < decision.score <= 1.0
    assert any("ep960" in reason for reason in decision.reasons)


def test_pair_score_keeps_near_miss_model_numbers_apart() -> None:
    decision = pair_score(
        {"title": "Innova ITX9600 inversion table t249", "brand": "Innova", "price": 129.0},
        {"title": "Innova ITX9600 inversion table t239", "brand": "Innova", "price": 129.0},
    )
    assert not decision.match
    assert any("different model numbers" in reason for reason in decision.reasons)


def test_remanufactured_stand_in_is_not_the_original_product() -> None:
    original = {
        "title": "Xerox 108R00657 extended-capacity maintenance kit for WorkCentre C2424",
        "brand": "Xerox", "mpn": "108R00657", "price": Decimal("154.84"),
    }  # fmt: skip
    same = {
        "title": "Xerox WorkCentre C2424 108R00657 extended-capacity maintenance kit",
        "price": 139.99,
    }
    stand_in = {
        "title": "LD Xerox WorkCentre C2424 remanufactured 108R00657 extended-capacity maintenance kit",
        "brand": "4inkjets", "price": 129.99,
    }  # fmt: skip
    assert pair_score(original, same).match
    decision = pair_score(original, stand_in)
    assert not decision.match
    assert "only one is compatible, remanufactured or refurbished" in decision.reasons


def test_conflicting_gtins_decide_not_the_same() -> None:
    decision = pair_score(
        {"title": "Lumbar back stretcher", "gtin": "036000291452"},
        {"title": "Lumbar back stretcher", "gtin": "4006381333931"},
    )
    assert decision == decision.__class__(
        score=0.0, match=False, reasons=("different GTINs 0036000291452 and 4006381333931",)
    )


def test_score_pairs_is_row_aligned_and_keeps_the_index() -> None:
    left = pd.DataFrame(
        [
            {"title": "Teeter FitSpine X3 inversion table", "brand": "Teeter", "mpn": "X3"},
            {
                "title": "Teeter FitSpine X3 inversion table",
                "brand": "Teeter",
                "gtin": "036000291452",
            },
        ],
        index=[10, 11],
    )
    right = pd.DataFrame(
        [
            {"title": "Chirp wheel back roller 12 inch", "brand": "Chirp"},
            {"title": "fitspine x3 inversion table by teeter", "gtin": "0036000291452"},
        ]
    )
    scored = score_pairs(left, right)
    assert list(scored.index) == [10, 11]
    assert scored["match"].tolist() == [False, True]
    assert scored.loc[11, "score"] == 1.0
    with pytest.raises(ValueError, match="pairs need both"):
        score_pairs(left, right.iloc[:1])


# ------------------------------------------------------------------ match_listings


def test_upc_and_ean_of_one_product_are_one_product() -> None:
    frame = pd.DataFrame(
        [
            listing(1, "amazon", "Back stretcher", gtin="036000291452"),
            listing(2, "walmart", "Completely different words", gtin="0036000291452"),
            listing(3, "shop", "Back stretcher", gtin="4006381333931"),
        ]
    )
    assert products(frame) == [{1, 2}, {3}]


def test_asin_and_brand_mpn_join_listings() -> None:
    frame = pd.DataFrame(
        [
            listing(1, "amazon-us", "Inversion table", asin="B00ABCDEF1"),
            listing(2, "amazon-ca", "Table d'inversion", asin="b00abcdef1"),
            listing(3, "walmart", "Nubax trio back traction", brand="Nubax", mpn="TRIO-01"),
            listing(4, "shopify", "The Nubax Trio", brand="NUBAX", mpn="trio 01"),
        ]
    )
    assert products(frame) == [{1, 2}, {3, 4}]


def test_conflicting_gtins_are_kept_apart_despite_identical_titles() -> None:
    frame = pd.DataFrame(
        [
            listing(1, "a", "Teeter EP-560 inversion table", brand="Teeter", gtin="036000291452"),
            listing(2, "b", "Teeter EP-560 inversion table", brand="Teeter", gtin="4006381333931"),
            # a third listing without GTIN may join one of them, never bridge both
            listing(3, "c", "Teeter EP-560 inversion table", brand="Teeter"),
        ]
    )
    found = products(frame)
    assert not any({1, 2} <= group for group in found)


def test_different_model_numbers_stay_apart_despite_similar_titles() -> None:
    frame = pd.DataFrame(
        [
            listing(
                1,
                "a",
                "Innova ITX9600 Heat and Massage inversion table",
                brand="Innova",
                mpn="ITX9600",
            ),
            listing(
                2,
                "b",
                "Innova ITX9800 heat and massage inversion table",
                brand="Innova",
                mpn="ITX9800",
            ),
            listing(3, "a", "Ironman Gravity 4000 inversion table", brand="Ironman", mpn="GR4000"),
            listing(4, "b", "Ironman Gravity 3000 inversion table", brand="Ironman", mpn="GR3000"),
        ]
    )
    assert products(frame) == [{1}, {2}, {3}, {4}]


def test_reworded_titles_of_one_product_are_merged() -> None:
    frame = pd.DataFrame(
        [
            listing(
                1,
                "amazon",
                "Teeter FitSpine X3 Inversion Table, Back Pain Relief Kit",
                brand="Teeter",
                price=Decimal("449.99"),
            ),
            listing(
                2,
                "walmart",
                "Teeter Fitspine X3 inversion table with back pain relief kit",
                brand="Teeter",
                price=Decimal("429.00"),
            ),
            listing(
                3,
                "shop",
                "FitSpine X3 inversion table (Teeter) - back pain relief",
                brand="teeter",
                price=None,
            ),
            listing(
                4,
                "walmart",
                "Chirp Wheel+ back roller 3-pack",
                brand="Chirp",
                price=Decimal("89.95"),
            ),
        ]
    )
    assert products(frame) == [{1, 2, 3}, {4}]


def test_two_listings_of_one_store_are_not_chained_into_one_product() -> None:
    frame = pd.DataFrame(
        [
            listing(1, "amazon", "Teeter FitSpine X3 inversion table", brand="Teeter"),
            listing(2, "amazon", "Teeter FitSpine X3 inversion table black", brand="Teeter"),
            listing(3, "walmart", "Teeter FitSpine X3 inversion table", brand="Teeter"),
        ]
    )
    found = products(frame)
    assert not any({1, 2} <= group for group in found)
    assert any(3 in group and len(group) == 2 for group in found)


def test_product_id_is_the_smallest_listing_id_of_the_product() -> None:
    frame = pd.DataFrame(
        [
            listing(7, "a", "Back stretcher", gtin="036000291452"),
            listing(3, "b", "Back stretcher", gtin="036000291452"),
        ]
    )
    matched = match_listings(frame).set_index("listing_id")
    assert matched.loc[7, "product_id"] == matched.loc[3, "product_id"] == 3


def test_overrides_win_both_ways(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        [
            listing(1, "a", "Back stretcher", gtin="036000291452"),
            listing(2, "b", "Back stretcher", gtin="036000291452"),
            listing(3, "c", "Lumbar roller foam"),
            listing(4, "d", "Posture corrector strap"),
        ]
    )
    url = frame.set_index("listing_id")["url"]
    matches = tmp_path / "matches.toml"
    matches.write_text(
        f'[[same]]\nlistings = ["{url[3]}", "{url[4]}"]\n\n'
        f'[[different]]\nlistings = ["{url[1]}", "{url[2]}", "https://gone.example/x"]\n'
    )
    overrides = load_overrides(matches)
    assert overrides.same == ((url[3], url[4]),)
    assert products(frame) == [{1, 2}, {3}, {4}]
    assert products(frame, overrides=overrides) == [{3, 4}, {1}, {2}]


def test_contradictory_overrides_fail_loudly() -> None:
    frame = pd.DataFrame([listing(1, "a", "x"), listing(2, "b", "y")])
    urls = tuple(frame["url"])
    overrides = MatchOverrides(same=(urls,), different=(urls,))
    with pytest.raises(ValueError, match="both the same and different"):
        match_listings(frame, overrides=overrides)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[same]]\nlistings = ["only-one"]\n', "two or more"),
        ('[[sometimes]]\nlistings = ["a", "b"]\n', "unknown tables"),
    ],
)
def test_load_overrides_rejects_malformed_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "matches.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        load_overrides(path)


def test_empty_frame_and_single_listing() -> None:
    empty = pd.DataFrame(columns=["listing_id", "store", "title"])
    assert match_listings(empty).empty
    one = pd.DataFrame([listing(5, "a", "Inversion table")])
    assert match_listings(one).to_dict("records") == [{"listing_id": 5, "product_id": 5}]


def test_optional_columns_may_be_missing_entirely() -> None:
    frame = pd.DataFrame(
        {
            "listing_id": [1, 2],
            "store": ["a", "b"],
            "title": ["Nubax Trio NT-100 back traction device", "Nubax Trio NT100 back traction"],
        }
    )
    assert products(frame) == [{1, 2}]


def test_config_from_catalog_table_rejects_typos() -> None:
    assert MatchConfig.from_mapping({"threshold": 0.9}).threshold == 0.9
    with pytest.raises(ValueError, match="thresold"):
        MatchConfig.from_mapping({"thresold": 0.9})


def test_blocking_keeps_cost_near_linear() -> None:
    """20,000 listings of 200 brands, each product sold by two stores: blocking scores a number
    of pairs that grows with the listings (a few per listing), not with their square, and every
    product is found. (Its speed is measured by benchmarks/matching_demo.py, not timed here.)"""
    rng = random.Random(7)
    nouns = ["inversion table", "back stretcher", "traction belt", "lumbar roller", "posture brace"]
    adjectives = ["deluxe", "pro", "compact", "heavy duty", "foldable", "heated", "adjustable"]
    rows = []
    for brand_number in range(200):
        brand = f"Brand{brand_number:03d}"
        for product_number in range(50):
            code = f"{brand[:2].upper()}{brand_number:03d}-{product_number:03d}Z"
            title = f"{brand} {rng.choice(adjectives)} {rng.choice(nouns)} {code}"
            for store in ("amazon", "walmart"):
                rows.append(
                    listing(len(rows), store, title, brand=brand, price=rng.uniform(20, 400))
                )
    frame = pd.DataFrame(rows)
    config = MatchConfig()
    pairs = candidate_pairs(prepare_listings(frame), config)
    assert len(pairs) <= config.candidates_per_listing * len(frame)  # 20k x 20k would be 2e8
    matched = match_listings(frame)
    assert matched["product_id"].nunique() == 10_000


# ------------------------------------------------------------------ the real benchmark


def _benchmark_module():
    spec = importlib.util.spec_from_file_location(
        "benchmark_matching", REPO / "benchmarks" / "matching.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


needs_benchmark = pytest.mark.skipif(
    not (MATCHING_DIR / "valid.csv").exists(),
    reason=f"Walmart-Amazon benchmark not found at {MATCHING_DIR} (set BACKRANK_MATCHING_DIR)",
)
# the shipped settings must travel: the same weights on structured listings (brand, model and
# price columns) and on free-text offers from many shops (one title each)
TARGETS = {"walmart_amazon": 0.87, "wdc_computers": 0.80}


@pytest.fixture(scope="module")
def valid_results() -> dict[str, dict[str, float]]:
    benchmark = _benchmark_module()
    return {
        name: benchmark.evaluate(MATCHING_DIR.parent / name, "valid", MatchConfig())
        for name in TARGETS
        if (MATCHING_DIR.parent / name / "valid.csv").exists()
    }


@needs_benchmark
def test_walmart_amazon_valid_split_beats_the_model_number_rule(valid_results: dict) -> None:
    # fuzzy title + exact model-number rule gets 0.793 on this benchmark; we must stay well above
    assert valid_results["walmart_amazon"]["pairs"] == 2049
    assert valid_results["walmart_amazon"]["f1"] >= 0.85, valid_results


@needs_benchmark
@pytest.mark.parametrize("name", sorted(TARGETS))
def test_shipped_settings_reach_the_target_on_each_dataset(valid_results: dict, name: str) -> None:
    # a wrong merge shows a reader the wrong product, so precision first: >= 0.90 on both,
    # with F1 >= 0.87 on Walmart-Amazon (Ditto's 0.868 on test) and >= 0.80 on WDC computers
    if name not in valid_results:
        pytest.skip(f"{name} not found beside {MATCHING_DIR}")
    result = valid_results[name]
    assert result["f1"] >= TARGETS[name], result
    assert result["precision"] >= 0.90, result
