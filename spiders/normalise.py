"""Turn raw extracted values (price text, stock wording, star text, review dates) into typed ones."""

from __future__ import annotations

import dataclasses
import functools
import html
import math
import re
from datetime import date
from decimal import Decimal, InvalidOperation

import dateparser
from price_parser import Price

from backrank.core.identifiers import canonical_asin, read_gtin
from spiders.currency import CODE_ALIASES, codes_for_symbol, symbol_in
from spiders.items import Listing, Review

_CENT = Decimal("0.01")
_MAX_PRICE = Decimal("10000000")

_ISO_CODE = re.compile(r"(?<![A-Za-z])([A-Z]{3})(?![A-Za-z])")
# ISO codes we accept when they appear inside price text ("GBP 1.99").
_KNOWN_CODES = frozenset(
    "USD EUR GBP PLN CAD AUD NZD CHF SEK NOK DKK CZK HUF JPY CNY INR BRL MXN RON BGN TRY ZAR"
    " RUB RUR KZT UAH ARS CLP COP TWD HKD SGD KRW ILS SAR AED PKR".split()
)

_OUT_OF_STOCK_WORDS = (
    "out of stock",
    "out_of_stock",
    "outofstock",
    "soldout",
    "sold out",
    "discontinued",
    "unavailable",
    "not available",
    "no longer available",
    "nicht verfügbar",
    "nicht auf lager",
    "nicht lieferbar",
    "ausverkauft",
    "rupture de stock",
    "indisponible",
    "épuisé",
    "epuise",
    "agotado",
    "no disponible",
    "sin stock",
    "sin existencias",
    "esgotado",
    "indisponível",
    "sem stock",
    "sem estoque",
    "non disponibile",
    "esaurito",
    "niedostępny",
    "niedostepny",
    "brak w magazynie",
    "wyprzedany",
    "niet op voorraad",
    "uitverkocht",
    "niet beschikbaar",
    "niet leverbaar",
    "nicht vorrätig",
    "vergriffen",
    "hors stock",
    "plus disponible",
    "wyprzedane",
    "není skladem",
    "nedostupn",
    "nie je skladom",
    "vypredané",
    "ni na zalogi",
    "ni na voljo",
    "nincs raktáron",
    "elfogyott",
    "stoc epuizat",
    "indisponibil",
    "нет в наличии",
    "нет на складе",
    "распродан",
    "немає в наявності",
    "stokta yok",
    "tükendi",
    "slutsåld",
    "ej i lager",
    "utsolgt",
    "udsolgt",
    "ikke på lager",
    "loppuunmyyty",
    "ei varastossa",
    "缺貨",
    "售完",
    "品切れ",
    "在庫切れ",
    "在庫なし",
    "품절",
    "غير متوفر",
    "نفذت الكمية",
    "אזל מהמלאי",
    "לא במלאי",
)
_IN_STOCK_WORDS = (
    "in stock",
    "in_stock",
    "instock",
    "limitedavailability",
    "instoreonly",
    "onlineonly",
    "left in stock",
    "auf lager",
    "lieferbar",
    "verfügbar",
    "en stock",
    "disponible",
    "en existencia",
    "disponibile",
    "disponibilità",
    "in magazzino",
    "em stock",
    "em estoque",
    "disponível",
    "dostępny",
    "dostepny",
    "w magazynie",
    "op voorraad",
    "leverbaar",
    "beschikbaar",
    "vorrätig",
    "na stanie",
    "skladem",
    "na sklade",
    "skladom",
    "na zalogi",
    "raktáron",
    "în stoc",
    "in stoc",
    "в наличии",
    "в наявності",
    "stokta",
    "i lager",
    "på lager",
    "varastossa",
    "有庫存",
    "現貨",
    "在庫あり",
    "재고 있음",
    "متوفر",
    "במלאי",
    "available",
)

# "Reviewed in the United States on July 1, 2024" and its siblings in other Amazon locales.
_REVIEW_DATE_PREFIXES = (
    re.compile(r"^\s*reviewed in .*? on\s+", re.I | re.S),
    re.compile(r"^\s*rezension aus .*? vom\s+", re.I | re.S),
    re.compile(r"^\s*recensito in .*? il\s+", re.I | re.S),
    re.compile(r"^\s*comment[ée] (?:en|au|aux) .*? le\s+", re.I | re.S),
    re.compile(r"^\s*revisado en .*? el\s+", re.I | re.S),
    re.compile(r"^\s*avaliado (?:no|na|em) .*? em\s+", re.I | re.S),
    re.compile(r"^\s*beoordeeld in .*? op\s+", re.I | re.S),
    re.compile(r"^\s*recenzja z .*? z dnia\s+", re.I | re.S),
)
# The date as written, whatever the zone ("2025-01-18 20:15:27 UTC" is the 18th, as dateparser says).
_ISO_DATE = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2})(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2}|\s?UTC|\s?GMT)?)?\s*$"
)
# Fast paths for the shapes most stores print, checked against dateparser in the tests: a
# numeric date with a four-digit year in the page language's order, and an English month name.
_NUMERIC_DATE = re.compile(r"^(\d{1,2})([./-])(\d{1,2})\2(\d{4})$")
_MONTHS = {
    name: number
    for number, names in enumerate(
        (("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
         ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
         ("october", "oct"), ("november", "nov"), ("december", "dec")),
        start=1,
    )
    for name in names
}  # fmt: skip
_MONTH = "(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + ")"
_ENGLISH_DATE = re.compile(
    rf"^(?:{_MONTH}\.? (\d{{1,2}}),? (\d{{4}})|(\d{{1,2}}) {_MONTH}\.? (\d{{4}}))$", re.I
)
_DATE_SETTINGS = {
    "REQUIRE_PARTS": ["day", "month", "year"],
    "PARSERS": ["custom-formats", "absolute-time"],
    "RETURN_AS_TIMEZONE_AWARE": False,
}
_DATE_ORDER = {
    "en": "MDY",
    "de": "DMY",
    "fr": "DMY",
    "it": "DMY",
    "es": "DMY",
    "pt": "DMY",
    "pl": "DMY",
    "nl": "DMY",
}

_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_OUT_OF = re.compile(r"(?:\b(?:out of|of|von|su|sur|de|z|van)\b|/)\s*(\d+(?:[.,]\d+)?)", re.I)
_GROUPED_INT = re.compile(r"(?<![\d.,])(\d{1,3}(?:[.,\u00a0\u202f ]\d{3})+|\d+)(?![\d])")
_ONE_PERSON = re.compile(
    r"^\s*(?:one person|eine person|una persona|une personne|uma pessoa|één persoon|jedna osoba)",
    re.I,
)
_SPACE = re.compile(r"\s+")
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060\ufeff]")  # bidi marks, zero widths


# The longest text a store may give per field, in characters: past what any real product or
# review needs (Amazon caps titles at 200, a long review runs to a few thousand), so a hostile
# store cannot grow every page and the database with a 5 MB title. Longer text is cut, with
# an ellipsis, before anything parses it; an over-long link is dropped, as cutting breaks it.
TEXT_CAPS = {
    "title": 1_000,
    "brand": 200,
    "sku": 200,
    "mpn": 200,
    "gtin": 200,
    "asin": 200,
    "category": 1_000,
    "description": 20_000,
    "author": 300,
    "body": 50_000,
    "review_id": 300,
    "language": 50,
}
VALUE_CAP = 300  # raw prices, currencies, stock wording, ratings, counts and dates
LINK_CAP = 2_048  # canonical and image URLs (the length browsers and sitemaps keep to)
LINK_FIELDS = ("canonical_url", "image_url")
_SET_BY_CRAWLER = ("store", "url", "platform", "fetched_at")  # never text from the page
ELLIPSIS = "\u2026"


def cap_text(item: Listing | Review) -> tuple[list[str], list[str]]:
    """Cut the item's over-long text fields in place (see TEXT_CAPS); return the names of
    the fields cut and of the links dropped."""
    cut, dropped = [], []
    for name in item.__dataclass_fields__:
        value = getattr(item, name)
        if not isinstance(value, str) or name in _SET_BY_CRAWLER:
            continue
        if name in LINK_FIELDS:
            if len(value) > LINK_CAP:
                setattr(item, name, None)
                dropped.append(name)
            continue
        cap = TEXT_CAPS.get(name, VALUE_CAP)
        if len(value) > cap:
            setattr(item, name, value[: cap - 1].rstrip() + ELLIPSIS)
            cut.append(name)
    return cut, dropped


def clean_text(value: object) -> str | None:
    """Collapse whitespace and unescape HTML entities; None for empty or missing text."""
    if value is None:
        return None
    text = _SPACE.sub(" ", _INVISIBLE.sub("", html.unescape(str(value)))).strip()
    return text or None


def parse_price(value: object) -> Decimal | None:
    """Amount of a price ("8,33 €", "$ 2,199 .99", 49.1) as a 2-place Decimal, or None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            return None
    else:
        amount = Price.fromstring(str(value)).amount
    if amount is None or not amount.is_finite() or amount < 0 or amount >= _MAX_PRICE:
        return None
    return amount.quantize(_CENT)


def parse_currency(value: object, currency_hint: str | None = None) -> str | None:
    """ISO 4217 code from a code ("GBP", "pln") or a symbol in price text ("8,33 €"), or None.

    A symbol several currencies share ("$", "kr") means the hint currency when it is one of
    them, else its most common reading (USD for "$").
    """
    text = clean_text(value)
    if text is None:
        return None
    if len(text) == 3 and text.isalpha():
        return CODE_ALIASES.get(text.upper(), text.upper())
    match = _ISO_CODE.search(text)
    if match and match.group(1) in _KNOWN_CODES:
        return CODE_ALIASES.get(match.group(1), match.group(1))
    symbol = symbol_in(text)
    if symbol is None:
        return None
    codes = codes_for_symbol(symbol)
    hint = (currency_hint or "").upper()
    return hint if hint in codes else codes[0]


def normalise_availability(value: object) -> str | None:
    """in_stock / out_of_stock / unknown from schema.org URLs or shop wording; None if missing."""
    text = clean_text(value)
    if text is None:
        return None
    lowered = text.lower()
    if "schema.org/" in lowered:
        lowered = lowered.rsplit("/", 1)[-1]
    for word in _OUT_OF_STOCK_WORDS:
        if word in lowered:
            return "out_of_stock"
    for word in _IN_STOCK_WORDS:
        if word in lowered:
            return "in_stock"
    return "unknown"


def _to_float(number: str) -> float:
    return float(number.replace(",", "."))


def parse_rating(value: object) -> float | None:
    """Star rating in [0, 5] from a number or text ("4,7 von 5 Sternen"); None otherwise."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        rating = float(value)
    else:
        text = str(value)
        match = _NUMBER.search(text)
        if match is None:
            return None
        rating = _to_float(match.group(0))
        scale = _OUT_OF.search(text, match.end())
        if scale is not None and _to_float(scale.group(1)) != 5:
            return None
    if rating != rating or not 0 <= rating <= 5:
        return None
    return rating


def parse_count(value: object) -> int | None:
    """A count ("2,842 ratings", "1.091 Sternebewertungen", "(36 Reviews)") as int, or None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, (float, Decimal)):
        if not math.isfinite(value) or value < 0 or value != int(value):
            return None
        return int(value)
    text = str(value)
    match = _GROUPED_INT.search(text)
    if match is None:
        return None
    rest = text[match.end() :]
    # "4.5" or "1.2K" is not an exact count: prefer None to a guess.
    if re.match(r"[.,]\d|\s*[kKmM]\b", rest):
        return None
    return int(re.sub(r"\D", "", match.group(1)))


def parse_helpful_votes(value: object) -> int | None:
    """Helpful votes from "12 people found this helpful" or "One person found this helpful"."""
    if isinstance(value, str) and _ONE_PERSON.match(value):
        return 1
    return parse_count(value)


def parse_review_date(value: object, language: str | None = None) -> str | None:
    """ISO yyyy-mm-dd from a review date in the page language, Amazon prefix stripped; else None."""
    text = clean_text(value)
    if text is None:
        return None
    return _review_date(text, (language or "").split("-")[0].lower() or None)


@functools.lru_cache(maxsize=8192)
def _review_date(text: str, lang: str | None) -> str | None:
    # Cached: a crawl sees the same few hundred date strings on thousands of reviews, and
    # dateparser takes about a millisecond each.
    iso = _ISO_DATE.match(text)
    if iso:
        return _checked_iso(*iso.groups())
    for prefix in _REVIEW_DATE_PREFIXES:
        stripped = prefix.sub("", text, count=1)
        if stripped != text:
            text = stripped
            break
    if not re.search(r"\d", text) or len(text) > 60:
        return None
    return quick_date(text, lang) or dateparser_date(text, lang)


def dateparser_date(text: str, lang: str | None) -> str | None:
    """What dateparser reads in a date without a prefix (numeric dates in the language's order)."""
    settings = dict(_DATE_SETTINGS)
    if lang in _DATE_ORDER and re.fullmatch(r"[\d./-]+", text):
        settings["DATE_ORDER"] = _DATE_ORDER[lang]
    try:
        parsed = dateparser.parse(text, languages=[lang] if lang else None, settings=settings)
    except (ValueError, OverflowError, KeyError):
        return None
    if parsed is None:
        return None
    return parsed.date().isoformat()


def quick_date(text: str, lang: str | None) -> str | None:
    """The date of "7/1/2024" (in the language's day/month order) or of "July 1, 2024" /
    "1 July 2024" (English or unknown language); None for anything else, left to dateparser."""
    numeric = _NUMERIC_DATE.match(text)
    if numeric and lang in _DATE_ORDER:
        first, _, second, year = numeric.groups()
        month, day = (first, second) if _DATE_ORDER[lang] == "MDY" else (second, first)
        return _checked_iso(year, month, day)
    english = _ENGLISH_DATE.match(text) if lang in (None, "en") else None
    if english:
        month_name, day, year = (
            english.group(1, 2, 3) if english.group(1) else english.group(5, 4, 6)
        )
        return _checked_iso(year, str(_MONTHS[month_name.lower()]), day)
    return None


def _checked_iso(year: str, month: str, day: str) -> str | None:
    try:
        return date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return None


def normalise_identifier(value: object) -> str | None:
    """A sku / mpn: stripped text (numbers become text), None when empty."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return clean_text(value)


def normalise_listing(listing: Listing, currency_hint: str | None = None) -> Listing:
    """A new Listing with typed values (Decimal prices, ISO currency, stock state, 0-5 rating)."""
    price = parse_price(listing.price)
    list_price = parse_price(listing.list_price)
    currency = parse_currency(listing.currency, currency_hint) or parse_currency(
        listing.price, currency_hint
    )
    if currency is None and price is not None and currency_hint:
        currency = currency_hint.upper()
    return dataclasses.replace(
        listing,
        title=clean_text(listing.title),
        brand=clean_text(listing.brand),
        price=price,
        list_price=list_price if list_price != price else None,
        currency=currency,
        availability=normalise_availability(listing.availability),
        rating=parse_rating(listing.rating),
        review_count=parse_count(listing.review_count),
        gtin=read_gtin(listing.gtin),
        mpn=normalise_identifier(listing.mpn),
        sku=normalise_identifier(listing.sku),
        asin=canonical_asin(listing.asin),
        category=clean_text(listing.category),
        description=clean_text(listing.description),
        canonical_url=clean_text(listing.canonical_url),
        image_url=clean_text(listing.image_url),
    )


def normalise_review(review: Review) -> Review:
    """A new Review with a 0-5 rating, an ISO date, an int of helpful votes and clean text."""
    return dataclasses.replace(
        review,
        review_id=clean_text(review.review_id),
        author=clean_text(review.author),
        rating=parse_rating(review.rating),
        title=clean_text(review.title),
        body=clean_text(review.body),
        date=parse_review_date(review.date, review.language),
        helpful_votes=parse_helpful_votes(review.helpful_votes),
    )
