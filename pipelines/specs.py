"""Specs read from listing text: user weight and height limits, traction force, waist range, warranty."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd

from backrank.core.settings import SPEC_NAMES

# Where specs are looked for, most reliable first; the first field with a match wins.
TEXT_FIELDS = ("title", "specs_text", "description")

LB_PER_KG = 2.20462
CM_PER_IN = 2.54
# Plausible values (in lb, in, years); a match outside is a misreading, never a spec.
PLAUSIBLE = {
    "max_user_weight_lb": (50.0, 1000.0),
    "height_in": (36.0, 96.0),
    "traction_force_lb": (1.0, 500.0),
    "waist_in": (15.0, 80.0),
    "warranty_years": (0.05, 30.0),
}
# Two listings agree on a value within this share (136 kg and 300 lb are one claim).
AGREEMENT_TOLERANCE = 0.015

_NUM = r"\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?"
_WEIGHT_UNIT = r"(?:lbs?|pounds?|kgs?|kilograms?|kilos?)\b\.?"
_LENGTH_UNIT = r"(?:cm\b|in\b\.?|inch(?:es)?\b|\"|\u2033|\u201d|'')"
_FEET = r"\d\s*(?:'|\u2032|\u2019|ft\b\.?|feet\b|foot\b)"
_INCHES = r"\d{1,2}(?:\.\d+)?\s*(?:\"|\u2033|\u201d|''|in\b\.?|inch(?:es)?\b)?"
_FT_IN = rf"{_FEET}(?:\s*{_INCHES})?"
_TO = r"\s*(?:-|\u2013|\u2014|~|to|and|through)\s*"
_NOT_FORCE = r"(?!\s*(?:of\s+)?(?:traction|decompression|force|pull|stretch))"

MAX_WEIGHT_PATTERNS = (
    re.compile(
        r"\b(?:max(?:imum)?\.?\s*(?:user\s*|body\s*)?(?:weight|load)|weight\s*(?:capacity|limit|rating)"
        r"|user\s*weight(?:\s*(?:capacity|limit))?|load\s*capacity|capacity|supports?|holds?"
        r"|accommodates?|handles?|rated\s+(?:for|to)|users?\s+(?:weighing\s+)?up\s+to)"
        r"(?:\s*(?:of|is|:|-|\u2013|up\s+to|users?|people|persons?|approx\.?|about))*\s*"
        rf"(?P<value>{_NUM})\s*-?\s*(?P<unit>{_WEIGHT_UNIT}){_NOT_FORCE}",
        re.IGNORECASE,
    ),
    re.compile(
        rf"(?P<value>{_NUM})\s*-?\s*(?P<unit>{_WEIGHT_UNIT})\s*"
        r"(?:max(?:imum)?\.?\s*(?:user\s*)?weight|(?:user\s*)?weight\s*(?:capacity|limit)"
        r"|capacity|load\s*capacity|user\s*weight)",
        re.IGNORECASE,
    ),
)
TRACTION_PATTERNS = (
    re.compile(
        rf"(?P<value>{_NUM})\s*-?\s*(?P<unit>{_WEIGHT_UNIT})\s*(?:of\s+)?"
        r"(?:traction|decompression|pulling|stretching)(?:\s*(?:force|power))?",
        re.IGNORECASE,
    ),
    re.compile(
        r"\b(?:traction|decompression|pulling)\s*(?:force|power)\s*(?:of|:|is|-|\u2013)?\s*"
        rf"(?:up\s+to\s+)?(?:(?:{_NUM}){_TO})?(?P<value>{_NUM})\s*-?\s*(?P<unit>{_WEIGHT_UNIT})",
        re.IGNORECASE,
    ),
)
_HEIGHT_CONTEXT = (
    r"\b(?:users?|user\s+heights?|heights|people|persons?|individuals|fits|accommodates"
    r"|height\s+range)\b[^.;\n\d]{0,25}?"
)
_HEIGHT_VALUE = rf"(?:{_FT_IN}|{_NUM}\s*{_LENGTH_UNIT})"
HEIGHT_RANGE_PATTERNS = (
    # "4'10" to 6'6"" and "5 ft 1 in - 6 ft 6 in": feet on both sides is a person's height.
    re.compile(rf"(?P<lo>{_FT_IN}){_TO}(?P<hi>{_FT_IN})", re.IGNORECASE),
    re.compile(
        rf"{_HEIGHT_CONTEXT}(?P<lo>{_NUM})\s*(?P<lo_unit>{_LENGTH_UNIT})?{_TO}"
        rf"(?P<hi>{_NUM})\s*(?P<hi_unit>{_LENGTH_UNIT})",
        re.IGNORECASE,
    ),
)
HEIGHT_MAX_PATTERNS = (
    re.compile(
        rf"\b(?:users?|people|persons?|heights?)\s+(?:up\s+to|under|below|to)\s+(?P<hi>{_HEIGHT_VALUE})"
        rf"|(?:up\s+to|under)\s+(?P<hi2>{_FT_IN})\s*tall",
        re.IGNORECASE,
    ),
)
WAIST_PATTERNS = (
    re.compile(
        r"\bwaists?(?:\s*(?:size|sizes|circumference|range|measurements?))?[^.;\n\d]{0,20}?"
        rf"(?P<lo>{_NUM})\s*(?P<lo_unit>{_LENGTH_UNIT})?{_TO}(?P<hi>{_NUM})\s*"
        rf"(?P<hi_unit>{_LENGTH_UNIT})",
        re.IGNORECASE,
    ),
    re.compile(
        rf"(?P<lo>{_NUM})\s*(?P<lo_unit>{_LENGTH_UNIT})?{_TO}(?P<hi>{_NUM})\s*"
        rf"(?P<hi_unit>{_LENGTH_UNIT})\s*(?:\(\s*)?waists?\b",
        re.IGNORECASE,
    ),
)
_COUNT_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "fifteen": 15, "twenty": 20,
}  # fmt: skip
_COUNT = rf"\d{{1,3}}|{'|'.join(_COUNT_WORDS)}"
_PERIOD = r"years?|yrs?\.?|months?|mos?\.?|days?"
WARRANTY_PATTERNS = (
    re.compile(
        rf"\b(?P<value>{_COUNT})[\s-]*(?P<unit>{_PERIOD})\s*(?:\(\s*\d+\s*\)\s*)?"
        r"(?:(?:limited|manufacturer'?s?|frame|full|structural|parts)\s+)*warranty",
        re.IGNORECASE,
    ),
    re.compile(
        r"\bwarranty(?:\s*period)?\s*(?::|of|is|-|\u2013)?\s*"
        rf"(?P<value>{_COUNT})[\s-]*(?P<unit>{_PERIOD})",
        re.IGNORECASE,
    ),
    re.compile(r"\blifetime\s+(?:limited\s+)?warranty|\bwarranty\s*:\s*lifetime", re.IGNORECASE),
)


@dataclass(frozen=True)
class _Found:
    """Specs read from one match: ``{name: (value, unit)}`` and the matched text."""

    start: int
    values: dict[str, tuple[float | None, str]]
    source: str
    note: str | None = None


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def _pounds(value: str, unit: str) -> float:
    amount = _number(value)
    return amount * LB_PER_KG if unit.casefold().startswith("k") else amount


def _length_in(token: str, unit: str | None) -> float | None:
    """A length token ("4'10\"", "5 ft 1 in", "198") in inches; ``unit`` for bare numbers."""
    feet = re.match(
        r"\s*(\d)\s*(?:'|\u2032|\u2019|ft\b\.?|feet\b|foot\b)\s*(\d{1,2}(?:\.\d+)?)?",
        token,
        re.IGNORECASE,
    )
    if feet:
        inches = float(feet.group(2)) if feet.group(2) else 0.0
        return None if inches >= 12 else int(feet.group(1)) * 12 + inches
    number = re.match(rf"\s*({_NUM})\s*({_LENGTH_UNIT})?", token, re.IGNORECASE)
    if number is None:
        return None
    unit = number.group(2) or unit
    if unit is None:
        return None
    amount = _number(number.group(1))
    return amount / CM_PER_IN if unit.strip().casefold() == "cm" else amount


def _plausible(value: float | None, kind: str) -> bool:
    low, high = PLAUSIBLE[kind]
    return value is not None and low <= value <= high


def _weight_matches(text: str) -> Iterator[_Found]:
    for pattern in MAX_WEIGHT_PATTERNS:
        for match in pattern.finditer(text):
            pounds = _pounds(match["value"], match["unit"])
            if _plausible(pounds, "max_user_weight_lb"):
                yield _Found(match.start(), {"max_user_weight_lb": (pounds, "lb")}, match[0])


def _traction_matches(text: str) -> Iterator[_Found]:
    for pattern in TRACTION_PATTERNS:
        for match in pattern.finditer(text):
            pounds = _pounds(match["value"], match["unit"])
            if _plausible(pounds, "traction_force_lb"):
                yield _Found(match.start(), {"traction_force_lb": (pounds, "lb")}, match[0])


def _range_matches(
    text: str, patterns: tuple[re.Pattern[str], ...], kind: str, names: tuple[str, str]
) -> Iterator[_Found]:
    for pattern in patterns:
        for match in pattern.finditer(text):
            groups = match.groupdict()
            hi_unit = groups.get("hi_unit")
            low = _length_in(match["lo"], groups.get("lo_unit") or hi_unit)
            high = _length_in(match["hi"], hi_unit)
            if _plausible(low, kind) and _plausible(high, kind) and low < high:  # type: ignore[operator]
                values = {names[0]: (low, "in"), names[1]: (high, "in")}
                yield _Found(match.start(), values, match[0].strip())


def _height_max_matches(text: str) -> Iterator[_Found]:
    for pattern in HEIGHT_MAX_PATTERNS:
        for match in pattern.finditer(text):
            high = _length_in(match["hi"] or match["hi2"], None)
            if _plausible(high, "height_in"):
                yield _Found(match.start(), {"height_max_in": (high, "in")}, match[0])


def _warranty_matches(text: str) -> Iterator[_Found]:
    for pattern in WARRANTY_PATTERNS:
        for match in pattern.finditer(text):
            if "value" not in pattern.groupindex:
                values = {"warranty_years": (None, "years")}
                yield _Found(match.start(), values, match[0], note="lifetime")
                continue
            count = match["value"].casefold()
            amount = float(_COUNT_WORDS.get(count) or count)
            unit = match["unit"].casefold()
            years = (
                amount / 365
                if unit.startswith("d")
                else amount / 12
                if unit.startswith("m")
                else amount
            )
            if _plausible(years, "warranty_years"):
                yield _Found(
                    match.start(), {"warranty_years": (round(years, 2), "years")}, match[0]
                )


def _finders(text: str) -> dict[str, Iterator[_Found]]:
    return {
        "max_user_weight_lb": _weight_matches(text),
        "traction_force_lb": _traction_matches(text),
        "height": _range_matches(
            text, HEIGHT_RANGE_PATTERNS, "height_in", ("height_min_in", "height_max_in")
        ),
        "height_max": _height_max_matches(text),
        "waist": _range_matches(text, WAIST_PATTERNS, "waist_in", ("waist_min_in", "waist_max_in")),
        "warranty_years": _warranty_matches(text),
    }


def specs_from_text(texts: dict[str, str | None]) -> dict[str, dict[str, Any]]:
    """Specs found in one listing's texts (``{field: text}``, searched in that order).

    Each spec is ``{value, unit, source, field}`` (value in lb, in or years, rounded to 0.1;
    ``source`` the matched text) plus ``note`` for a lifetime warranty, whose value is None.
    A spec no text states is absent: nothing is guessed.
    """
    specs: dict[str, dict[str, Any]] = {}
    for field, text in texts.items():
        if not isinstance(text, str) or not text.strip():
            continue
        for found_iter in _finders(text).values():
            first = min(found_iter, key=lambda f: f.start, default=None)
            if first is None:
                continue
            for name, (value, unit) in first.values.items():
                if name in specs:
                    continue
                entry: dict[str, Any] = {
                    "value": None if value is None else _rounded(value, name),
                    "unit": unit,
                    "source": " ".join(first.source.split()),
                    "field": field,
                }
                if first.note:
                    entry["note"] = first.note
                specs[name] = entry
    return {name: specs[name] for name in SPEC_NAMES if name in specs}


def _rounded(value: float, name: str) -> float:
    return round(value, 2 if name == "warranty_years" else 1)


def extract_specs(listings: pd.DataFrame) -> pd.DataFrame:
    """``[listing_id, specs]``: per listing, the specs its title, spec table and description state."""
    fields = [f for f in TEXT_FIELDS if f in listings.columns]
    columns = [listings[f].tolist() for f in fields]
    specs = [
        specs_from_text(dict(zip(fields, values, strict=True)))
        for values in zip(*columns, strict=True)
    ] if fields else [{} for _ in range(len(listings))]  # fmt: skip
    return pd.DataFrame(
        {
            "listing_id": listings["listing_id"].to_numpy(),
            "specs": pd.Series(specs, dtype=object).to_numpy(),
        }
    )


def product_specs(listing_specs: pd.DataFrame, product_listings: pd.DataFrame) -> pd.DataFrame:
    """``[product_id, specs]``: each spec's value stated by the most listings of the product.

    Listings agree when their values are within 1.5% (136 kg and 300 lb). On a conflict the
    value from the most listings wins (a tie: the first listing by id) and the entry gains
    ``conflict``: the other values with how many listings state each; ``listings`` counts
    the listings that state the kept value.
    """
    merged = (
        product_listings[["product_id", "listing_id"]]
        .merge(listing_specs[["listing_id", "specs"]], on="listing_id", how="left")
        .sort_values(["product_id", "listing_id"], kind="stable")
    )
    products: dict[Any, dict[str, list[dict[str, Any]]]] = {}
    for product_id, specs in zip(merged["product_id"], merged["specs"], strict=True):
        claims = products.setdefault(product_id, {})
        if isinstance(specs, dict):
            for name, entry in specs.items():
                claims.setdefault(name, []).append(entry)
    rows = [
        {name: _agreed(entries) for name, entries in claims.items()} for claims in products.values()
    ]
    return pd.DataFrame(
        {
            "product_id": pd.Series(list(products), dtype=object),
            "specs": pd.Series(rows, dtype=object),
        }
    )


def _agreed(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The claim most entries agree on, with any disagreement noted."""
    groups: list[list[dict[str, Any]]] = []
    for entry in entries:
        for group in groups:
            if _same(group[0]["value"], entry["value"]):
                group.append(entry)
                break
        else:
            groups.append([entry])
    groups.sort(key=len, reverse=True)  # stable: ties keep the first listing's value
    kept = dict(groups[0][0])
    kept["listings"] = len(groups[0])
    if len(groups) > 1:
        kept["conflict"] = [{"value": g[0]["value"], "listings": len(g)} for g in groups[1:]]
    return kept


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= AGREEMENT_TOLERANCE * max(abs(a), abs(b))
