"""What a reader sees on the page overrides structured identifiers and prices nobody can see."""

from __future__ import annotations

import dataclasses
import re

from lxml import etree
from parsel import Selector

from spiders.extract.markup import squash
from spiders.items import Listing
from spiders.normalise import parse_currency, parse_price

# A labelled code inside one text node: ">Product code: 83810610<". Only these labels count, and
# only a code-shaped value (one token with a digit), so prose never becomes an identifier.
_SKU_LABELS = (
    r"product\s+code|item\s+code|item\s+no\.?|item\s+number|item\s*#|article\s+no\.?|article\s+number"
    r"|product\s+(?:id|number|no\.?)|item\s+id|ad\s+id|post\s+id|listing\s+id|order\s+(?:code|number)"
    r"|art\.?-nr\.?|artikel-?nr\.?|artikelnummer|bestellnummer|best\.?-nr\.?|anzeigen-?(?:nr\.?|nummer|id)"
    r"|sku|ref\.|référence|r[ée]f[ée]rence\s+produit|code\s+article|riferimento|codice(?:\s+articolo|\s+prodotto)?"
    r"|c[óo]digo(?:\s+(?:de\s+)?(?:produto|producto|art[íi]culo|referencia))?|cod\.|referencia"
    r"|kod\s+produktu|numer\s+katalogowy|k[óo]d(?:\s+produktu|\s+tovaru)?|katal[óo]gov[ée]\s+[čc][íi]slo"
    r"|šifra(?:\s+artikla)?|cikkszám|termékkód|varenummer|varenr\.?|artikelnr\.?|tuotenumero|ürün\s+kodu"
    r"|код(?:\s+товара)?|артикул|商品編號|商品编号|商品代碼|貨號|品號|商品番号|상품번호|מק\"ט|رقم\s+المنتج"
)
_MPN_LABELS = r"model\s+number|model\s+no\.?|mpn|manufacturer\s+part\s+number(?:\s*\(mpn\))?|mfr\.?\s+part\s+number"
_INLINE_CODE = re.compile(
    r"\s*(?:(?P<sku>" + _SKU_LABELS + r")|(?P<mpn>" + _MPN_LABELS + r"))(?:\s*[:#：]\s*|\s+)"
    r"(?P<value>[A-Za-z0-9][A-Za-z0-9./_-]{1,39})\s*$",
    re.IGNORECASE,
)
# The text nodes such a code can be in: short, with a digit, not a script's (libxml2 filters
# them, so the label regex runs on a few hundred nodes, not on the whole markup).
_SHORT_TEXT_WITH_DIGIT = (
    "/html/body/descendant::text()[string-length() < 100][translate(., '0123456789', '') != .]"
    "[not(parent::script or parent::style or parent::noscript or parent::template)]"
)
# Labels of a spec-table cell (dt/th/td) whose next cell holds the manufacturer's code.
_MPN_CELL_LABELS = frozenset(
    (
        "manufacturer part number (mpn)",
        "manufacturer part number",
        "mpn",
        "model number",
        "model no.",
        "mfr part number",
        "mfr. part number",
    )
)
_LABEL_CELLS = "//body//*[self::dt or self::th or self::td][string-length(normalize-space(.)) < 40]"
_CODE_SHAPE = re.compile(r"^(?=.*\d)[A-Za-z0-9][A-Za-z0-9./_-]{1,39}$")
_VISIBLE_TEXT_WITH = (
    "/html/body/descendant::text()[contains(., $first) or contains(., $second)]"
    "[not(ancestor::script or ancestor::style or ancestor::noscript or ancestor::template)]"
)
# Short ids ("127") turn up by chance in any URL: only longer ones are judged by where they occur.
_MIN_JUDGED_LENGTH = 5

# Buy box: an element whose class or id names it so ("buybox", "buy-box", "buyBox"), the parts of
# it named after the price, and their text, struck-through "was" prices left out. Only the
# spellings the markup contains are looked for: each one costs a pass over every element.
_BUY_BOX_HINTS = ("buy-box", "buybox", "buyBox", "BuyBox", "buy_box")
_BUY_BOX_PRICE_TEXT = (
    "/html/body/descendant::*[{boxes}]"
    "/descendant-or-self::*[@*[contains(., 'price') or contains(., 'Price')]]"
    "/descendant::text()[normalize-space()][not(ancestor::script or ancestor::style or ancestor::del"
    " or ancestor::s)]"
)
# A text node that is a price and nothing else: "53,11 €", "€1,149.00", "US$ 57.40", "EUR 43.90".
_WHOLE_PRICE = re.compile(
    r"^\s*(?:[A-Z]{0,3}[€£$¥]|[A-Z]{3}\s?)?\s*\d{1,3}(?:[.,\s]?\d{3})*(?:[.,]\d{2})?\s*(?:[€£$¥]|\s?[A-Z]{3})?\s*$"
)


def inline_codes(root: etree._Element) -> dict[str, str]:
    """Codes shown as "Label: value" in one text node, by kind ("sku", "mpn"); a kind whose label
    shows two different values is left out (it is not clear which one is this product's)."""
    found: dict[str, set[str]] = {}
    for node in root.xpath(_SHORT_TEXT_WITH_DIGIT):
        match = _INLINE_CODE.match(node)
        if match is None or not any(ch.isdigit() for ch in match.group("value")):
            continue
        kind = "sku" if match.group("sku") else "mpn"
        found.setdefault(kind, set()).add(match.group("value"))
    return {kind: next(iter(values)) for kind, values in found.items() if len(values) == 1}


def cell_mpn(sel: Selector) -> str | None:
    """The code in the cell after a "Manufacturer Part Number" / "Model number" label cell."""
    values = set()
    for node in sel.root.xpath(_LABEL_CELLS):
        label = (squash(" ".join(node.itertext())) or "").lower().rstrip(" :")
        if label not in _MPN_CELL_LABELS:
            continue
        following = node.getnext()
        value = squash(" ".join(following.itertext())) if following is not None else None
        if is_code(value):
            values.add(value)
    return next(iter(values)) if len(values) == 1 else None


def is_code(value: str | None) -> bool:
    """A single token with a digit: what a product code looks like."""
    return bool(value and _CODE_SHAPE.match(value))


def shown_values(sel: Selector, values: list[str]) -> set[str]:
    """Those of the values (at most two) that appear in the page's visible text, not only in
    scripts, styles or attributes; one pass over the text for both."""
    if not values:
        return set()
    first, second = values[0], values[-1]
    nodes = sel.root.xpath(_VISIBLE_TEXT_WITH, first=first, second=second)
    return {value for value in (first, second) if any(value in node for node in nodes)}


def only_in_image(value: str, listing: Listing, image_urls: tuple[str | None, ...]) -> bool:
    """The id is part of an image URL but of neither page URL: an image id, not the product's."""
    if len(value) < _MIN_JUDGED_LENGTH or not any(value in image for image in image_urls if image):
        return False
    return not any(value in page for page in (listing.url, listing.canonical_url) if page)


def reconcile_identifiers(
    listing: Listing, sel: Selector, text: str, image_urls: tuple[str | None, ...] = ()
) -> Listing:
    """The listing with sku / mpn read the way a reader would.

    A structured value the page's visible text never shows gives way to the code the page shows
    under a label ("Product code: 287807", a "Manufacturer Part Number" spec cell); if there is
    none, it is kept, unless it occurs only in an image URL (an image id): then it is dropped.
    The page is searched for labels only when a structured value is not visible.
    """
    present = [kind for kind in ("sku", "mpn") if getattr(listing, kind)]
    visible = shown_values(sel, [getattr(listing, kind) for kind in present])
    unseen = [kind for kind in present if getattr(listing, kind) not in visible]
    if not unseen:
        return listing
    shown = inline_codes(sel.root)
    if "mpn" in unseen and "mpn" not in shown:
        mpn = cell_mpn(sel)
        if mpn is not None:
            shown["mpn"] = mpn
    changes: dict[str, str | None] = {}
    for kind in unseen:
        current = getattr(listing, kind)
        if shown.get(kind) is not None:
            changes[kind] = shown[kind]
        elif only_in_image(current, listing, image_urls):
            changes[kind] = None
    return dataclasses.replace(listing, **changes) if changes else listing


def buy_box_price(sel: Selector, text: str) -> str | None:
    """The first whole price in the price part of the page's buy box, as shown ("53,11 €")."""
    hints = [hint for hint in _BUY_BOX_HINTS if hint in text]
    if not hints:
        return None
    boxes = " or ".join(f"contains(@class, '{hint}') or contains(@id, '{hint}')" for hint in hints)
    for node in sel.root.xpath(_BUY_BOX_PRICE_TEXT.format(boxes=boxes)):
        value = squash(node)
        if value and _WHOLE_PRICE.match(value) and parse_currency(value) and parse_price(value):
            return value
    return None


def reconcile_price(listing: Listing, sel: Selector, text: str) -> Listing:
    """The listing with the buy box's visible price when it disagrees with the structured one.

    Only a structured price is replaced (a missing one is never filled), and only by a visible
    price in the same currency: a reader pays what the buy box shows.
    """
    if listing.price is None or listing.currency is None:
        return listing
    currency = parse_currency(listing.currency)
    shown = buy_box_price(sel, text) if currency else None
    if shown is None or parse_currency(shown, currency) != currency:
        return listing
    if parse_price(shown) == parse_price(listing.price):
        return listing
    return dataclasses.replace(listing, price=shown)
