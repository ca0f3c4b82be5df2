"""Currency symbols and ISO 4217 codes: which codes a symbol can mean, and which one a page means.

One home for the symbol facts: ``spiders.normalise`` reads prices with it and the golden
benchmark judges an extracted code against a symbol with it.
"""

from __future__ import annotations

import re

# Symbols (lower-cased) and the codes they are written for, the most common reading first.
# A shared symbol ("$", "kr", "Rs") is settled by the page's country or language.
SYMBOL_CODES: dict[str, tuple[str, ...]] = {
    "€": ("EUR",),
    "eur": ("EUR",),
    "euro": ("EUR",),
    "£": ("GBP",),
    "$": ("USD", "CAD", "AUD", "NZD", "MXN", "ARS", "CLP", "COP", "TWD", "HKD", "SGD", "UYU"),
    "us$": ("USD",),
    "c$": ("CAD",),
    "ca$": ("CAD",),
    "cdn$": ("CAD",),
    "a$": ("AUD",),
    "au$": ("AUD",),
    "nz$": ("NZD",),
    "hk$": ("HKD",),
    "nt$": ("TWD",),
    "s$": ("SGD",),
    "r$": ("BRL",),
    "¥": ("JPY", "CNY"),
    "円": ("JPY",),
    "元": ("CNY", "TWD"),
    "₹": ("INR",),
    "rs": ("INR", "PKR", "LKR", "NPR"),
    "rs.": ("INR", "PKR", "LKR", "NPR"),
    "₨": ("PKR", "INR", "LKR", "NPR"),
    "zł": ("PLN",),
    "zl": ("PLN",),
    "kč": ("CZK",),
    "ft": ("HUF",),
    "kr": ("SEK", "NOK", "DKK", "ISK"),
    "kr.": ("DKK", "SEK", "NOK", "ISK"),
    "chf": ("CHF",),
    "fr.": ("CHF",),
    "lei": ("RON",),
    "leu": ("RON",),
    "лв": ("BGN",),
    "лв.": ("BGN",),
    "₽": ("RUB",),
    "руб": ("RUB",),
    "руб.": ("RUB",),
    "р.": ("RUB", "BYN"),
    "₴": ("UAH",),
    "грн": ("UAH",),
    "грн.": ("UAH",),
    "₸": ("KZT",),
    "тг": ("KZT",),
    "тг.": ("KZT",),
    "тенге": ("KZT",),
    "₺": ("TRY",),
    "tl": ("TRY",),
    "₩": ("KRW",),
    "원": ("KRW",),
    "₪": ("ILS",),
    "ש״ח": ("ILS",),
    "ر.س": ("SAR",),
    "ر.س.": ("SAR",),
    "sr": ("SAR",),
    "د.إ": ("AED",),
    "د.إ.": ("AED",),
    "₫": ("VND",),
    "đ": ("VND",),
    "฿": ("THB",),
    "₱": ("PHP",),
    "rp": ("IDR",),
    "rm": ("MYR",),
    "r": ("ZAR",),
    "kn": ("HRK",),
}
# The codes of countries whose own currency takes a shared symbol ("$" in Argentina is ARS).
COUNTRY_CODES: dict[str, str] = {
    "us": "USD", "ca": "CAD", "au": "AUD", "nz": "NZD", "mx": "MXN", "ar": "ARS", "cl": "CLP",
    "co": "COP", "tw": "TWD", "hk": "HKD", "sg": "SGD", "uy": "UYU", "br": "BRL", "jp": "JPY",
    "cn": "CNY", "in": "INR", "pk": "PKR", "lk": "LKR", "np": "NPR", "se": "SEK", "no": "NOK",
    "dk": "DKK", "is": "ISK", "ru": "RUB", "by": "BYN", "gb": "GBP", "uk": "GBP", "ie": "EUR",
    "ch": "CHF", "pl": "PLN", "cz": "CZK", "hu": "HUF", "ro": "RON", "bg": "BGN", "ua": "UAH",
    "kz": "KZT", "tr": "TRY", "kr": "KRW", "il": "ILS", "sa": "SAR", "ae": "AED", "vn": "VND",
    "th": "THB", "ph": "PHP", "id": "IDR", "my": "MYR", "za": "ZAR", "hr": "HRK",
    "de": "EUR", "fr": "EUR", "it": "EUR", "es": "EUR", "pt": "EUR", "nl": "EUR", "be": "EUR",
    "at": "EUR", "fi": "EUR", "gr": "EUR", "sk": "EUR", "si": "EUR", "ee": "EUR", "lv": "EUR",
    "lt": "EUR", "lu": "EUR", "mt": "EUR", "cy": "EUR",
}  # fmt: skip


def codes_for_symbol(symbol: str) -> tuple[str, ...]:
    """The ISO codes a symbol or code can stand for ("$" -> USD, CAD, ...; "EUR" -> EUR)."""
    key = symbol.strip().lower()
    if key.upper() in CODE_ALIASES:
        return (CODE_ALIASES[key.upper()],)
    if key in SYMBOL_CODES:
        return SYMBOL_CODES[key]
    if len(key) == 3 and key.isascii() and key.isalpha():
        return (key.upper(),)
    return ()


def code_for_symbol(symbol: str, country: str | None = None) -> str | None:
    """The one ISO code a symbol means on a page of `country` (two letters, from the page's
    locale or domain): the country's own currency when the symbol can stand for it, else the
    symbol's most common reading."""
    codes = codes_for_symbol(symbol)
    if not codes:
        return None
    local = COUNTRY_CODES.get((country or "").lower())
    return local if local in codes else codes[0]


def symbol_means(symbol: str, code: str | None) -> bool:
    """True when the page's symbol can be written for the ISO code ("$" for CAD, "€" for EUR)."""
    return code is not None and code.upper() in codes_for_symbol(symbol)


# Codes stores still print for a currency that has a newer one.
CODE_ALIASES = {"RUR": "RUB", "BYR": "BYN", "NIS": "ILS"}
# Symbols found inside price text, longest first; a symbol made of letters must stand alone
# ("kr" in "199 kr", not in "Kroner"; "Rs" in "Rs 23,450").
_SYMBOL_IN_TEXT = re.compile(
    "|".join(
        rf"(?<![^\W\d_]){re.escape(symbol)}(?![^\W\d_])"
        if symbol[-1].isalpha()
        else rf"(?<![^\W\d_]){re.escape(symbol)}"
        for symbol in sorted(SYMBOL_CODES, key=len, reverse=True)
    ),
    re.IGNORECASE,
)


def symbol_in(text: str) -> str | None:
    """The currency symbol written in a price text ("44 890 тг." -> "тг."), or None."""
    match = _SYMBOL_IN_TEXT.search(text)
    return match.group(0) if match else None
