"""Read schema.org Product / Offer / AggregateRating / Review data (JSON-LD, microdata, RDFa, OpenGraph)."""

from __future__ import annotations

import json
import logging
import re
from copy import deepcopy
from dataclasses import dataclass, field
from decimal import Decimal

import extruct
import html_text
from extruct.uniform import flatten_dict
from extruct.w3cmicrodata import LxmlMicrodataExtractor
from lxml import etree
from parsel import Selector

from spiders.extract.markup import absolute, decode_html, lowered_page, squash
from spiders.items import Listing, Review
from spiders.normalise import normalise_availability, parse_price

log = logging.getLogger(__name__)

# JSON-LD is read per script (see _json_ld), the other syntaxes by extruct. A syntax is read only
# when the markup holds what it needs (attribute names are case-insensitive in HTML).
# The hints are looked for in the lower-cased page: a plain substring search, where a re.I
# search of a large page tries every position.
_JSON_LD_HINT = "ld+json"
_OPENGRAPH_META = "//head/meta[@property and @content]"
_PRODUCT_TYPES = {"product", "individualproduct", "productgroup", "productmodel", "vehicle"}
_OFFER_TYPES = {"offer", "aggregateoffer"}
_GTIN_KEYS = ("gtin13", "gtin", "gtin12", "gtin14", "gtin8", "isbn")
_PLACEHOLDER = re.compile(r"^\s*(?:\$\w+|\{\{.*\}\}|\{%.*%\}|<%.*%>|undefined|null|none)\s*$", re.I)
# What templates wrap a JSON-LD body in: an HTML comment, or a CDATA section behind a // or
# /* */ comment ("/*<![CDATA[*/ {...} /*]]>*/"), and a trailing semicolon.
_JSON_LD_WRAPPING = re.compile(
    r"^\s*(?:<!--|(?://|/\*)\s*<!\[CDATA\[\s*(?:\*/)?)|(?:-->|(?://|/\*)\s*\]\]>\s*(?:\*/)?|;)\s*$"
)
_RDFA_TYPEOF = re.compile(r"\stypeof=")
_LABELLED = re.compile(r"^[^:]{3,60}:\s+(\S.*)$")
_SCHEMA_PREFIX = re.compile(r"^(?:https?:)?//schema\.org/", re.I)
# Real JSON-LD nests a dozen levels (@graph, Product, offers, seller, address); a deeper block
# is hostile or broken and is dropped alone, before anything recurses into it.
MAX_JSON_LD_DEPTH = 64


@dataclass
class StructuredData:
    """Flattened schema.org nodes and OpenGraph properties of one page."""

    nodes: list[dict] = field(default_factory=list)
    opengraph: dict[str, str] = field(default_factory=dict)
    dropped_json_ld: int = 0  # JSON-LD blocks nested too deep to read (MAX_JSON_LD_DEPTH)


def read_structured_data(
    html: str | bytes, url: str, sel: Selector | None = None
) -> StructuredData:
    """All schema.org nodes (JSON-LD @graph and nesting flattened, microdata, RDFa) and og: meta.

    `sel`, the page already parsed, saves parsing it again; each syntax is read only when the
    markup names it (a script of type ld+json, an itemscope, a property= or typeof= attribute).
    """
    text = decode_html(html)
    if not text.strip():
        return StructuredData()
    if sel is None:
        sel = Selector(text=text, type="html")
    nodes: list[dict] = []
    dropped = 0
    lowered = lowered_page(text)
    if _JSON_LD_HINT in lowered:
        blocks, dropped = _json_ld(sel)
        for item in blocks:
            _collect(item, nodes)
    raw = _extruct(lowered, sel, url)
    for item in raw.get("microdata") or []:
        _collect(item, nodes)
    # RDFa costs ten times the other syntaxes and needs extruct's own XML-DOM parse: it is read
    # only when neither JSON-LD nor microdata gave a product, and some element declares a type.
    if (
        not any(types_of(node) & _PRODUCT_TYPES for node in nodes)
        and "typeof=" in lowered  # a plain search first: the regex has no literal start
        and _RDFA_TYPEOF.search(lowered)
    ):
        raw |= _extruct_one(text, url, "rdfa")
    nodes.extend(_rdfa_nodes(raw.get("rdfa") or []))
    opengraph: dict[str, str] = {}
    if "property" in lowered:
        # OpenGraph is <meta property content> in the head, read straight from the tree.
        for meta in sel.root.xpath(_OPENGRAPH_META):
            opengraph.setdefault(meta.get("property").strip(), meta.get("content"))
    return StructuredData(nodes=nodes, opengraph=opengraph, dropped_json_ld=dropped)


def _extruct(lowered: str, sel: Selector, url: str) -> dict[str, list]:
    """extruct's microdata (read from the parsed tree), when the page has it. Each syntax is read on its own: extruct raises on some malformed documents
    (and, in uniform mode, even when told to ignore errors), and a syntax it fails on is then
    absent without hiding the others or the JSON-LD."""
    raw: dict[str, list] = {}
    if "itemscope" in lowered:
        raw["microdata"] = _microdata(sel.root, url)
    return raw


class _TreeMicrodata(LxmlMicrodataExtractor):
    """extruct's microdata reader on a plain lxml tree: the text of a property is read without
    lxml.html's Cleaner (which needs lxml.html elements), scripts, styles and comments left out
    as the Cleaner leaves them out."""

    def _extract_textContent(self, node):  # noqa: N802 (extruct's name)
        copy = deepcopy(node)
        copy.tail = None
        etree.strip_elements(
            copy, "script", "style", "link", "meta", etree.Comment, with_tail=False
        )
        return html_text.etree_to_text(copy)


def _microdata(root: etree._Element, url: str) -> list[dict]:
    """The page's microdata items, flattened as extruct's uniform output gives them."""
    try:
        items = list(_TreeMicrodata().extract_items(root, base_url=url))
    except Exception as error:  # extruct's failures have no common type (KeyError seen)
        log.warning("extruct failed to read microdata on %s: %r", url, error)
        return []
    return [flatten_dict(item, "http://schema.org", True) for item in items]


def _extruct_one(document: object, url: str, syntax: str) -> dict[str, list]:
    try:
        return extruct.extract(
            document, base_url=url, syntaxes=[syntax], uniform=True, errors="ignore"
        )
    except Exception as error:  # extruct's failures have no common type (KeyError seen)
        log.warning("extruct failed to read %s on %s: %r", syntax, url, error)
        return {}


def _json_ld(sel: Selector) -> tuple[list[object], int]:
    """Every JSON-LD script that parses, and how many were dropped for nesting deeper than
    MAX_JSON_LD_DEPTH; one broken or hostile script does not hide the others."""
    blocks, dropped = [], 0
    for body in sel.xpath(
        '//script[contains(translate(@type, "LDJSON", "ldjson"), "ld+json")]/text()'
    ).getall():
        body = _JSON_LD_WRAPPING.sub("", body.strip())
        try:
            block = json.loads(body, strict=False)
        except json.JSONDecodeError as error:
            log.debug("skipping unparsable JSON-LD: %s", error)
            continue
        except RecursionError:  # nested deeper than the decoder's stack allows
            block = _TOO_DEEP
        if block is _TOO_DEEP or nesting_depth(block) > MAX_JSON_LD_DEPTH:
            dropped += 1
            log.warning("dropped a JSON-LD block nested deeper than %d levels", MAX_JSON_LD_DEPTH)
            continue
        blocks.append(block)
    return blocks, dropped


_TOO_DEEP = object()


def nesting_depth(value: object) -> int:
    """How deep lists and objects nest in parsed JSON (a scalar is 0); without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_LD_DEPTH:
            return deepest  # deep enough to drop: no need to walk the rest
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _collect(item: object, nodes: list[dict]) -> None:
    """Every dict with an @type, found through @graph, lists and nested values."""
    if isinstance(item, list):
        for element in item:
            _collect(element, nodes)
        return
    if not isinstance(item, dict):
        return
    if "@type" in item:
        nodes.append(item)
    for key, value in item.items():
        if key != "@context" and isinstance(value, (dict, list)):
            _collect(value, nodes)


def _rdfa_nodes(rdfa: list[dict]) -> list[dict]:
    """RDFa schema.org nodes in JSON-LD-like shape (short property names, references resolved)."""
    by_id = {node.get("@id"): node for node in rdfa if isinstance(node, dict)}

    def convert(node: dict, depth: int) -> dict:
        out: dict = {"@type": [_short(t) for t in node.get("@type", [])]}
        for key, values in node.items():
            if not _SCHEMA_PREFIX.match(key):
                continue
            converted = []
            for value in values if isinstance(values, list) else [values]:
                if isinstance(value, dict) and "@value" in value:
                    converted.append(value["@value"])
                elif isinstance(value, dict) and "@id" in value:
                    target = by_id.get(value["@id"])
                    if target is not None and depth < 3 and target.get("@type"):
                        converted.append(convert(target, depth + 1))
                    else:
                        converted.append(value["@id"])
            if converted:
                out[_short(key)] = converted[0] if len(converted) == 1 else converted
        return out

    return [
        convert(node, 0)
        for node in rdfa
        if isinstance(node, dict)
        and any(_SCHEMA_PREFIX.match(str(t)) for t in node.get("@type", []))
    ]


def _short(name: str) -> str:
    return _SCHEMA_PREFIX.sub("", str(name))


def types_of(node: dict) -> set[str]:
    """Lower-case schema.org type names of a node ("Product", "http://schema.org/product", lists)."""
    declared = node.get("@type")
    declared = declared if isinstance(declared, list) else [declared]
    return {_short(t).rsplit("/", 1)[-1].lower() for t in declared if isinstance(t, str)}


def first(value: object) -> object:
    """The first element of a list, else the value."""
    while isinstance(value, list):
        if not value:
            return None
        value = value[0]
    return value


def name_of(value: object) -> str | None:
    """Text of a string / {"name": ...} / list value; template placeholders are None."""
    value = first(value)
    if isinstance(value, dict):
        value = first(value.get("name"))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    text = squash(value)
    if text is None or _PLACEHOLDER.match(text):
        return None
    return text


def scalar(value: object) -> str | None:
    """A string for a str / number / first-of-list value (JSON numbers become text)."""
    value = first(value)
    if isinstance(value, dict):
        value = value.get("@value", value.get("value"))
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return squash(str(value))


def main_product(data: StructuredData) -> dict | None:
    """The page's product: the Product node that says the most (offers, name, rating)."""
    products = [node for node in data.nodes if types_of(node) & _PRODUCT_TYPES]
    if not products:
        return None

    def weight(node: dict) -> tuple[int, int]:
        known = sum(
            1 for key in ("name", "offers", "aggregateRating", "brand", "sku") if node.get(key)
        )
        return known, len(node)

    return max(products, key=weight)


def choose_offer(offers: object) -> dict | None:
    """One offer for the listing: the cheapest in-stock one, else the cheapest, else the first.

    AggregateOffer's lowPrice counts as its price; a priceSpecification is read when price is absent.
    """
    candidates = [
        o for o in (offers if isinstance(offers, list) else [offers]) if isinstance(o, dict)
    ]
    flat: list[dict] = []
    for offer in candidates:
        flat.append(offer)
        # An AggregateOffer lists its offers; some stores nest the priced Offer inside an Offer
        # that only carries condition and seller.
        nested = offer.get("offers")
        if nested and offer_price(offer) is None:
            flat.extend(
                o for o in (nested if isinstance(nested, list) else [nested]) if isinstance(o, dict)
            )
    if not flat:
        return None
    priced = [o for o in flat if parse_price(offer_price(o))]
    in_stock = [
        o for o in priced if normalise_availability(scalar(o.get("availability"))) == "in_stock"
    ]
    pool = in_stock or priced
    if not pool:
        return flat[0]
    return min(pool, key=lambda o: parse_price(offer_price(o)) or Decimal(0))


def offer_price(offer: dict) -> str | None:
    """The offer's price text: price, lowPrice, or its priceSpecification's price."""
    for key in ("price", "lowPrice"):
        price = scalar(offer.get(key))
        if price:
            return price
    spec = first(offer.get("priceSpecification"))
    if isinstance(spec, dict):
        return scalar(spec.get("price")) or scalar(spec.get("minPrice"))
    return None


def offer_currency(offer: dict) -> str | None:
    """The offer's priceCurrency, or its priceSpecification's."""
    currency = scalar(offer.get("priceCurrency"))
    if currency:
        return currency
    spec = first(offer.get("priceSpecification"))
    return scalar(spec.get("priceCurrency")) if isinstance(spec, dict) else None


def offers_availability(offers: object) -> str | None:
    """in stock if any offer is, else the first declared availability (raw)."""
    listed = [o for o in (offers if isinstance(offers, list) else [offers]) if isinstance(o, dict)]
    declared = [scalar(o.get("availability")) for o in listed if o.get("availability")]
    for value in declared:
        if normalise_availability(value) == "in_stock":
            return value
    return declared[0] if declared else None


def declares_no_price(data: StructuredData) -> bool:
    """True when the page's product has an offer whose price is 0: the template's "no price"
    (sold out, price on request), so no other price on the page is the product's."""
    product = main_product(data)
    if product is None:
        return False
    offer = choose_offer(product.get("offers") or product.get("offerDetails"))
    return offer is not None and parse_price(offer_price(offer)) == 0


def listing_from_structured(data: StructuredData, url: str) -> Listing:
    """Listing fields from the main Product node, then OpenGraph product meta for what is missing."""
    listing = Listing(url=url)
    product = main_product(data)
    if product is not None:
        _fill_from_product(listing, product, url)
    _fill_from_opengraph(listing, data.opengraph, url)
    return listing


def _fill_from_product(listing: Listing, product: dict, url: str) -> None:
    listing.title = _product_name(product)
    listing.brand = _brand(product)
    product_id = scalar(product.get("productID"))
    # productID is the shop's own id unless it names a scheme ("isbn:...", "gtin13:...").
    listing.sku = scalar(product.get("sku")) or (
        product_id if product_id and ":" not in product_id else None
    )
    listing.mpn = scalar(product.get("mpn")) or (
        scalar(product.get("model")) if not isinstance(first(product.get("model")), dict) else None
    )
    for key in _GTIN_KEYS:
        if scalar(product.get(key)):
            listing.gtin = scalar(product.get(key))
            break
    listing.description = squash(scalar(product.get("description")))
    image = first(product.get("image"))
    if isinstance(image, dict):
        image = first(image.get("url") or image.get("contentUrl"))
    listing.image_url = absolute(image, url) if isinstance(image, str) else None
    category = product.get("category")
    listing.category = (
        name_of(category) if not isinstance(category, list) else name_of(category[-1])
    )
    # data-vocabulary.org, schema.org's predecessor, names the offer "offerDetails".
    offers = product.get("offers") or product.get("offerDetails")
    offer = choose_offer(offers)
    if offer is not None:
        # A price of 0 is a template's placeholder for "no price" (a sold-out item), not free.
        listing.price = offer_price(offer) if parse_price(offer_price(offer)) else None
        listing.currency = offer_currency(offer)
        listing.availability = offers_availability(offers) or scalar(offer.get("availability"))
        # Per-size offers carry per-size SKUs: only a single offer's SKU names the listing.
        single = not isinstance(offers, list) or len(offers) == 1
        if not listing.sku and single:
            listing.sku = scalar(offer.get("sku"))
        if not listing.gtin:
            listing.gtin = next((scalar(offer.get(k)) for k in _GTIN_KEYS if offer.get(k)), None)
    rating = first(product.get("aggregateRating"))
    if isinstance(rating, dict):
        listing.rating = scalar(rating.get("ratingValue"))
        listing.review_count = scalar(rating.get("ratingCount")) or scalar(
            rating.get("reviewCount")
        )


def _brand(product: dict) -> str | None:
    brand = name_of(product.get("brand")) or name_of(product.get("manufacturer"))
    # Microdata on visible text can carry the label: "Ver mais artigos da Marca: Roborock".
    labelled = _LABELLED.match(brand or "")
    return squash(labelled.group(1)) if labelled else brand


def _product_name(product: dict) -> str | None:
    name = name_of(product.get("name"))
    # eBay's microdata name carries the visible heading's "Details about" prefix.
    if name and name.startswith("Details about "):
        name = name[len("Details about ") :].strip() or None
    return name


def _fill_from_opengraph(listing: Listing, opengraph: dict[str, str], url: str) -> None:
    def og(*keys: str) -> str | None:
        return next((squash(opengraph[k]) for k in keys if squash(opengraph.get(k))), None)

    listing.title = listing.title or og("og:title")
    listing.brand = listing.brand or og("og:brand", "product:brand")
    listing.image_url = listing.image_url or absolute(og("og:image"), url)
    listing.availability = listing.availability or og("product:availability", "og:availability")
    og_price = og("product:price:amount", "og:price:amount", "product:price", "og:price")
    og_currency = og("product:price:currency", "og:price:currency")
    if listing.price is None and og_price:
        listing.price = og_price
        listing.currency = listing.currency or og_currency
    elif parse_price(listing.price) is None and og_price:
        listing.price = og_price
        listing.currency = og_currency or listing.currency


def reviews_from_structured(
    data: StructuredData, url: str, language: str | None = None
) -> list[Review]:
    """Individual Review nodes (inside the product or top-level), in page order, deduplicated."""
    reviews: list[Review] = []
    seen: set[tuple] = set()
    for node in data.nodes:
        if "review" not in types_of(node):
            continue
        rating = first(node.get("reviewRating"))
        review = Review(
            url=url,
            review_id=scalar(node.get("@id"))
            if not str(node.get("@id", "")).startswith("_:")
            else None,
            author=name_of(node.get("author")),
            rating=scalar(rating.get("ratingValue")) if isinstance(rating, dict) else None,
            title=name_of(node.get("name")) or name_of(node.get("headline")),
            body=squash(scalar(node.get("reviewBody")) or scalar(node.get("description"))),
            date=scalar(node.get("datePublished")) or scalar(node.get("dateCreated")),
            language=language,
        )
        key = (review.author, review.title, review.body, review.date)
        if key in seen or not (review.body or review.title or review.rating):
            continue
        seen.add(key)
        reviews.append(review)
    return reviews
