"""Extraction every source shares: schema.org, visible text, markup helpers, and robot-check pages.

The per-platform parsers and the dispatch to them are in ``spiders.sources``.
"""

from __future__ import annotations

import re

from spiders.extract.markup import decode_html

__all__ = ["is_blocked"]

_BLOCK_MARKERS = re.compile(
    r"/errors/validateCaptcha|Enter the characters you see below|Type the characters you see in this image"
    r"|Geben Sie die angezeigten Zeichen|Inserisci i caratteri visualizzati|Saisissez les caractères"
    r"|Introduce los caracteres|captcha-delivery\.com|id=[\"']px-captcha|id=[\"']challenge-form|cf-chl-widget",
    re.I,
)
# casefolded, so a re.I match of _BLOCK_MARKERS implies one of these is in the casefolded page
_BLOCK_HINTS = (
    "captcha", "characters you see", "angezeigten zeichen", "caratteri visualizzati",
    "saisissez les caract", "introduce los caracteres", "challenge-form", "cf-chl-widget",
)  # fmt: skip
_BLOCK_TITLE = re.compile(  # a literal start: re finds it without trying every position
    r"<title>\s*(?:Robot Check|Attention Required!|Just a moment\.\.\.|Are you a robot|Access Denied"
    r"|Bot Check|Security Check)",
    re.I,
)
_PRODUCT_MARKUP = re.compile(
    r"productTitle|application/ld\+json|itemtype=|og:type|__NEXT_DATA__", re.I
)
_SMALL_CAPTCHA = re.compile(r"g-recaptcha|h-captcha|hcaptcha\.com|recaptcha/api\.js", re.I)


def _has_any(text: str, hints: tuple[str, ...]) -> bool:
    return any(hint in text for hint in hints)


def is_blocked(html: str | bytes) -> bool:
    """True for a robot check / CAPTCHA page instead of the requested content."""
    text = decode_html(html)
    if _BLOCK_TITLE.search(text):
        return True
    folded = text.casefold()
    if _has_any(folded, _BLOCK_HINTS) and _BLOCK_MARKERS.search(text):
        return True
    # A CAPTCHA widget on a short page with no product markup is a challenge, not a shop page's
    # newsletter or login box.
    return (
        len(text) < 20000
        and "captcha" in folded
        and bool(_SMALL_CAPTCHA.search(text))
        and not _PRODUCT_MARKUP.search(text)
    )
