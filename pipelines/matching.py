"""Match listings across stores into products: identifiers, blocked fuzzy scoring, guarded union."""

from __future__ import annotations

import math
import os
import tomllib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from backrank.core.frames import OFFERS
from backrank.core.identifiers import canonical_asin, canonical_gtin, canonical_mpn
from backrank.core.settings import MatchConfig
from pipelines.identifiers import (
    ModelCodes,
    clean_title,
    colours,
    is_aftermarket,
    model_codes,
    mpn_code,
    normalise_brand,
    quantities,
)

# What matching reads of each listing's offer.
LISTING_COLUMNS = OFFERS.pick(
    "listing_id", "store", "title", "brand", "gtin", "mpn", "sku", "asin", "price", "category",
)  # fmt: skip
# Words that say nothing about which product a listing is ("New" opens many marketplace titles).
_FILLER_WORDS = frozenset({"new"})
# The soft signals a pair is scored on, in the order of MatchConfig's weights.
FEATURES = (
    "title_token_set",
    "title_token_sort",
    "title_partial",
    "code_strong",
    "code_weak",
    "code_variant",
    "code_disjoint",
    "code_extra",
    "code_long",
    "brand_match",
    "brand_conflict",
    "price_far",
    "price_log_ratio",
    "colour_conflict",
    "quantity_conflict",
    "title_idf_cosine",
    "title_idf_coverage",
    "title_idf_missing",
    "number_overlap",
    # interactions: how much a title is worth depends on what the model codes say
    "title_token_set_squared",
    "title_x_code",
    "title_sort_x_code",
    "idf_cosine_x_code",
    "title_x_variant",
    "title_x_brand",
    # variants and stand-ins: what a shared model code does not settle
    "code_suffixed",
    "code_for_device",
    "colour_one_sided",
    "aftermarket_one_sided",
    "quantity_agree",
    "price_missing",
    # free text: the rarest word both titles share, and the rarest one the shorter title has alone
    "title_rarest_shared",
    "title_rarest_unshared",
    # one listing's part number (any letters, "wcrplpdw" too) is written in the other
    "mpn_in_other",
)


def feature_weights(config: MatchConfig) -> np.ndarray:
    """The config's weight of each of FEATURES, in order."""
    return np.array([getattr(config, name) for name in FEATURES], dtype=float)


@dataclass(frozen=True)
class MatchOverrides:
    """Owner decisions from matches.toml: groups that are one product, groups that are not."""

    same: tuple[tuple[str, ...], ...] = ()
    different: tuple[tuple[str, ...], ...] = ()
    # weights refitted on the owner's answers (``backrank matches review``): the [weights]
    # table, as (name, value) pairs of MatchConfig fields; they win over [scoring.matching]
    weights: tuple[tuple[str, float], ...] = ()

    def apply(self, config: MatchConfig) -> MatchConfig:
        """``config`` with the owner's refitted weights in place of its own."""
        return replace(config, **dict(self.weights)) if self.weights else config


@dataclass(frozen=True)
class PairDecision:
    """Whether two listings are one product, how sure (0-1), and why."""

    score: float
    match: bool
    reasons: tuple[str, ...] = field(default=())


def load_overrides(path: str | Path) -> MatchOverrides:
    """Read matches.toml: ``[[same]] listings = [url, ...]``, ``[[different]] listings = [...]``
    and an optional ``[weights]`` table of refitted MatchConfig weights."""
    path = Path(path)
    with path.open("rb") as handle:
        document = tomllib.load(handle)
    unknown = sorted(set(document) - {"same", "different", "weights"})
    if unknown:
        raise ValueError(f"{path.name}: unknown tables: {', '.join(unknown)}")

    def groups(kind: str) -> tuple[tuple[str, ...], ...]:
        entries = document.get(kind, [])
        if not isinstance(entries, list):
            raise TypeError(f"{path.name}: {kind} must be an array of tables ([[{kind}]])")
        out = []
        for number, entry in enumerate(entries, 1):
            listings = entry.get("listings") if isinstance(entry, dict) else None
            if not isinstance(listings, list) or len(listings) < 2:
                raise ValueError(f"{path.name}: {kind} #{number}: listings needs two or more")
            out.append(tuple(str(name) for name in listings))
        return tuple(out)

    weights = document.get("weights", {})
    if not isinstance(weights, dict):
        raise TypeError(f"{path.name}: weights must be a table ([weights])")
    try:
        # the catalog's parser checks names and numbers, so both files share one rule
        checked = MatchConfig.from_mapping(weights)
    except ValueError as error:
        raise ValueError(f"{path.name}: [weights]: {error}") from error
    return MatchOverrides(
        same=groups("same"),
        different=groups("different"),
        weights=tuple((name, getattr(checked, name)) for name in sorted(weights)),
    )


# ---------------------------------------------------------------- preparing listings


def _missing(value: object) -> bool:
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def _price(value: object) -> float | None:
    if _missing(value):
        return None
    try:
        price = float(Decimal(str(value)))
    except ArithmeticError as error:
        raise ValueError(f"price is not a number: {value!r}") from error
    # a price of 0 means the store did not say, never that it is free
    return price if price > 0 else None


def _mpn_or_sku(mpn: object, sku: object) -> object:
    """The MPN, else a SKU that looks like a model number (letters and digits: "TR-893B").

    Shops on Shopify or WooCommerce often put the maker's model number in the SKU field; a
    SKU of digits only is usually the shop's own item or post id, so it is not taken.
    """
    if not _missing(mpn) and str(mpn).strip():
        return mpn
    if isinstance(sku, str):
        code = mpn_code(sku)
        if code and any(c.isdigit() for c in code) and any(c.isalpha() for c in code):
            return sku
    return None


def prepare_listings(listings: pd.DataFrame) -> pd.DataFrame:
    """Listings with normalised identifiers, brand, model codes and cleaned title beside them."""
    frame = listings.copy()
    for column in LISTING_COLUMNS:
        if column not in frame.columns:
            frame[column] = None
    titles = frame["title"].tolist()
    mpns = [_mpn_or_sku(m, k) for m, k in zip(frame["mpn"], frame["sku"])]
    # object columns, so a missing value stays None (pandas 3 would make str columns hold NaN)
    columns = {
        "_gtin": [canonical_gtin(v) for v in frame["gtin"]],
        "_asin": [canonical_asin(v) for v in frame["asin"]],
        "_mpn": [canonical_mpn(v) for v in mpns],
        "_brand": [normalise_brand(v) for v in frame["brand"]],
        "_codes": [model_codes(t, m, b) for t, m, b in zip(titles, mpns, frame["brand"])],
        "_title": [clean_title(t) for t in titles],
        "_price": [_price(v) for v in frame["price"]],
        "_colours": [colours(t) for t in titles],
        "_quantities": [quantities(t) for t in titles],
        "_aftermarket": [is_aftermarket(t) for t in titles],
    }
    return frame.assign(
        **{
            name: pd.Series(values, index=frame.index, dtype=object)
            for name, values in columns.items()
        }
    )


# ---------------------------------------------------------------- scoring pairs


def _brand_relation(brand_a: str | None, brand_b: str | None, title_a: str, title_b: str) -> int:
    """1 when the brands agree, -1 when they conflict, 0 when unknown."""
    if brand_a and brand_b:
        if brand_a == brand_b or brand_a.split()[0] == brand_b.split()[0]:
            return 1
        joined_a, joined_b = brand_a.replace(" ", ""), brand_b.replace(" ", "")
        if (
            joined_a == joined_b
            or _brand_in_title(brand_a, title_b)
            or _brand_in_title(brand_b, title_a)
        ):
            return 1
        return -1
    if brand_a and _brand_in_title(brand_a, title_b):
        return 1
    if brand_b and _brand_in_title(brand_b, title_a):
        return 1
    return 0


def _brand_in_title(brand: str, title: str) -> bool:
    padded = f" {title} "
    return f" {brand} " in padded or f" {brand.split()[0]} " in padded[: len(brand) + 12]


@dataclass(frozen=True)
class _CodeRelation:
    support: str  # none | weak | strong | long
    conflict: str  # none | variant | disjoint | extra
    detail: str
    # the shared code is only the start of a longer one of the other listing (gbu421 vs gbu421w6)
    suffixed: bool = False
    # every shared code is the device both accessories fit ("case for asus tf101")
    for_device: bool = False


def _code_relation(a: ModelCodes, b: ModelCodes, variant_similarity: float) -> _CodeRelation:
    """How two listings' model codes relate.

    support is ``strong`` when a specific code of one is written in the other, ``weak`` when
    only a product-line code is shared, else ``none``; conflict is ``variant`` when specific
    codes left unmatched are near misses of each other (t249 vs t239), ``disjoint`` when both
    have specific codes and none meet, else ``none``.
    """
    found_a = {code for code in a.strong if _written_in(code, b)}
    found_b = {code for code in b.strong if _written_in(code, a)}
    details = []
    support = "none"
    if found_a or found_b:
        support = "strong"
        details.append(max(found_a | found_b, key=len))
    elif a.every & b.every:
        support = "weak"
        details.append(max(a.every & b.every, key=len))
    conflict = "none"
    unmatched_a, unmatched_b = a.strong - found_a, b.strong - found_b
    variants = [
        (x, y) for x in unmatched_a for y in unmatched_b if _is_variant(x, y, variant_similarity)
    ]
    if variants:
        conflict = "variant"
        first, second = max(variants, key=lambda pair: len(pair[0]) + len(pair[1]))
        details.append(f"{first}!={second}")
    elif a.strong and b.strong and support != "strong":
        conflict = "disjoint"
    elif unmatched_a and unmatched_b:
        # a shared series code ("10700") but each names its own model too
        conflict = "extra"
    found = found_a | found_b
    exact = any(c in b.every or c in b.words for c in found_a) or any(
        c in a.every or c in a.words for c in found_b
    )
    suffixed = not exact and (
        any(_extends(c, o) for c in found_a for o in b.strong)
        or any(_extends(c, o) for c in found_b for o in a.strong)
    )
    for_device = bool(found) and found <= (a.targets | b.targets)
    if support == "strong" and len(details[0]) >= 7:
        support = "long"
    return _CodeRelation(support, conflict, " ".join(details), suffixed, for_device)


def _extends(code: str, longer: str) -> bool:
    """Whether ``longer`` is ``code`` with a short suffix: a colour or edition letter or two."""
    return longer != code and longer.startswith(code) and len(longer) - len(code) <= 3


def _written_in(code: str, other: ModelCodes) -> bool:
    if code in other.every or (len(code) >= 3 and code in other.words):
        return True
    if len(code) < 5:
        return False
    return code in other.compact or any(len(o) >= 5 and o in code for o in other.strong)


def _is_variant(a: str, b: str, variant_similarity: float) -> bool:
    """Two different codes of one product line: t249 vs t239, d5d-00052 vs d5d-00054."""
    if not (_has_alpha(a) or _has_alpha(b)):
        # part numbers of one family share a long prefix: 910-002463 vs 910-002081
        if len(a) != len(b) or len(a) < 5:
            return False
        prefix = len(os.path.commonprefix([a, b]))
        return prefix >= len(a) // 2 or Levenshtein.distance(a, b) == 1
    if a[0] != b[0]:
        return False
    return Levenshtein.normalized_similarity(a, b) >= variant_similarity


def _has_alpha(code: str) -> bool:
    return any(c.isalpha() for c in code)


def title_idf(titles: Iterable[str]) -> dict[str, float]:
    """Inverse document frequency of each cleaned-title word: rare words say more."""
    documents = [set(title.split()) - _FILLER_WORDS for title in titles]
    frequency = Counter(word for words in documents for word in words)
    # smoothed, so a word every title shares still counts when there are only two titles
    total = len(documents)
    return {word: math.log((1 + total) / (1 + count)) + 1.0 for word, count in frequency.items()}


def _idf_similarities(
    titles_a: Sequence[str], titles_b: Sequence[str], idf: Mapping[str, float]
) -> dict[str, np.ndarray]:
    """Per pair: IDF cosine, IDF share of the shorter title found in the longer, the share
    missing from the longer, the overlap of bare numbers (0.5 when either has none), and the
    IDF of the rarest shared word and of the rarest word only the shorter title has (as a
    share of the rarest IDF: a part number both write, or one only one of them names).

    These lean on no brand, price or code column, so they work on free-text titles alone.
    """
    rarest = max(idf.values(), default=1.0)  # a word never seen is as telling as the rarest
    cosine, coverage, missing, numbers = [], [], [], []
    rare_shared, rare_unshared = [], []
    for title_a, title_b in zip(titles_a, titles_b):
        words_a = set(title_a.split()) - _FILLER_WORDS
        words_b = set(title_b.split()) - _FILLER_WORDS
        weight_a = {w: idf.get(w, rarest) for w in words_a}
        weight_b = {w: idf.get(w, rarest) for w in words_b}
        shared = words_a & words_b
        norm = math.sqrt(
            sum(v * v for v in weight_a.values()) * sum(v * v for v in weight_b.values())
        )
        cosine.append(sum(weight_a[w] ** 2 for w in shared) / norm if norm else 0.0)
        short, weights = (
            (words_a, weight_a) if len(words_a) <= len(words_b) else (words_b, weight_b)
        )
        total = sum(weights.values())
        coverage.append(sum(weights[w] for w in shared) / total if total else 0.0)
        missing.append(sum(weights[w] for w in short - shared) / total if total else 0.0)
        rare_shared.append(max((weights[w] for w in shared), default=0.0) / rarest)
        rare_unshared.append(max((weights[w] for w in short - shared), default=0.0) / rarest)
        digits_a = {w for w in words_a if w.isdigit()}
        digits_b = {w for w in words_b if w.isdigit()}
        numbers.append(
            len(digits_a & digits_b) / len(digits_a | digits_b) if digits_a and digits_b else 0.5
        )
    return {
        "title_idf_cosine": np.array(cosine),
        "title_idf_coverage": np.array(coverage),
        "title_idf_missing": np.array(missing),
        "number_overlap": np.array(numbers),
        "title_rarest_shared": np.array(rare_shared),
        "title_rarest_unshared": np.array(rare_unshared),
    }


def pair_features(
    left: pd.DataFrame,
    right: pd.DataFrame,
    config: MatchConfig,
    idf: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """The soft signals (FEATURES) of row-aligned prepared listings, plus a few reason columns.

    ``idf`` weighs title words; by default it is computed from the titles of both sides.
    """
    titles_a, titles_b = left["_title"].tolist(), right["_title"].tolist()
    if titles_a:
        token_set = process.cpdist(titles_a, titles_b, scorer=fuzz.token_set_ratio) / 100.0
        token_sort = process.cpdist(titles_a, titles_b, scorer=fuzz.token_sort_ratio) / 100.0
        partial = process.cpdist(titles_a, titles_b, scorer=fuzz.partial_ratio) / 100.0
    else:
        token_set = token_sort = partial = np.zeros(0)
    relations = [
        _code_relation(a, b, config.code_variant_similarity)
        for a, b in zip(left["_codes"], right["_codes"])
    ]
    support = np.array([r.support for r in relations], dtype=object)
    conflict = np.array([r.conflict for r in relations], dtype=object)
    brands = np.array(
        [
            _brand_relation(ba, bb, ta, tb)
            for ba, bb, ta, tb in zip(left["_brand"], right["_brand"], titles_a, titles_b)
        ],
        dtype=int,
    )
    if idf is None:
        idf = title_idf(titles_a + titles_b)
    by_idf = _idf_similarities(titles_a, titles_b, idf)
    cosine = by_idf["title_idf_cosine"]
    code_strong = (support == "strong") | (support == "long")
    price_a = left["_price"].to_numpy(dtype=float, na_value=np.nan)
    price_b = right["_price"].to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        ratio = np.maximum(price_a, price_b) / np.minimum(price_a, price_b)
    return pd.DataFrame(
        {
            "title_token_set": token_set,
            "title_token_sort": token_sort,
            "title_partial": partial,
            "code_strong": code_strong,
            "code_long": support == "long",
            "code_weak": support == "weak",
            "code_variant": conflict == "variant",
            "code_disjoint": conflict == "disjoint",
            "code_extra": conflict == "extra",
            "brand_match": brands == 1,
            "brand_conflict": brands == -1,
            "price_far": np.nan_to_num(ratio, nan=1.0) > config.price_ratio_limit,
            "price_log_ratio": np.minimum(np.log(np.nan_to_num(ratio, nan=1.0)), 2.0),
            "colour_conflict": [
                bool(a and b and not a & b) for a, b in zip(left["_colours"], right["_colours"])
            ],
            "quantity_conflict": [
                _quantity_conflict(a, b) for a, b in zip(left["_quantities"], right["_quantities"])
            ],
            **by_idf,
            "title_token_set_squared": token_set**2,
            "title_x_code": token_set * code_strong,
            "title_sort_x_code": token_sort * code_strong,
            "idf_cosine_x_code": cosine * code_strong,
            "title_x_variant": token_set * (conflict == "variant"),
            "title_x_brand": token_set * (brands == 1),
            "code_suffixed": [r.suffixed for r in relations],
            "code_for_device": [r.for_device for r in relations],
            "colour_one_sided": [
                bool(a) != bool(b) for a, b in zip(left["_colours"], right["_colours"])
            ],
            "aftermarket_one_sided": left["_aftermarket"].to_numpy(dtype=bool)
            != right["_aftermarket"].to_numpy(dtype=bool),
            "quantity_agree": [
                bool(a & b) for a, b in zip(left["_quantities"], right["_quantities"])
            ],
            "price_missing": np.isnan(ratio),
            "mpn_in_other": [
                _mpn_written(ma, cb) or _mpn_written(mb, ca)
                for ma, mb, ca, cb in zip(
                    left["_mpn"], right["_mpn"], left["_codes"], right["_codes"]
                )
            ],
            "price_ratio": ratio,
            "code_detail": [r.detail for r in relations],
        },
        index=left.index,
    )


def _mpn_written(mpn: str | None, other: ModelCodes) -> bool:
    """Whether a listing's part number (four or more letters or digits) is in the other's
    title or part number, however it is spelt there ("WCRPLPDW" in "crown wcrplpdw - ...")."""
    return bool(mpn) and len(mpn) >= 4 and mpn in other.compact


def _quantity_conflict(a: frozenset, b: frozenset) -> bool:
    """Both titles state a size of one kind (bytes, length, pack count...) and no value agrees."""
    families_a = {family for family, _ in a}
    for family in families_a & {family for family, _ in b}:
        if not {v for f, v in a if f == family} & {v for f, v in b if f == family}:
            return True
    return False


def _identifier_rule(a: Mapping, b: Mapping) -> tuple[bool | None, str]:
    """A decision from identifiers alone: True (same), False (different) or None (no say)."""
    if a["_gtin"] and b["_gtin"]:
        if a["_gtin"] == b["_gtin"]:
            return True, f"same GTIN {a['_gtin']}"
        return False, f"different GTINs {a['_gtin']} and {b['_gtin']}"
    if a["_asin"] and a["_asin"] == b["_asin"]:
        return True, f"same ASIN {a['_asin']}"
    same_mpn = a["_mpn"] and a["_mpn"] == b["_mpn"] and len(a["_mpn"]) >= 4
    if same_mpn and a["_brand"] and a["_brand"] == b["_brand"]:
        return True, f"same brand and MPN {a['_brand']} {a['_mpn']}"
    return None, ""


def _identifier_rules(left: pd.DataFrame, right: pd.DataFrame) -> list[tuple[bool | None, str]]:
    columns = ["_gtin", "_asin", "_mpn", "_brand"]
    rows_a = left[columns].to_dict("records")
    rows_b = right[columns].to_dict("records")
    return [_identifier_rule(a, b) for a, b in zip(rows_a, rows_b)]


def pair_signals(
    left: pd.DataFrame,
    right: pd.DataFrame,
    config: MatchConfig,
    idf: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Everything a decision needs about row-aligned prepared pairs: FEATURES and identifiers."""
    rules = _identifier_rules(left, right)
    return pair_features(left, right, config, idf).assign(
        identifier=pd.Series([rule for rule, _ in rules], index=left.index, dtype=object),
        identifier_reason=pd.Series(
            [reason for _, reason in rules], index=left.index, dtype=object
        ),
    )


def decide(signals: pd.DataFrame, config: MatchConfig) -> pd.DataFrame:
    """Score (0-1) and match for each pair: identifiers decide where they can, weights elsewhere."""
    weighted = signals[list(FEATURES)].to_numpy(dtype=float) @ feature_weights(config)
    score = 1.0 / (1.0 + np.exp(-(config.bias + weighted)))
    # a compatible or remanufactured stand-in is never the maker's own product, however alike
    # the titles: few labelled pairs show it, so the weights alone would not hold it apart
    stand_in = signals["aftermarket_one_sided"].to_numpy(dtype=bool)
    score = np.where(stand_in, np.minimum(score, config.stand_in_score), score)
    identifier = signals["identifier"].to_numpy(dtype=object)
    # identifier is an object array of True / False / None: compare elementwise
    decided_same = identifier == True  # noqa: E712
    decided_apart = identifier == False  # noqa: E712
    score = np.where(decided_same, 1.0, np.where(decided_apart, 0.0, score))
    return pd.DataFrame({"score": score, "match": score >= config.threshold}, index=signals.index)


def score_pairs(
    left: pd.DataFrame,
    right: pd.DataFrame,
    config: MatchConfig = MatchConfig(),
    idf: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Score row-aligned pairs of listings: a frame of ``score`` (0-1) and ``match`` (bool).

    The same code ``match_listings`` uses, batched so a benchmark can score thousands of pairs.
    ``idf`` weighs title words (``title_idf`` of every listing the matcher sees, as
    ``match_listings`` does); by default it is computed from the pairs' own titles.
    """
    if len(left) != len(right):
        raise ValueError(f"left has {len(left)} listings, right {len(right)}: pairs need both")
    prepared_a = prepare_listings(left.reset_index(drop=True))
    prepared_b = prepare_listings(right.reset_index(drop=True))
    return decide(pair_signals(prepared_a, prepared_b, config, idf), config).set_axis(left.index)


def pair_score(a: Mapping, b: Mapping, config: MatchConfig = MatchConfig()) -> PairDecision:
    """Decide one candidate pair, with the reasons a reviewer of matches.toml would want."""
    left = prepare_listings(pd.DataFrame([dict(a)]))
    right = prepare_listings(pd.DataFrame([dict(b)]))
    signals = pair_signals(left, right, config)
    scored = decide(signals, config)
    score = float(scored["score"].iloc[0])
    row = signals.iloc[0]
    reasons = [row["identifier_reason"]] if row["identifier_reason"] else []
    if row["identifier"] is None:
        reasons.append(f"title similarity {row['title_token_set']:.2f}")
        if row["code_strong"]:
            reasons.append(f"same model number ({row['code_detail'].split()[0]})")
        elif row["code_weak"]:
            reasons.append(f"same product line ({row['code_detail']})")
        if row["code_suffixed"]:
            reasons.append("one model number extends the other (a colour or edition?)")
        if row["code_for_device"]:
            reasons.append("the shared model number is the device both fit")
        if row["code_variant"]:
            reasons.append(f"different model numbers ({row['code_detail']})")
        elif row["code_disjoint"]:
            reasons.append("model numbers differ")
        if row["brand_match"]:
            reasons.append("same brand")
        elif row["brand_conflict"]:
            reasons.append("different brands")
        if row["colour_conflict"]:
            reasons.append("different colours")
        if row["aftermarket_one_sided"]:
            reasons.append("only one is compatible, remanufactured or refurbished")
        if row["quantity_conflict"]:
            reasons.append("different sizes or counts")
        if row["price_far"]:
            reasons.append(f"prices {row['price_ratio']:.1f}x apart")
    return PairDecision(score=score, match=bool(scored["match"].iloc[0]), reasons=tuple(reasons))


# ---------------------------------------------------------------- blocking


def _block_keys(prepared: pd.DataFrame) -> dict[str, list[int]]:
    """Positions of listings sharing a brand (or a title's first word) or a model code."""
    blocks: dict[str, list[int]] = defaultdict(list)
    for position, (brand, title, codes) in enumerate(
        zip(prepared["_brand"], prepared["_title"], prepared["_codes"])
    ):
        first_word = title.split(" ", 1)[0] if title else ""
        if brand:
            blocks[f"brand:{brand.split()[0]}"].append(position)
        if first_word and (not brand or first_word != brand.split()[0]):
            blocks[f"brand:{first_word}"].append(position)
        for code in codes.strong:
            blocks[f"code:{code}"].append(position)
    return blocks


def candidate_pairs(prepared: pd.DataFrame, config: MatchConfig) -> np.ndarray:
    """Position pairs (i < j) worth scoring, found inside blocks so cost grows near linearly."""
    titles = prepared["_title"].tolist()
    stores = np.array(
        [str(s) if not _missing(s) else f"\0{i}" for i, s in enumerate(prepared["store"])]
    )
    found: set[tuple[int, int]] = set()
    for key, members in _block_keys(prepared).items():
        if len(members) < 2:
            continue
        if key.startswith("code:"):
            # a code shared by many listings names a series or a spec, not one model
            if len(members) <= config.candidates_per_listing:
                found.update(combinations(members, 2))
            continue
        if len(members) <= config.max_block_size:
            block_titles = [titles[m] for m in members]
            similarity = process.cdist(
                block_titles,
                block_titles,
                scorer=fuzz.token_set_ratio,
                score_cutoff=config.candidate_cutoff,
                dtype=np.uint8,
            )
            block_stores = stores[members]
            # a store's own listings are never fuzzy-merged, so they need no comparison
            similarity[block_stores[:, None] == block_stores[None, :]] = 0
            # each listing's few nearest titles only, so a block of look-alikes stays linear
            keep = min(config.candidates_per_listing, len(members) - 1)
            # (negating a uint8 wraps around, so take the largest from the top end instead)
            nearest = np.argpartition(similarity, len(members) - keep, axis=1)[:, -keep:]
            rows = np.repeat(np.arange(len(members)), keep)
            cols = nearest.ravel()
            good = similarity[rows, cols] > 0
            found.update(zip((members[r] for r in rows[good]), (members[c] for c in cols[good])))
        else:
            ordered = sorted(members, key=lambda m: titles[m])
            window = config.neighbourhood_window
            for offset, first in enumerate(ordered):
                for second in ordered[offset + 1 : offset + 1 + window]:
                    found.add((first, second))
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.array(sorted((min(p), max(p)) for p in found), dtype=np.int64)
    return np.unique(pairs, axis=0)


def _identifier_pairs(prepared: pd.DataFrame) -> Iterable[tuple[int, int, str]]:
    """Listings sharing an exact identifier: GTIN, ASIN, or brand plus MPN."""
    keys = {
        "GTIN": prepared["_gtin"],
        "ASIN": prepared["_asin"],
        "brand+MPN": pd.Series(
            [
                f"{b}|{m}" if b and m and len(m) >= 4 else None
                for b, m in zip(prepared["_brand"], prepared["_mpn"])
            ],
            dtype=object,  # a str dtype would turn None into NaN, which is truthy
        ),
    }
    for name, values in keys.items():
        groups: dict[str, list[int]] = defaultdict(list)
        for position, value in enumerate(values):
            if value:
                groups[value].append(position)
        for members in groups.values():
            for other in members[1:]:
                yield members[0], other, name


# ---------------------------------------------------------------- union with guards


class _Products:
    """Union-find over listing positions that refuses merges the guards forbid."""

    def __init__(self, stores: Sequence[object], gtins: Sequence[str | None]) -> None:
        self.parent = list(range(len(stores)))
        self.stores = [{s} if not _missing(s) else set() for s in stores]
        self.gtins = [{g} if g else set() for g in gtins]
        self.members = [{i} for i in range(len(stores))]
        self.forbidden: list[set[int]] = [set() for _ in stores]

    def find(self, position: int) -> int:
        root = position
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[position] != root:
            self.parent[position], position = root, self.parent[position]
        return root

    def forbid(self, a: int, b: int) -> None:
        self.forbidden[self.find(a)].add(b)
        self.forbidden[self.find(b)].add(a)

    def union(self, a: int, b: int, *, owner: bool = False, identifier: bool = False) -> bool:
        """Merge two listings' products unless a guard objects; owner decisions skip the guards."""
        root_a, root_b = self.find(a), self.find(b)
        if root_a == root_b:
            return True
        if (
            self.forbidden[root_a] & self.members[root_b]
            or self.forbidden[root_b] & self.members[root_a]
        ):
            return False
        if not owner:
            gtins_a, gtins_b = self.gtins[root_a], self.gtins[root_b]
            # two products with different valid GTINs stay apart, however similar the titles
            if gtins_a and gtins_b and not gtins_a & gtins_b:
                return False
            if not identifier and self.stores[root_a] & self.stores[root_b]:
                return False
        if len(self.members[root_a]) < len(self.members[root_b]):
            root_a, root_b = root_b, root_a
        self.parent[root_b] = root_a
        for attribute in (self.stores, self.gtins, self.members, self.forbidden):
            attribute[root_a] |= attribute[root_b]
            attribute[root_b] = set()
        return True


def _override_positions(
    frame: pd.DataFrame, groups: tuple[tuple[str, ...], ...]
) -> list[list[int]]:
    """Override groups as positions; listings are named by url (or listing_id); absent ones skipped."""
    lookup: dict[str, int] = {}
    for column in ("listing_id", "canonical_url", "url"):
        if column in frame.columns:
            for position, value in enumerate(frame[column]):
                if not _missing(value):
                    lookup.setdefault(str(value), position)
    return [[lookup[name] for name in group if name in lookup] for group in groups]


def match_listings(
    listings: pd.DataFrame,
    *,
    config: MatchConfig = MatchConfig(),
    overrides: MatchOverrides | None = None,
) -> pd.DataFrame:
    """Group listings into products: a frame of ``listing_id, product_id``, one row per listing.

    Owner overrides first, then exact identifiers, then fuzzy pairs found in blocks, strongest
    first. A fuzzy pair never joins two listings of one store into a product, so one weak link
    cannot chain a store's whole range together. ``product_id`` is the smallest ``listing_id``
    of the product, so it stays stable while the product's first listing is kept.
    """
    if "listing_id" not in listings.columns:
        raise ValueError("listings need a listing_id column")
    if listings["listing_id"].duplicated().any():
        raise ValueError("listing_id must be unique")
    frame = listings.reset_index(drop=True)
    if frame.empty:
        return pd.DataFrame({"listing_id": frame["listing_id"], "product_id": frame["listing_id"]})
    prepared = prepare_listings(frame)
    products = _Products(prepared["store"].tolist(), prepared["_gtin"].tolist())
    overrides = overrides or MatchOverrides()
    config = overrides.apply(config)

    different = _override_positions(frame, overrides.different)
    for group in different:
        for a, b in combinations(group, 2):
            products.forbid(a, b)
    for group in _override_positions(frame, overrides.same):
        for other in group[1:]:
            if not products.union(group[0], other, owner=True):
                raise ValueError("matches.toml says some listings are both the same and different")

    for a, b, _ in _identifier_pairs(prepared):
        products.union(a, b, identifier=True)

    pairs = candidate_pairs(prepared, config)
    stores = prepared["store"].to_numpy(dtype=object)
    if len(pairs):
        cross_store = np.array(
            [_missing(stores[a]) or stores[a] != stores[b] for a, b in pairs], dtype=bool
        )
        pairs = pairs[cross_store]
    if len(pairs):
        signals = pair_signals(
            prepared.iloc[pairs[:, 0]].reset_index(drop=True),
            prepared.iloc[pairs[:, 1]].reset_index(drop=True),
            config,
            title_idf(prepared["_title"]),
        )
        scored = decide(signals, config)
        score = scored["score"].to_numpy()
        # strongest pairs first, so a weak link meets an already-formed product and its guards
        for position in np.argsort(-score, kind="stable"):
            if score[position] < config.threshold:
                break
            products.union(int(pairs[position, 0]), int(pairs[position, 1]))
        for position in _mutual_best(pairs, score, signals, stores, config):
            products.union(int(pairs[position, 0]), int(pairs[position, 1]))

    ids = frame["listing_id"].to_numpy(dtype=object)
    roots = [products.find(position) for position in range(len(frame))]
    first_id: dict[int, object] = {}
    for root, listing_id in zip(roots, ids):
        if root not in first_id or _sort_key(listing_id) < _sort_key(first_id[root]):
            first_id[root] = listing_id
    return pd.DataFrame(
        {"listing_id": frame["listing_id"], "product_id": [first_id[root] for root in roots]}
    )


def _mutual_best(
    pairs: np.ndarray,
    score: np.ndarray,
    signals: pd.DataFrame,
    stores: np.ndarray,
    config: MatchConfig,
) -> np.ndarray:
    """Positions of unsure pairs whose listings are each other's best candidate in that store.

    Strongest first. Only pairs with agreeing brands and without a conflicting model code or
    colour qualify: a title that merely resembles is not enough.
    """
    unsure = (score >= config.mutual_threshold) & (score < config.threshold)
    if not unsure.any():
        return np.zeros(0, dtype=np.int64)
    frame = pd.DataFrame(
        {
            "a": pairs[:, 0],
            "b": pairs[:, 1],
            "store_a": [str(s) for s in stores[pairs[:, 0]]],
            "store_b": [str(s) for s in stores[pairs[:, 1]]],
            "score": score,
        }
    )
    # each listing's best score among the candidates of every other store
    sides = pd.concat(
        [
            frame[["a", "store_b", "score"]].set_axis(["listing", "store", "score"], axis=1),
            frame[["b", "store_a", "score"]].set_axis(["listing", "store", "score"], axis=1),
        ]
    )
    best = sides.groupby(["listing", "store"])["score"].max()
    best_a = best.reindex(pd.MultiIndex.from_arrays([frame["a"], frame["store_b"]])).to_numpy()
    best_b = best.reindex(pd.MultiIndex.from_arrays([frame["b"], frame["store_a"]])).to_numpy()
    clean = (
        signals["brand_match"].to_numpy(dtype=bool)
        & ~signals["code_variant"].to_numpy(dtype=bool)
        & ~signals["code_disjoint"].to_numpy(dtype=bool)
        & ~signals["colour_conflict"].to_numpy(dtype=bool)
        & ~signals["aftermarket_one_sided"].to_numpy(dtype=bool)
    )
    chosen = np.flatnonzero(unsure & clean & (score >= best_a) & (score >= best_b))
    return chosen[np.argsort(-score[chosen], kind="stable")]


def _sort_key(value: object) -> tuple[str, object]:
    return (type(value).__name__, value)
