"""Schema.org JSON-LD (Product, editorial Review, BreadcrumbList), safely embeddable in HTML."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup

AVAILABILITY = {
    "in_stock": "https://schema.org/InStock",
    "out_of_stock": "https://schema.org/OutOfStock",
}
# Characters that could end the <script> element or start a comment / entity inside it.
SCRIPT_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028",
                   "\u2029": "\\u2029"}  # fmt: skip


def script_json(document: Mapping[str, Any]) -> Markup:
    """``document`` as JSON that cannot break out of ``<script type="application/ld+json">``."""
    text = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    for char, escaped in SCRIPT_ESCAPES.items():
        text = text.replace(char, escaped)
    return Markup(text)


def breadcrumb_list(crumbs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """``[(name, absolute url), ...]`` as a BreadcrumbList."""
    return {
        "@context": "https://schema.org",
        "@type": "BreadcrumbList",
        "itemListElement": [
            {"@type": "ListItem", "position": i, "name": name, "item": url}
            for i, (name, url) in enumerate(crumbs, start=1)
        ],
    }


def product_document(
    *,
    name: str,
    url: str,
    brand: str | None,
    offers: Sequence[Mapping[str, Any]],
    site_name: str,
    site_url: str,
    composite_score: float | None,
    review_body: str | None,
) -> dict[str, Any]:
    """A Product with its current offers and our own editorial Review.

    Never an AggregateRating: the ratings are other sites' customers', not ours to mark up.
    ``offers`` hold ``price`` (Decimal), ``currency``, ``availability``, ``url``, ``store``.
    """
    document: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": name,
        "url": url,
    }
    if brand:
        document["brand"] = {"@type": "Brand", "name": brand}
    listed = [
        {
            "@type": "Offer",
            "price": str(offer["price"]),
            "priceCurrency": offer["currency"],
            "availability": AVAILABILITY.get(
                offer["availability"], "https://schema.org/LimitedAvailability"
            ),
            "url": offer["url"],
            "seller": {"@type": "Organization", "name": offer["store"]},
        }
        for offer in offers
        if offer.get("price") is not None and offer.get("currency") and offer.get("url")
    ]
    if listed:
        document["offers"] = listed
    if composite_score is not None:
        organization = {"@type": "Organization", "name": site_name, "url": site_url}
        document["review"] = {
            "@type": "Review",
            "author": organization,
            "publisher": organization,
            "reviewRating": {
                "@type": "Rating",
                "ratingValue": f"{composite_score:.1f}",
                "bestRating": "10",
                "worstRating": "0",
            },
            **({"reviewBody": review_body} if review_body else {}),
        }
    return document
