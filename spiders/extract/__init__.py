"""Pure page parsers: detect the platform, spot robot checks, read product and review pages into items."""

from __future__ import annotations

import re

from parsel import Selector

from spiders.extract import amazon, generic, shopify, walmart, woocommerce
from spiders.extract.markup import decode_html, html_selector, lowered_page, page_language
from spiders.extract.schemaorg import read_structured_data
from spiders.items import Listing, ProductPage, ReviewPage

__all__ = ["PLATFORMS", "detect_platform", "is_blocked", "parse_product_page", "parse_review_page"]

PLATFORMS = ("amazon", "shopify", "woocommerce", "walmart", "generic")

_AMAZON_MARKERS = re.compile(
    r'id=["\']productTitle["\']|data-hook=["\']review["\']|data-hook=["\']product-link["\']'
    r'|id=["\']acrCustomerReviewText["\']'
)
_WALMART_MARKERS = re.compile(
    r'id=["\']__NEXT_DATA__["\'][^>]*>[^<]{0,200000}?"initialData"|class=["\'][^"\']*wm-item-number'
    r'|class=["\']prod-brandName|data-automation-id=["\']product-price'
)
_SHOPIFY_MARKERS = re.compile(
    r"Shopify\.theme|cdn\.shopify\.com|shopify-digital-wallet|\bjdgm-|Shopify\.shop\b"
)
_WOOCOMMERCE_MARKERS = re.compile(
    r"\bwoocommerce\b|/wp-content/|yoast-schema-graph|class=[\"'][^\"']*\bproduct-template-default"
)
# The markers' regexes try every branch at every position of the page, twice per response
# (retry middleware, then the parser): a plain substring that each branch needs rules most pages
# out first, and the regex decides only when one is there.
_AMAZON_HINTS = ("productTitle", "data-hook=", "acrCustomerReviewText", "a-offscreen")
_WALMART_HINTS = ("__NEXT_DATA__", "wm-item-number", "prod-brandName", "data-automation-id=")
_SHOPIFY_HINTS = ("Shopify.", "cdn.shopify.com", "shopify-digital-wallet", "jdgm-")
_WOOCOMMERCE_HINTS = ("woocommerce", "/wp-content/", "yoast-schema-graph", "product-template-default")  # fmt: skip
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


def detect_platform(html: str | bytes, url: str) -> str:
    """Which parser fits the markup ("amazon", "walmart", "shopify", "woocommerce", "generic").

    The URL is not consulted: a store's domain says nothing about its markup.
    """
    text = decode_html(html)
    if _has_any(text, _AMAZON_HINTS) and (
        _AMAZON_MARKERS.search(text)
        or ("a-offscreen" in text and re.search(r'id=["\']ASIN["\']', text))
    ):
        return "amazon"
    if _has_any(text, _WALMART_HINTS) and _WALMART_MARKERS.search(text):
        return "walmart"
    if _has_any(text, _SHOPIFY_HINTS) and _SHOPIFY_MARKERS.search(text):
        return "shopify"
    if _has_any(text, _WOOCOMMERCE_HINTS) and _WOOCOMMERCE_MARKERS.search(text):
        return "woocommerce"
    return "generic"


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


def _platform(html: str | bytes, url: str, platform: str) -> str:
    if platform == "auto" or platform is None:
        return detect_platform(html, url)
    if platform not in PLATFORMS:
        raise ValueError(f"unknown platform {platform!r}; expected auto or one of {PLATFORMS}")
    return platform


def parse_product_page(html: str | bytes, url: str, platform: str = "auto") -> ProductPage:
    """The listing, the reviews shown on the page and further review-page URLs (absolute)."""
    if is_blocked(html):
        return ProductPage(listing=None, blocked=True)
    text = decode_html(html)
    kind = _platform(text, url, platform)
    sel = _html_selector(text)
    language = page_language(sel)
    data = read_structured_data(text, url, sel)
    base = generic.parse_listing(sel, data, url, text, fill=False)
    if kind == "amazon":
        listing = generic.merge(base, amazon.parse_listing(sel, url), prefer_second=True)
        reviews = amazon.parse_reviews(sel, url)
        more = amazon.review_page_urls(sel, url, listing.asin)
    elif kind == "walmart":
        listing = generic.merge(base, walmart.parse_listing(sel, text, url), prefer_second=True)
        reviews = walmart.parse_reviews(text, url) or generic.parse_reviews(data, url, language)
        more = walmart.review_page_urls(text, url)
    elif kind == "shopify":
        listing = shopify.fix_listing(base, sel)
        reviews = shopify.parse_reviews(sel, url) or generic.parse_reviews(data, url, language)
        more = shopify.review_page_urls(sel, url)
    elif kind == "woocommerce":
        listing = generic.merge(base, woocommerce.parse_listing(sel, url), prefer_second=False)
        reviews = woocommerce.parse_reviews(sel, url, language) or generic.parse_reviews(
            data, url, language
        )
        more = woocommerce.review_page_urls(sel, url)
    else:
        listing = base
        reviews = generic.parse_reviews(data, url, language)
        more = []
    listing = generic.fill_from_page(listing, sel, url, text, data)  # gaps the readings left
    listing.platform = kind
    return ProductPage(listing=listing, reviews=reviews, review_page_urls=_unique(more))


def parse_review_page(html: str | bytes, url: str, platform: str = "auto") -> ReviewPage:
    """Reviews of a review page, the next page's absolute URL and the page's rating summary.

    Each Review.url is the review page's URL; the spider, which knows the listing, replaces it
    with the listing URL.
    """
    if is_blocked(html):
        return ReviewPage(blocked=True)
    text = decode_html(html)
    kind = _platform(text, url, platform)
    sel = _html_selector(text)
    language = page_language(sel)
    if kind == "amazon":
        return amazon.parse_review_page(sel, url)
    if kind == "walmart":
        return walmart.parse_review_page(sel, text, url)
    if kind == "shopify":
        page = shopify.parse_review_page(sel, url)
        if page.reviews:
            return page
    if kind == "woocommerce":
        return woocommerce.parse_review_page(sel, url, language)
    data = read_structured_data(text, url, sel)
    listing: Listing = generic.parse_listing(sel, data, url, text)
    return ReviewPage(
        reviews=generic.parse_reviews(data, url, language),
        rating=listing.rating,
        total_ratings=listing.review_count,
        product_name=listing.title,
    )


def _html_selector(text: str) -> Selector:
    return html_selector(text)


def _unique(urls: list[str | None]) -> list[str]:
    seen: list[str] = []
    for url in urls:
        if url and url not in seen:
            seen.append(url)
    return seen
