"""Titles and brands without the store's name: "Slim Chino | Example Store" is a "Slim Chino".

Stores append (or prepend) their own name to the page title, which then reaches the
OpenGraph title and sometimes the brand: "Hook - IKEA", "IKEA | Hook",
"Pizza voucher | GOMAJI夠麻吉". The part cut off must be the store's name: the page's
og:site_name or application-name, or the label of its domain.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# Separators between a title and the site name.
_SEPARATED = re.compile(r"^(?P<first>.+?)\s+(?:\||-|–|—|::|·|•)\s+(?P<second>.+)$")
_FOLD = re.compile(r"[\W_]+")


def _folded(text: str) -> str:
    return _FOLD.sub("", text).casefold()


def site_names(opengraph: dict[str, str], application_name: str | None, url: str) -> list[str]:
    """The names a page may call its store by, folded (lower-case, letters and digits only)."""
    names = [opengraph.get("og:site_name"), application_name]
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    labels = [label for label in host.split(".") if len(label) > 3]
    names += labels[:1]
    return [folded for folded in (_folded(n) for n in names if n) if len(folded) >= 3]


def _is_site_name(part: str, names: list[str]) -> bool:
    folded = _folded(part)
    # the part names the store ("IKEA", "Argos.co.uk"), or is most of the store's name
    return len(folded) >= 3 and any(
        name in folded or (folded in name and len(folded) * 2 >= len(name)) for name in names
    )


def without_site_name(text: str | None, names: list[str]) -> str | None:
    """The text with a store-name prefix or suffix cut off; the text itself when neither end
    is the store's name (or when nothing would be left)."""
    if not text or not names:
        return text
    match = _SEPARATED.match(text)
    if match is None:
        return text
    first, second = match.group("first"), match.group("second")
    # the last separator for a suffix ("A - B | Store"), the first for a prefix
    suffix = re.match(r"^(?P<rest>.+)\s+(?:\||-|–|—|::|·|•)\s+(?P<site>[^|\-–—:·•]+)$", text)
    if (
        suffix
        and _is_site_name(suffix.group("site"), names)
        and not _is_site_name(suffix.group("rest"), names)
    ):
        return suffix.group("rest").strip()
    if _is_site_name(first, names) and not _is_site_name(second, names):
        return second.strip()
    return text
