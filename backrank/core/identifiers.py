"""Product identifiers, one rule each: GTIN (check digit, canonical form), ASIN and MPN.

The crawl keeps a GTIN as the page prints it (``read_gtin``: a UPC-A stays 12 digits, so an
affiliate link or a page's JSON-LD shows what the store shows); everything that compares
identifiers (grouping, matching) uses ``canonical_gtin``, ``canonical_asin`` and
``canonical_mpn``. Standard library only: the crawl and the scoring both import it.
"""

from __future__ import annotations

import math
import re
import unicodedata

GTIN_LENGTHS = (8, 12, 13, 14)  # EAN-8, UPC-A, EAN-13, GTIN-14

_GTIN_RUN = re.compile(r"(?<!\d)\d{8,14}(?!\d)")
_LABEL_SEPARATORS = re.compile(r"[\s-]")
_ASIN = re.compile(r"[A-Z0-9]{10}")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
# Placeholder MPNs seen on real pages ("N/A", "Does not apply"), folded: they would glue
# unrelated products together.
_PLACEHOLDER_MPNS = frozenset({"na", "none", "null", "unknown", "notapplicable", "doesnotapply"})


def gtin_check_digit(body: str) -> str:
    """The GS1 check digit for the digits before it (weights 3, 1, 3, ... from the right)."""
    total = sum(int(digit) * (3 if i % 2 == 0 else 1) for i, digit in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def is_gtin(digits: str) -> bool:
    """True for 8, 12, 13 or 14 ASCII digits, not all zeros, ending in their check digit."""
    return (
        len(digits) in GTIN_LENGTHS
        and digits.isascii()
        and digits.isdigit()
        and digits.strip("0") != ""
        and gtin_check_digit(digits[:-1]) == digits[-1]
    )


def read_gtin(value: object) -> str | None:
    """The one GTIN a value carries, its digits as printed; None when there is none or two.

    ``"590-1885-533094"`` and ``" 0 36000 29145 2 "`` are one code written with separators;
    ``"EAN: 6935364088101"`` is a code in a label. A code whose check digit fails is never
    kept, and neither is text naming two different valid codes.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            return None
        value = int(value)  # a code read into a float column: 4054278533728.0
    text = str(value).strip()
    compact = _LABEL_SEPARATORS.sub("", text)
    candidates = [compact] if compact.isdigit() else _GTIN_RUN.findall(text)
    valid = {digits for digits in candidates if is_gtin(digits)}
    return valid.pop() if len(valid) == 1 else None


def canonical_gtin(value: object) -> str | None:
    """The GTIN in the one form identifiers are compared in: 13 digits, or 14 for a GTIN-14.

    UPC-A ``036000291452``, EAN-13 ``0036000291452`` and GTIN-14 ``00036000291452`` are one
    item and all give ``0036000291452``; an EAN-8 is zero-padded the same way. Only a GTIN-14
    with a packaging indicator (a first digit other than 0) keeps 14 digits. This is the form
    in product ids (``gtin-0036000291452``), so it must not change.
    """
    digits = read_gtin(value)
    if digits is None:
        return None
    padded = digits.zfill(14)
    return padded[1:] if padded[0] == "0" else padded


def canonical_asin(value: object) -> str | None:
    """An Amazon ASIN: 10 letters or digits, upper case as Amazon writes it; None otherwise.

    Spaces and the invisible marks Amazon pages put around values (left-to-right marks,
    zero-width spaces) are dropped first.
    """
    if value is None or isinstance(value, bool | float):
        return None
    text = "".join(
        ch for ch in str(value) if not ch.isspace() and unicodedata.category(ch) != "Cf"
    ).upper()
    return text if _ASIN.fullmatch(text) else None


def fold(text: object) -> str:
    """Lower-case ASCII text with accents removed; '' for anything but text."""
    if not isinstance(text, str):
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    return decomposed.encode("ascii", "ignore").decode("ascii").lower()


def canonical_mpn(value: object) -> str | None:
    """A manufacturer part number folded to letters and digits ("VGP-BKB1" -> "vgpbkb1").

    Short codes stay (Teeter's "X3" is a model); None for a placeholder ("N/A", "unknown").
    """
    if value is None or isinstance(value, bool | float):  # a float is a missing value (NaN)
        return None
    mpn = _NON_ALNUM.sub("", fold(str(value)))
    return mpn if mpn and mpn not in _PLACEHOLDER_MPNS else None
