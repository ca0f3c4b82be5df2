"""Any store: schema.org first, then OpenGraph, then the few visible-text signals that are safe."""

from __future__ import annotations

import dataclasses
import re

from parsel import Selector

from spiders.extract.markup import canonical_url, squash, text_of
from spiders.extract.schemaorg import StructuredData, listing_from_structured, reviews_from_structured
from spiders.items import Listing, Review
from spiders.normalise import normalise_gtin

# Wording a shop shows when a product has no reviews at all: a known count of 0, not a missing one.
_NO_REVIEWS = re.compile(
    r"be the first to review|write the first review|no reviews yet|there are no reviews yet"
    r"|sem avaliações|noch keine bewertungen|aucun avis|sin opiniones|nessuna recensione"
    r"|brak opinii|nog geen reviews|0 reviews\b",
    re.I,
)
_LABELLED_GTIN = re.compile(r"\b(?:EAN|GTIN|UPC|EAN-13|Barcode)\s*[:#]?\s*(\d{8,14})\b")


def parse_listing(sel: Selector, data: StructuredData, url: str) -> Listing:
    """Listing from structured data; canonical URL and a no-reviews count from the page."""
    listing = listing_from_structured(data, url)
    listing.platform = "generic"
    listing.canonical_url = canonical_url(sel, url) or listing.canonical_url
    if listing.title is None:
        headings = sel.css("h1")
        listing.title = text_of(headings) if len(headings) == 1 else None
    if listing.gtin is None:
        listing.gtin = _gtin_in_text(listing.description)
    if listing.review_count is None and listing.rating is None and _says_no_reviews(sel):
        listing.review_count = 0
    return listing


def _gtin_in_text(text: str | None) -> str | None:
    """A labelled EAN/GTIN/UPC in the description ("EAN: 6935364088101"), check digit verified."""
    match = _LABELLED_GTIN.search(text or "")
    return normalise_gtin(match.group(1)) if match else None


def _says_no_reviews(sel: Selector) -> bool:
    visible = sel.xpath("//body//text()[not(ancestor::script) and not(ancestor::style)]").getall()
    return bool(_NO_REVIEWS.search(squash(" ".join(visible)) or ""))


def parse_reviews(data: StructuredData, url: str, language: str | None) -> list[Review]:
    """Reviews given as schema.org Review objects."""
    return reviews_from_structured(data, url, language)


def merge(first: Listing, second: Listing, *, prefer_second: bool) -> Listing:
    """One listing from two readings: the preferred reading's values, gaps filled by the other."""
    winner, filler = (second, first) if prefer_second else (first, second)
    values = {}
    for item in dataclasses.fields(Listing):
        mine = getattr(winner, item.name)
        values[item.name] = mine if mine is not None else getattr(filler, item.name)
    return Listing(**values)


