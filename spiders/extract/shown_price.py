"""The price a page shows a reader: markup named for prices, the current price, never the old one.

Stores mark the price up in elements whose class, id or itemprop says "price" ("price",
"product-price", "priceBlock", itemprop="price"). The struck-through list price sits beside
it, either inside <del>/<s>/<strike> or in an element named for it ("old-price",
"was-price", "regular-price", "price--compare", "strike", German "streichpreis", UVP/RRP).
The product's own price block comes right after its heading; prices of related products
and the mini cart come later or earlier.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

from lxml import etree

from spiders.currency import codes_for_symbol
from spiders.normalise import parse_price

# The page's main heading and the elements named for a price (class / id / itemprop / data
# attribute), in document order in one XPath pass; the names are then told apart by regex.
# ("rice" and "RICE" catch "price", "Price", "PRICE" without a translate() per element).
_HEADING_OR_NAMED = (
    "//body//h1 | //body//*[contains(@class, 'rice') or contains(@class, 'RICE')"
    " or contains(@id, 'rice') or contains(@id, 'RICE') or @itemprop = 'price' or @data-price"
    " or @data-price-amount]"
)
_PRICE_NAME = re.compile("price", re.I)
# Names of the price a product used to cost, or of amounts that are not the price.
_NOT_CURRENT = re.compile(
    r"old|was|before|regular|original|compare|strike|crossed|cross-out|line-?through|list-?price"
    r"|listprice|rrp|uvp|msrp|streich|alt-?preis|prev|save|saving|discount|per-?unit|unit-?price"
    r"|baseprice|base-price|grundpreis|installment|monthly|shipping|delivery|total|cart|basket"
    r"|minicart|range|from-?price|price-?tax|tax-?excl|excl|ex-?tax|without-?tax|netto|net-price"
    r"|label",
    re.I,
)
# Blocks that list other products than the page's own, with their prices.
_OTHER_PRODUCTS = re.compile(
    r"related|recommend|similar|upsell|up-sell|cross-?sell|also-?(?:bought|viewed|like)"
    r"|recently-?viewed|you-?may-?also|accessor",
    re.I,
)
_STRUCK = frozenset(("del", "s", "strike"))
_SKIPPED = frozenset(("script", "style", "noscript", "template", "option", "select", "button"))
# A text that is a price and nothing else: an amount with an optional currency on either side
# ("53,11 €", "€1,149.00", "US$ 57.40", "EUR 43.90", "1 759,99 zł", "44 890 тг.", "294 元").
# (a whole amount may end in ",-" or ".–": "20,-", "CHF 19.–")
_AMOUNT = r"(?:\d{1,3}(?:[.,\s\u00a0\u202f']\d{3})*|\d+)(?:[.,]\d{1,2}|[.,]\s?[-\u2013\u2014])?"
_CURRENCY = r"[^\d\s.,:;()]{1,4}\.?|[A-Za-z]{3}"
_WHOLE_PRICE = re.compile(
    rf"^(?:(?P<before>{_CURRENCY})\s?)?(?P<amount>{_AMOUNT})(?:\s?(?P<after>{_CURRENCY}))?\*?$"
)
_MAX_TEXT = 40
# Ancestors looked at for an old-price name: the price element and the few around it.
_NAME_DEPTH = 3


def _names(element: etree._Element) -> str:
    return " ".join(
        value
        for key, value in element.attrib.items()
        if key in ("class", "id", "itemprop") or key.startswith("data-")
    )


def _is_current(element: etree._Element) -> bool:
    """Neither struck through nor named for an old price (a few ancestors up), nor inside a
    block of other products (recommendations, related items)."""
    node: etree._Element | None = element
    for depth in range(12):
        if node is None or not isinstance(node.tag, str):
            break
        tag = node.tag.lower()
        if tag in _STRUCK or tag in _SKIPPED:
            return False
        names = _names(node)
        if depth < _NAME_DEPTH and _NOT_CURRENT.search(names):
            return False
        if _OTHER_PRODUCTS.search(names):
            return False
        node = node.getparent()
    return True


def _current_text(element: etree._Element) -> str:
    """The element's text without what struck-through or old-price children say."""
    parts: list[str] = [element.text or ""]
    for child in element:
        if isinstance(child.tag, str) and not (
            child.tag.lower() in _STRUCK
            or child.tag.lower() in _SKIPPED
            or _NOT_CURRENT.search(_names(child))
        ):
            parts.append(_current_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _is_currency(text: str | None) -> bool:
    """Nothing, a currency symbol or an ISO code: "€", "zł", "US$", "EUR", "тг." (not "Save $"
    or "from", which make the amount something else than the price)."""
    if not text:
        return True
    if codes_for_symbol(text):
        return True
    return len(text) == 1 and unicodedata.category(text) == "Sc"


def price_text(text: str) -> str | None:
    """The text when it is a whole price (an amount with at most a currency around it)."""
    value = " ".join(text.split())
    if not value or len(value) > _MAX_TEXT:
        return None
    match = _WHOLE_PRICE.match(value)
    if match is None or not all(_is_currency(match.group(side)) for side in ("before", "after")):
        return None
    amount = parse_price(value)
    return value if amount is not None and amount > 0 else None


def _is_price_named(element: etree._Element) -> bool:
    return bool(
        _PRICE_NAME.search(_names(element))
        or element.get("data-price") is not None
        or element.get("data-price-amount") is not None
    )


def _price_of(element: etree._Element) -> str | None:
    """The element's current price text, or None when it holds none (or an old one)."""
    if not _is_price_named(element) or not _is_current(element):
        return None
    content = element.get("content") if element.get("itemprop") == "price" else None
    if content:
        return price_text(content)
    value = price_text(_current_text(element))
    if value is not None:
        return value
    # A price block whose text also holds a label or a note ("€ 20,- Verhandlungsbasis"):
    # the first of its children that is a whole price.
    for child in element:
        if isinstance(child.tag, str) and child.tag.lower() not in _STRUCK | _SKIPPED:
            if not _NOT_CURRENT.search(_names(child)):
                value = price_text(_current_text(child))
                if value is not None:
                    return value
    return None


def shown_price(root: etree._Element) -> str | None:
    """The product's current price as the page shows it ("1 759,99 zł"), or None.

    The first price after the page's main heading (the first before it when none follows);
    where that price block shows several current amounts, the lowest (the sale price).
    Elements are judged in document order and only until that block ends.
    """
    before: tuple[etree._Element, str] | None = None
    after_heading = False
    first: tuple[etree._Element, str] | None = None
    group: list[str] = []
    block: etree._Element | None = None
    for element in root.xpath(_HEADING_OR_NAMED):
        if element.tag == "h1":
            after_heading = after_heading or bool("".join(element.itertext()).strip())
            continue
        if block is not None and not _inside(element, block):
            break
        value = _price_of(element)
        if value is None:
            continue
        if not after_heading:
            before = before or (element, value)
            continue
        if first is None:
            first, block = (element, value), _price_block(element)
        group.append(value)
    if first is None:
        if before is None:
            return price_after_list_price(root)
        group = [before[1]]
    return min(group, key=lambda value: parse_price(value) or Decimal(0))


# The struck-through list price after the main heading, and the text nodes after it.
_FIRST_STRUCK = "(//body//h1[normalize-space()])[1]/following::*[self::del or self::s or self::strike][1]"  # fmt: skip
_TEXT_AFTER = (
    "following::text()[normalize-space()][not(parent::script or parent::style)]"
    f"[position() <= {12}]"
)
# A sale price is below the list price, and not below a tenth of it (a "7" in "7 折", a
# percentage or a quantity next to the prices is not the price).
_MIN_SHARE_OF_LIST_PRICE = Decimal("0.1")


def price_after_list_price(root: etree._Element) -> str | None:
    """The sale price a page shows right after its struck-through list price
    ("<del>$420</del> ... 294 元"), for pages that name no element after prices."""
    struck = next(iter(root.xpath(_FIRST_STRUCK)), None)
    if struck is None:
        return None
    list_price = parse_price(" ".join(struck.itertext()))
    if not list_price:
        return None
    for node in struck.xpath(_TEXT_AFTER):
        value = price_text(str(node))
        amount = parse_price(value) if value else None
        if amount and list_price * _MIN_SHARE_OF_LIST_PRICE <= amount < list_price:
            return value
    return None


def _price_block(element: etree._Element) -> etree._Element:
    """The outermost of the element's consecutive price-named ancestors (its price block)."""
    block = element
    parent = element.getparent()
    for _ in range(4):
        if parent is None or "price" not in _names(parent).lower():
            break
        block, parent = parent, parent.getparent()
    return block


def _inside(element: etree._Element, block: etree._Element) -> bool:
    node: etree._Element | None = element
    while node is not None:
        if node is block:
            return True
        node = node.getparent()
    return False
