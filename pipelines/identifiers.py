"""What a listing's title and MPN say for matching: brand, model numbers, colours, sizes.

The identifier rules themselves (GTIN check digit, ASIN, MPN) live in ``backrank.core.identifiers``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise

from backrank.core.identifiers import canonical_mpn, fold

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_MIN_CODE_LENGTH = 3
# A title token: letters/digits, possibly joined by - . / (kept together so "dcs-1100" is one code).
_TOKEN = re.compile(r"[a-z0-9]+(?:[\-./][a-z0-9]+)*")
# Quantities and specs look like model numbers (mixed letters and digits) but are not.
_UNIT = re.compile(
    r"^\d+(?:\.\d+)?(?:x\d+(?:\.\d+)?)*"
    r"(?:gb|mb|tb|kb|mhz|ghz|hz|khz|w|kw|v|mah|ah|mm|cm|m|in|inch|inches|ft|feet|lb|lbs|oz|"
    r"pk|pack|ct|count|pc|pcs|pcs|x|p|i|k|th|st|nd|rd|ms|mp|mpx|mbps|gbps|ppm|dpi|bit|"
    r"port|ports|pin|page|pages|sheet|sheets|ml|l|g|kg|yd|yds|min|hr|hrs|hours|s|db|a|ma|"
    r"vac|vdc|d|gen|j|lm|nm|rpm|c|f)$"
)
# Letters-then-digits spec words that are technologies, not models (ddr2, usb3, cat5e, pc2700).
_SPEC = re.compile(
    r"^(?:ddr\d*|usb\d*|cat\d+e?|pc\d+|sata\d*|pci\d*|hdmi\d*|mp3|mp4|h264|x264|ipv\d|"
    r"ieee\d+|rj\d+|db\d+|dvi\d*|ps\d|wpa\d*|ipod\d*|iphone\d*|ipad\d*|g\d|n\d+|ac\d+|"
    r"gddr\d*|\d+x[a-z]+|\d+(?:gb|tb|mb)[a-z]*|win\d+|windows\d+|xp\d*|lga\d+|am\d|ddr\d+\w*|pc\d+\w*|ide\d*|\d+p|\d+i)$"
)
_COUNTED_NOUN = re.compile(r"^\d+(?:\.\d+)?-[a-z]+$")
# Short words that never open a product-line code ("for 32" is a size range, not "for32").
_NOT_PREFIXES = frozenset(
    {"for", "to", "and", "with", "of", "the", "in", "up", "fits", "from", "by"}
)
# Words saying a listing is not the maker's own new product but something made to fit it.
_AFTERMARKET = re.compile(
    r"\b(?:compatible|remanufactured|replacement|replaces|generic|refurbished)\b"
)
_BRAND_SUFFIXES = frozenset(
    {"inc", "corp", "corporation", "co", "company", "ltd", "llc", "gmbh", "group", "the"}
)


def mpn_code(value: object) -> str | None:
    """An MPN as a model code: canonical, and three characters or more.

    One or two characters ("X3") name a model only together with the brand, never in a title.
    """
    code = canonical_mpn(value)
    return code if code is not None and len(code) >= _MIN_CODE_LENGTH else None


def normalise_brand(value: object) -> str | None:
    """A brand folded to its words without punctuation or legal suffixes ("Bell'O Inc." -> "bello")."""
    words = [w for w in re.split(r"\s+", re.sub(r"['’`.]", "", fold(value))) if w]
    words = [_NON_ALNUM.sub("", w) for w in words]
    words = [w for w in words if w and w not in _BRAND_SUFFIXES]
    return " ".join(words) or None


def is_model_like(token: str) -> bool:
    """Whether a normalised token looks like a model number: letters+digits, or a long number."""
    if len(token) < 4 or _UNIT.match(token) or _SPEC.match(token):
        return False
    has_digit = any(c.isdigit() for c in token)
    has_alpha = any(c.isalpha() for c in token)
    if has_digit and has_alpha:
        return True
    return has_digit and len(token) >= 5


def title_tokens(title: object) -> list[str]:
    """The raw tokens of a title, lower-cased, with inner - . / kept.

    A marketplace's "New-" glued to the first word is dropped ("New-7653 ink" -> "7653", "ink").
    """
    tokens = _TOKEN.findall(fold(title))
    if tokens and tokens[0].startswith("new-"):
        tokens[0] = tokens[0].removeprefix("new-")
    return tokens


@dataclass(frozen=True)
class ModelCodes:
    """Model-number-like codes of one listing, normalised ("VGP-BKB1" -> "vgpbkb1").

    ``strong`` codes name one product (an MPN, "c270h", "kx-tg6645b"); ``weak`` ones often
    name a product line or a spec ("dect 6.0", "gt 520", "m310") and only support a match.
    ``compact`` is the title and MPN with everything but letters and digits removed, so a
    code written with spaces ("ml 2250") is still found.
    """

    strong: frozenset[str]
    weak: frozenset[str]
    compact: str
    words: frozenset[str] = frozenset()  # every title and MPN word, normalised like a code
    # codes written after "for": the device an accessory fits ("case for asus tf101"), not its model
    targets: frozenset[str] = frozenset()

    @property
    def every(self) -> frozenset[str]:
        return self.strong | self.weak


def model_codes(title: object, mpn: object = None, brand: object = None) -> ModelCodes:
    """The model codes in a title and an MPN field ("HP NU561AA" counts as "nu561aa" too)."""
    strong: set[str] = set()
    weak: set[str] = set()
    # "10-outlet", "3-button": a count and a noun, not a code
    words = [w for w in title_tokens(title) if not _COUNTED_NOUN.match(w)]
    normalised = [_canonical_code(_NON_ALNUM.sub("", w)) for w in words]
    brand_words = set(_NON_ALNUM.sub(" ", fold(brand)).split()) | {_NON_ALNUM.sub("", fold(brand))}
    for word in normalised:
        if is_model_like(word) and word not in brand_words:
            (strong if _is_specific(word) else weak).add(word)
    for left, right in pairwise(normalised):
        joined = left + right
        # "gt 520", "ml 2250": a short prefix and a number, often a product line
        prefix_joins = (
            left.isalpha()
            and len(left) <= 4
            and left not in _NOT_PREFIXES
            and right.isdigit()
            and 2 <= len(right) <= 4
        )
        # "spp4107a 17": a code and a short suffix
        suffix_joins = is_model_like(left) and len(right) <= 3 and right.isdigit()
        if (prefix_joins or suffix_joins) and is_model_like(joined):
            weak.add(joined)
    for raw in re.split(r"\s+/\s+|,|;", fold(mpn)):
        mpn_words = raw.split()
        # "m531 red", "video spectra 1.5": descriptive words, so only the code-like words count
        parts = mpn_words if any(w.isalpha() and len(w) >= 3 for w in mpn_words) else [raw]
        for part in parts:
            code = mpn_code(part)
            if code and _mixed_or_number(code) and not _SPEC.match(code) and not _unit_like(code):
                strong.add(_canonical_code(code))
    brand_prefix = _NON_ALNUM.sub("", fold(brand))
    if brand_prefix:
        for code in list(strong):
            rest = code.removeprefix(brand_prefix)
            if rest != code and is_model_like(rest):
                strong.add(rest)
    compact = _NON_ALNUM.sub("", fold(title) + fold(mpn))
    # each word whole ("dgs-1008p" -> "dgs1008p") and in its pieces ("1008p")
    pieces = [p for w in words + title_tokens(mpn) for p in [w, *re.split(r"[\-./]", w)]]
    every_word = {_canonical_code(_NON_ALNUM.sub("", p)) for p in pieces}
    after_for = normalised[normalised.index("for") + 1 :] if "for" in normalised else []
    target_compact = "".join(after_for)
    targets = {code for code in strong | weak if code in target_compact}
    return ModelCodes(
        strong=frozenset(strong),
        weak=frozenset(weak - strong),
        compact=compact,
        words=frozenset(every_word),
        targets=frozenset(targets),
    )


def _unit_like(code: str) -> bool:
    """A quantity ("50m", "16gb"), unless its number is too long for one ("2544m" is a part)."""
    match = _UNIT.match(code)
    return bool(match) and len(re.match(r"\d*", code).group()) < 4


def _canonical_code(code: str) -> str:
    # "02160" and "2160" are one part number
    return code.lstrip("0") or code if code.isdigit() else code


def _is_specific(code: str) -> bool:
    digits = sum(c.isdigit() for c in code)
    if digits == len(code):
        return len(code) >= 5
    return len(code) >= 5 or (len(code) >= 4 and digits >= 2)


def _mixed_or_number(code: str) -> bool:
    has_digit = any(c.isdigit() for c in code)
    return has_digit and (len(code) >= 4 or any(c.isalpha() for c in code))


_COLOURS = {
    "black": "black",
    "white": "white",
    "red": "red",
    "blue": "blue",
    "green": "green",
    "grn": "green",
    "silver": "silver",
    "sil": "silver",
    "gray": "gray",
    "grey": "gray",
    "pink": "pink",
    "purple": "purple",
    "violet": "purple",
    "yellow": "yellow",
    "orange": "orange",
    "brown": "brown",
    "cyan": "cyan",
    "magenta": "magenta",
    "gold": "gold",
    "beige": "beige",
    "bronze": "bronze",
    "navy": "blue",
    "teal": "teal",
    "camo": "camouflage",
    "camouflage": "camouflage",
    "clear": "clear",
    "ivory": "ivory",
    "tan": "tan",
}
_QUANTITY = re.compile(
    r"(\d+(?:\.\d+)?)\s?(tb|gb|mb|mp|ghz|mhz|w|mah|ft|feet|foot|inch|inches|in|pk|pack|"
    r"ct|count|sheets|pages|page|port|ports|outlet|outlets|piece|pieces|oz|lb|lbs|mm|ml)\b"
)
_UNIT_FAMILY = {
    "tb": ("bytes", 1000.0),
    "gb": ("bytes", 1.0),
    "mb": ("bytes", 0.001),
    "mp": ("megapixels", 1.0),
    "ghz": ("hertz", 1000.0),
    "mhz": ("hertz", 1.0),
    "w": ("watts", 1.0),
    "mah": ("mah", 1.0),
    "ft": ("length", 12.0),
    "feet": ("length", 12.0),
    "foot": ("length", 12.0),
    "inch": ("length", 1.0),
    "inches": ("length", 1.0),
    "in": ("length", 1.0),
    "mm": ("length", 1 / 25.4),
    "pk": ("count", 1.0),
    "pack": ("count", 1.0),
    "ct": ("count", 1.0),
    "count": ("count", 1.0),
    "sheets": ("sheets", 1.0),
    "pages": ("pages", 1.0),
    "page": ("pages", 1.0),
    "port": ("ports", 1.0),
    "ports": ("ports", 1.0),
    "outlet": ("outlets", 1.0),
    "outlets": ("outlets", 1.0),
    "piece": ("count", 1.0),
    "pieces": ("count", 1.0),
    "oz": ("ounces", 1.0),
    "lb": ("pounds", 1.0),
    "lbs": ("pounds", 1.0),
    "ml": ("ml", 1.0),
}


def colours(title: object) -> frozenset[str]:
    """The colour words of a title, folded to one name each ("grey" -> "gray")."""
    return frozenset(_COLOURS[w] for w in _NON_ALNUM.sub(" ", fold(title)).split() if w in _COLOURS)


def is_aftermarket(title: object) -> bool:
    """Whether a title sells a compatible, remanufactured or refurbished stand-in for a product."""
    return bool(_AFTERMARKET.search(fold(title)))


def quantities(title: object) -> frozenset[tuple[str, float]]:
    """Sizes and counts in a title as (family, value): "1 TB" -> ("bytes", 1000.0)."""
    text = re.sub(r"[\-_]", " ", fold(title))
    found = set()
    for number, unit in _QUANTITY.findall(text):
        family, factor = _UNIT_FAMILY[unit]
        found.add((family, round(float(number) * factor, 3)))
    return frozenset(found)


def clean_title(title: object) -> str:
    """A title folded to space-separated alphanumeric words, for fuzzy comparison.

    A code written with dashes stays one word ("EP-960" -> "ep960"), as another store may
    write it without them.
    """
    words = []
    for token in title_tokens(title):
        joined = _NON_ALNUM.sub("", token)
        words.extend([joined] if is_model_like(joined) else _NON_ALNUM.sub(" ", token).split())
    return " ".join(words)
