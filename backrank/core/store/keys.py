"""The identity of what the crawl stores: a listing's key within its store, a review's content hash."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit


def url_key(url: str) -> str:
    """``url`` without query and fragment, scheme and host lowercased, no trailing slash."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, "", ""))


def canonical_key(url: str) -> str:
    """A canonical URL normalised: scheme and host lowercased, no fragment or trailing slash.

    The query stays: a page that declares it canonical means it.
    """
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, ""))


def listing_key(listing: Mapping[str, Any]) -> str:
    """The identity of a listing within its store: ASIN, else canonical URL, else URL."""
    if listing.get("asin"):
        return f"asin:{str(listing['asin']).strip().upper()}"
    if listing.get("canonical_url"):
        return canonical_key(listing["canonical_url"])
    return url_key(listing["url"])


def review_content_hash(review: Mapping[str, Any]) -> str:
    """sha1 of what makes a review itself: listing URL, author, date, title, body, rating."""
    parts = [review.get(k) for k in ("url", "author", "date", "title", "body", "rating")]
    text = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()
