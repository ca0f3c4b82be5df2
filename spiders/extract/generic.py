"""Any store: schema.org first, then OpenGraph, then the few visible-text signals that are safe."""

from __future__ import annotations

import dataclasses
import re
from urllib.parse import parse_qsl, urlsplit

from parsel import Selector

from backrank.core.identifiers import read_gtin
from spiders.currency import COUNTRY_CODES, code_for_symbol, symbol_in
from spiders.extract.markup import canonical_url, lowered_page, page_country, squash, text_of
from spiders.extract.schemaorg import (
    StructuredData,
    declares_no_price,
    listing_from_structured,
    reviews_from_structured,
)
from spiders.extract.shown_price import shown_price
from spiders.extract.site_name import site_names, without_site_name
from spiders.extract.stock import buy_button_state, shown_availability
from spiders.extract.visible import (
    inline_codes,
    reconcile_identifiers,
    reconcile_price,
    shown_values,
)
from spiders.items import Listing, Review
from spiders.normalise import normalise_availability, parse_price

# Wording a shop shows when a product has no reviews at all: a known count of 0, not a missing one.
_NO_REVIEWS = re.compile(
    r"be the first to review|write the first review|no reviews yet|there are no reviews yet"
    r"|sem avaliações|noch keine bewertungen|aucun avis|sin opiniones|nessuna recensione"
    r"|brak opinii|nog geen reviews|(?<![\d.,])0 reviews\b",
    re.I,
)
_KNOWN_STOCK = ("in_stock", "out_of_stock")
_ID_PARAMETERS = frozenset(("pid", "sku", "id", "productid", "product_id", "itemid", "item_id", "item", "product", "childsku", "code"))  # fmt: skip
_URL_ID = re.compile(r"(?=[A-Za-z]{0,3}\d)[A-Za-z]{0,3}\d{5,}")
_TRAILING_DIGITS = re.compile(r"(?<=[A-Za-z])\d{6,}$")
_ID_SEGMENTS = 3  # path segments looked at, from the last
_ID_BEFORE = re.compile(r"id[\"']?\s*[:=]\s*[\"']?$", re.I)
_URL_EXTENSION = re.compile(r"\.(?:html?|php|aspx?|jsp)$", re.I)
# the same on the lower-cased markup, whatever whitespace or no-break space the words are
# separated by (a re.I search costs several times more)
_NO_REVIEWS_MARKUP = re.compile(_NO_REVIEWS.pattern.replace(" ", r"(?:\s|&nbsp;|&#160;)+"))
# lower-cased, so a re.I match of _NO_REVIEWS implies one of these is in the lower-cased page
_NO_REVIEWS_HINTS = ("first to review", "first review", "no reviews", "sem avalia", "keine bewertungen", "aucun avis", "sin opiniones", "nessuna recensione", "brak opinii", "geen reviews")  # fmt: skip
_LABEL_CELLS = (
    "//body//*[self::td or self::th or self::dt or self::div or self::span]"
    "[not(descendant::div or descendant::td or descendant::table)]"
    "[string-length(normalize-space(.)) < 24][contains(., ':') or contains(., '#') or self::td or self::th or self::dt]"
)
_SKU_LABELS = (
    "ebay item number",
    "item number",
    "product code",
    "id produto",
    "sku",
    "artikelnummer",
    "référence",
    "ref",
)
_BRAND_LABELS = ("brand", "marke", "marca", "marque", "marchio", "merk", "marka")
_ALL_LABELS = frozenset(_SKU_LABELS + _BRAND_LABELS)
# Cheap pre-check on the markup so the XPath walk only runs on pages that show such a label.
# (run on the lower-cased markup: a re.I search of a large page tries every position)
_ANY_LABEL = re.compile(
    r">\s*(?:" + "|".join(re.escape(label) for label in sorted(_ALL_LABELS)) + r")\s*:?\s*<"
)
_LABELLED_GTIN = re.compile(r"\b(?:EAN|GTIN|UPC|EAN-13|Barcode)\s*[:#]?\s*(\d{8,14})\b")


def parse_listing(
    sel: Selector, data: StructuredData, url: str, text: str | None = None, *, fill: bool = True
) -> Listing:
    """Listing from structured data; canonical URL and a no-reviews count from the page.

    Where the page visibly contradicts the structured data (a product code, the buy box's
    price), the visible value wins; `text` is the page markup `sel` was parsed from. With
    `fill`, what is still missing is read off the page (see fill_from_page); a caller that
    merges a platform parser's reading first passes fill=False and fills after the merge.
    """
    listing = listing_from_structured(data, url)
    listing.platform = "generic"
    listing.canonical_url = canonical_url(sel, url) or listing.canonical_url
    markup = sel.get() if text is None else text
    listing = reconcile_identifiers(
        listing, sel, markup, (listing.image_url, data.opengraph.get("og:image"))
    )
    listing = reconcile_price(listing, sel, markup)
    if listing.title is None:
        headings = sel.css("h1")
        listing.title = text_of(headings) if len(headings) == 1 else None
    names = site_names(
        data.opengraph,
        sel.root.xpath("string(//head/meta[@name='application-name']/@content)"),
        url,
    )
    listing.title = without_site_name(listing.title, names)
    listing.brand = without_site_name(listing.brand, names)
    if listing.gtin is None:
        listing.gtin = _gtin_in_text(listing.description)
    return fill_from_page(listing, sel, url, markup, data) if fill else listing


def fill_from_page(
    listing: Listing,
    sel: Selector,
    url: str,
    text: str | None = None,
    data: StructuredData | None = None,
) -> Listing:
    """The listing with what it still lacks read off the page the way a reader would: the
    shown price (unless the structured offer says 0, a store's "no price"), the currency of
    its symbol, the stock state, a labelled code or the URL's item id as sku (not on a page
    with an ASIN: Amazon's item id is the sku there), labelled brand, and a count of 0 where
    the page says it has no reviews."""
    markup = sel.get() if text is None else text
    lowered = lowered_page(markup)
    if listing.price is None and not (data is not None and declares_no_price(data)):
        listing.price = shown_price(sel.root)
    listing.currency = local_currency(listing, sel, url)
    listing.availability = reconcile_availability(
        listing.availability, sel, offered=parse_price(listing.price) is not None, lowered=lowered
    )
    if listing.sku is None and listing.asin is None:
        listing.sku = inline_codes(sel.root).get("sku") or url_item_id(sel, url, markup)
    if (listing.sku is None and listing.asin is None) or listing.brand is None:
        labelled = labelled_values(sel, lowered)
        if listing.asin is None:
            listing.sku = listing.sku or next(
                (labelled[k] for k in _SKU_LABELS if k in labelled), None
            )
        listing.brand = listing.brand or next(
            (labelled[k] for k in _BRAND_LABELS if k in labelled), None
        )
    if listing.review_count is None and listing.rating is None and _says_no_reviews(sel, lowered):
        listing.review_count = 0
    return listing


def reconcile_availability(
    declared: str | None, sel: Selector, *, offered: bool, lowered: str | None = None
) -> str | None:
    """The stock state a reader sees: the structured one unless the buy button says otherwise
    (an enabled one on an item marked sold out, only disabled ones and nothing to choose on an
    item marked in stock); where nothing is declared, the page's stock line or buy button;
    and where the page says nothing either, a product offered at a price is on sale (a store
    that cannot sell says so, or shows no price)."""
    state = normalise_availability(declared)
    if state == "in_stock" and lowered is not None and not _may_be_disabled_only(lowered):
        return declared  # (plain searches: no button can say otherwise)
    if state in _KNOWN_STOCK:
        return buy_button_state(sel.root) or declared
    shown = shown_availability(sel.root)
    if shown is not None:
        return shown
    return "in_stock" if offered else declared


def _may_be_disabled_only(lowered: str) -> bool:
    """Whether the page could have only disabled buy buttons and nothing to choose: it says
    "disabled" somewhere and has no select list or radio button."""
    return "disabled" in lowered and "<select" not in lowered and "radio" not in lowered


def local_currency(listing: Listing, sel: Selector, url: str) -> str | None:
    """The listing's currency as an ISO code where the page gives only a symbol: a code the
    markup declares, else the symbol in the price read with the page's country ("$" on a
    .com.ar page is ARS, "kr" on a Danish one DKK), else, for a price with no currency at
    all, the currency of the page's country (a price on an Italian page is in euros)."""
    declared = listing.currency
    if declared and len(declared.strip()) == 3 and declared.strip().isalpha():
        return declared
    symbol = symbol_in(declared or "") or symbol_in(str(listing.price or ""))
    if symbol is not None:
        return code_for_symbol(symbol, page_country(sel, url)) or declared
    if declared is None and parse_price(listing.price) is not None:
        return COUNTRY_CODES.get(page_country(sel, url) or "")
    return declared


def url_item_id(sel: Selector, url: str, markup: str) -> str | None:
    """The store's item id as its product URL carries it, when the page shows it too.

    Stores put the item id in the product URL: a query parameter named for it
    (``?pid=260591``, ``?sku=...``) or a token of the path, usually the last one
    (``/itm/133588510845``, ``/M67296549.htm``, ``-p1589482272.html``), sometimes before the
    slug or behind a category code (``/c5780a200532255/slatted-frame.html``). Only a
    code-shaped token (five or more characters with a digit) that the page also shows, or
    that its data names as an id (``"productId": "260591"``), counts: a slug is not an id.
    """
    parts = urlsplit(canonical_url(sel, url) or url)
    candidates = [
        value
        for key, value in parse_qsl(parts.query)
        if key.lower() in _ID_PARAMETERS and _URL_ID.fullmatch(value)
    ]
    segments = [_URL_EXTENSION.sub("", s) for s in parts.path.split("/") if s]
    for segment in reversed(segments[-_ID_SEGMENTS:]):
        for token in [segment, *reversed(re.split(r"[-_.,~]", segment))]:
            if _URL_ID.fullmatch(token):
                candidates.append(token)
            # a category code glued in front of the item id ("c7200a278526196")
            elif trailing := _TRAILING_DIGITS.search(token):
                candidates.append(trailing.group(0))
    for candidate in dict.fromkeys(candidates):
        if _named_as_id(markup, candidate) or candidate in shown_values(sel, [candidate]):
            return candidate
    return None


def _named_as_id(markup: str, value: str) -> bool:
    """The page's data gives the value as an id ("productId": "260591", adId=278526196)."""
    at = markup.find(value)
    while at >= 0:
        end = at + len(value)
        if not (end < len(markup) and (markup[end].isalnum() or markup[end] in "-_")):
            if _ID_BEFORE.search(markup, max(0, at - 24), at):
                return True
        at = markup.find(value, end)
    return False


def labelled_values(sel: Selector, lowered: str | None = None) -> dict[str, str]:
    """Short "Label:" cells and the value in the element right after them (spec tables, item specifics).

    Only exact labels are read, and only a short value, so prose never becomes an identifier.
    `lowered`, the lower-cased page text `sel` was parsed from, saves serialising the tree.
    """
    values: dict[str, str] = {}
    if not _ANY_LABEL.search(sel.get().lower() if lowered is None else lowered):
        return values
    for node in sel.root.xpath(_LABEL_CELLS):
        key = (squash(" ".join(node.itertext())) or "").lower().rstrip(" :").strip()
        if key not in _ALL_LABELS or key in values:
            continue
        following = node.getnext()
        value = squash(" ".join(following.itertext())) if following is not None else None
        if value and len(value) <= 60:
            values[key] = value
    return values


def _gtin_in_text(text: str | None) -> str | None:
    """A labelled EAN/GTIN/UPC in the description ("EAN: 6935364088101"), check digit verified."""
    match = _LABELLED_GTIN.search(text or "")
    return read_gtin(match.group(1)) if match else None


def _says_no_reviews(sel: Selector, lowered: str) -> bool:
    """The no-reviews wording is in the page's text: in the lower-cased markup, outside tags,
    scripts and styles (plain searches rule most pages out before any regex runs)."""
    for hint in (*_NO_REVIEWS_HINTS, "0 reviews"):
        at = lowered.find(hint)
        while at >= 0:
            # the whole wording around the hint ("be the first to review", not "first review
            # of the year"), in the page's text
            match = _NO_REVIEWS_MARKUP.search(lowered, max(0, at - 24), at + len(hint) + 24)
            if match is not None and _in_text(lowered, match.start()):
                return True
            at = lowered.find(hint, at + 1)
    return False


def _in_text(lowered: str, at: int) -> bool:
    """Whether position `at` of the lower-cased markup is text: not inside a tag, a script, a
    style or a comment."""
    if lowered.rfind("<", 0, at) > lowered.rfind(">", 0, at):
        return False
    for opening, closing in (("<script", "</script"), ("<style", "</style"), ("<!--", "-->")):
        if lowered.rfind(opening, 0, at) > lowered.rfind(closing, 0, at):
            return False
    return True


def parse_reviews(data: StructuredData, url: str, language: str | None) -> list[Review]:
    """Reviews given as schema.org Review objects."""
    return reviews_from_structured(data, url, language)


def merge(first: Listing, second: Listing, *, prefer_second: bool) -> Listing:
    """One listing from two readings: the preferred reading's values, gaps filled by the other."""
    winner, filler = (second, first) if prefer_second else (first, second)
    values = {}
    for item in dataclasses.fields(Listing):
        mine = getattr(winner, item.name)
        if item.name == "availability" and normalise_availability(mine) == "unknown":
            mine = None  # stock text that says neither is no reading: the other may know
        values[item.name] = mine if mine is not None else getattr(filler, item.name)
    return Listing(**values)
