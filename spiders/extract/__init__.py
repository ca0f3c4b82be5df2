"""Extraction every source shares: schema.org, visible text, markup helpers, and robot-check pages.

The per-platform parsers and the dispatch to them are in ``spiders.sources``.
"""

from __future__ import annotations

import re

from spiders.extract.markup import decode_html, lowered_page

__all__ = ["is_blocked"]

_BLOCK_MARKERS = re.compile(
    r"/errors/validateCaptcha|Enter the characters you see below|Type the characters you see in this image"
    r"|Geben Sie die angezeigten Zeichen|Inserisci i caratteri visualizzati|Saisissez les caractères"
    r"|Introduce los caracteres|captcha-delivery\.com|id=[\"']px-captcha|id=[\"']challenge-form|cf-chl-widget",
    re.I,
)
# The markers matched on the lower-cased page: a re.I search of a large page costs ten times more.
_BLOCK_MARKERS_FOLDED = re.compile(_BLOCK_MARKERS.pattern.lower())
# lower-cased, so a re.I match of _BLOCK_MARKERS implies one of these is in the lower-cased page
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


def _block_marker_near_hint(folded: str) -> bool:
    # Each marker holds a hint: the regex runs only in a window around each hint found.
    for hint in _BLOCK_HINTS:
        at = folded.find(hint)
        while at >= 0:
            if _BLOCK_MARKERS_FOLDED.search(folded, max(0, at - 40), at + len(hint) + 40):
                return True
            at = folded.find(hint, at + 1)
    return False


def is_blocked(html: str | bytes) -> bool:
    """True for a robot check / CAPTCHA page instead of the requested content."""
    text = decode_html(html)
    folded = lowered_page(text)
    # The title is found by a plain search of the lower-cased page (a re.I search of the whole
    # page tries every position) and the pattern is matched only there.
    title_at = folded.find("<title")
    if title_at >= 0 and _BLOCK_TITLE.match(text, title_at):
        return True
    if _has_any(folded, _BLOCK_HINTS) and _block_marker_near_hint(folded):
        return True
    # A CAPTCHA widget on a short page with no product markup is a challenge, not a shop page's
    # newsletter or login box.
    return (
        len(text) < 20000
        and "captcha" in folded
        and bool(_SMALL_CAPTCHA.search(text))
        and not _PRODUCT_MARKUP.search(text)
    )
