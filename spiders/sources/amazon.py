"""Amazon: product and customer-review pages have no structured data, so read the known element ids."""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlunsplit

from parsel import Selector

from backrank.core.config import is_amazon_host
from spiders.extract.generic import merge
from spiders.extract.markup import absolute, squash, text_of
from spiders.items import Listing, Review, ReviewPage
from spiders.sources.base import Page, Source

_MARKERS = re.compile(
    r'id=["\']productTitle["\']|data-hook=["\']review["\']|data-hook=["\']product-link["\']'
    r'|id=["\']acrCustomerReviewText["\']'
)
# The markers' regex tries every branch at every position of the page, twice per response
# (retry middleware, then the parser): a plain substring that each branch needs rules most
# pages out first, and the regex decides only when one is there.
_HINTS = ("productTitle", "data-hook=", "acrCustomerReviewText", "a-offscreen")
_ASIN_INPUT = re.compile(r'id=["\']ASIN["\']')
# A product page's path, and the ASIN in it (a product URL collapses to /dp/<ASIN>).
_PRODUCT_PATH = re.compile(r"/(?:dp|gp/product)/[A-Za-z0-9]{10}(?:[/?#]|$)")
_ASIN_IN_PATH = re.compile(r"/(?:dp|gp/product)/([A-Za-z0-9]{10})(?:[/?#]|$)")

_PRICE_SELECTORS = (
    "#corePrice_feature_div .a-offscreen",
    "#corePriceDisplay_desktop_feature_div .priceToPay .a-offscreen",
    "#apex_desktop .priceToPay .a-offscreen",
    "#priceblock_dealprice",
    "#priceblock_saleprice",
    "#priceblock_ourprice",
    "#price_inside_buybox",
    "#newBuyBoxPrice",
    "#apex_desktop .a-offscreen",
    "#tp_price_block_total_price_ww .a-offscreen",
)
_LIST_PRICE_SELECTORS = (
    "#corePriceDisplay_desktop_feature_div .basisPrice .a-offscreen",
    "#apex_desktop .basisPrice .a-offscreen",
    "#priceblock_ourprice_row .priceBlockStrikePriceString",
    "#listPrice",
    ".priceBlockStrikePriceString",
)
# "Visit the Brome Store", "Visita lo Store di Retevis", "Besuche den ANKERKRAUT-Store",
# "Besuchen Sie den Ankerkraut-Store", "Visitez la boutique X", "Visita la tienda de X", "Brand: X",
# "Marke: X", "by ChangM".
_BYLINE_PATTERNS = (
    re.compile(r"^visit the (.+?) store$", re.I),
    re.compile(r"^visita lo store di (.+)$", re.I),
    re.compile(r"^besuche(?:n sie)? den (.+?)-store$", re.I),
    re.compile(r"^visitez la boutique (?:de |d')?(.+)$", re.I),
    re.compile(r"^visita la tienda de (.+)$", re.I),
    re.compile(r"^visite a loja (?:da |do |de )?(.+)$", re.I),
    re.compile(r"^(?:brand|marke|marca|marque|marchio|merk|marka)\s*:\s*(.+)$", re.I),
    re.compile(r"^(?:by|von|di|de|par|door|od)\s+(.+)$", re.I),
)
_MPN_LABELS = (
    "item model number",
    "model number",
    "modellnummer",
    "numero modello articolo",
    "numero modello",
    "numéro du modèle de l'article",
    "número de modelo del producto",
    "número de modelo",
    "part number",
    "herstellerreferenz",
    "manufacturer reference",
)
_BRAND_LABELS = ("brand", "marke", "marca", "marque", "marchio", "merk", "marka", "brand name")
_ASIN_IN_URL = re.compile(r"/(?:dp|gp/product|product-reviews|gp/aw/d)/([A-Z0-9]{10})(?:[/?#]|$)")
_LANGUAGE_BY_PREFIX = (
    ("reviewed in", "en"),
    ("rezension aus", "de"),
    ("recensito in", "it"),
    ("commenté", "fr"),
    ("revisado en", "es"),
    ("avaliado", "pt"),
    ("beoordeeld", "nl"),
    ("recenzja", "pl"),
)
_MARKS = re.compile("[\u200e\u200f\u200b:]")


def asin_from_url(url: str) -> str | None:
    """The ASIN in an Amazon URL path (/dp/<ASIN>, /product-reviews/<ASIN>)."""
    match = _ASIN_IN_URL.search(url or "")
    return match.group(1) if match else None


def detail_table(sel: Selector) -> dict[str, str]:
    """Product details (table rows and detail bullets) as {lower-case label: value}."""
    details: dict[str, str] = {}
    for row in sel.css(
        "#productDetails_techSpec_section_1 tr, #productDetails_detailBullets_sections1 tr,"
        " #prodDetails tr, table.prodDetTable tr, #technicalSpecifications_section_1 tr"
    ):
        label = text_of(row.css("th"))
        value = text_of(row.css("td"))
        if label and value:
            details.setdefault(_label(label), value)
    for bullet in sel.css(
        "#detailBullets_feature_div li, #detail-bullets li, #detailBulletsWrapper_feature_div li"
    ):
        label = text_of(bullet.css("span.a-text-bold")) or text_of(bullet.css("b"))
        full = text_of(bullet.css("span.a-list-item")) or text_of([bullet])
        if label and full and len(full) > len(label):
            details.setdefault(_label(label), squash(_MARKS.sub(" ", full[len(label) :])) or "")
    return {key: value for key, value in details.items() if value}


def _label(text: str) -> str:
    return squash(_MARKS.sub(" ", text).lower()) or ""


def brand_from_byline(text: str | None) -> str | None:
    """The brand in Amazon's byline link text."""
    text = squash(text)
    if not text:
        return None
    for pattern in _BYLINE_PATTERNS:
        match = pattern.match(text)
        if match:
            return squash(match.group(1))
    # A bare brand link ("ChangM") is the brand itself; longer prose is not.
    return text if len(text.split()) <= 4 else None


def parse_listing(sel: Selector, url: str) -> Listing:
    """Listing fields from an Amazon product page."""
    details = detail_table(sel)
    listing = Listing(url=url, platform="amazon")
    listing.title = text_of(sel.css("#productTitle")) or text_of(sel.css("#title"))
    listing.brand = brand_from_byline(text_of(sel.css("#bylineInfo"))) or next(
        (details[label] for label in _BRAND_LABELS if label in details), None
    )
    listing.price = _first_text(sel, _PRICE_SELECTORS)
    listing.list_price = _first_text(sel, _LIST_PRICE_SELECTORS)
    listing.availability = _availability(sel)
    listing.rating = (
        squash(sel.css("#acrPopover::attr(title)").get())
        or text_of(sel.css("#acrPopover span.a-icon-alt"))
        or text_of(sel.css("#averageCustomerReviews span.a-icon-alt"))
    )
    listing.review_count = text_of(sel.css("#acrCustomerReviewText"))
    listing.asin = (
        squash(sel.css("input#ASIN::attr(value)").get())
        or asin_from_url(url)
        or details.get("asin")
    )
    listing.mpn = next((details[label] for label in _MPN_LABELS if label in details), None)
    listing.canonical_url = absolute(sel.css('link[rel="canonical"]::attr(href)').get(), url)
    listing.image_url = squash(sel.css("#landingImage::attr(data-old-hires)").get()) or squash(
        sel.css("#landingImage::attr(src), #imgBlkFront::attr(src)").get()
    )
    crumbs = [squash(t) for t in sel.css("#wayfinding-breadcrumbs_feature_div li a::text").getall()]
    listing.category = " > ".join(c for c in crumbs if c) or None
    return listing


def _first_text(sel: Selector, selectors: tuple[str, ...]) -> str | None:
    for css in selectors:
        text = text_of(sel.css(css))
        if text and any(ch.isdigit() for ch in text):
            return text
    return None


def _availability(sel: Selector) -> str | None:
    node = sel.css("#availability")
    if not node:
        node = sel.css("#outOfStock, #availabilityInsideBuyBox_feature_div")
    # Only visible text: the block also holds <script>s and hidden templates.
    parts = (
        node.xpath(".//text()[not(ancestor::script) and not(ancestor::style)]").getall()
        if node
        else []
    )
    return squash(" ".join(parts))


def review_page_urls(sel: Selector, url: str, asin: str | None) -> list[str]:
    """The see-all-reviews page, or one built from the ASIN."""
    link = sel.css('a[data-hook="see-all-reviews-link-foot"]::attr(href)').get()
    if link:
        return [absolute(link, url)]
    if asin:
        return [absolute(f"/product-reviews/{asin}", url)]
    return []


def parse_reviews(sel: Selector, url: str) -> list[Review]:
    """Reviews in div[data-hook=review] blocks (product page top reviews or a review page)."""
    reviews = []
    for block in sel.css('div[data-hook="review"]'):
        date = text_of(block.css('[data-hook="review-date"]'))
        title_node = block.css('[data-hook="review-title"]')
        title_parts = title_node.xpath(
            ".//text()[not(ancestor::*[contains(@class, 'a-icon-alt')])"
            " and not(ancestor::*[contains(@class, 'a-icon')])]"
        ).getall()
        helpful = text_of(block.css('[data-hook="helpful-vote-statement"]'))
        reviews.append(
            Review(
                url=url,
                review_id=squash(block.attrib.get("id")),
                author=text_of(block.css(".a-profile-name")),
                rating=text_of(block.css('[data-hook="review-star-rating"] .a-icon-alt'))
                or text_of(block.css('[data-hook="cmps-review-star-rating"] .a-icon-alt'))
                or text_of(block.css("i.review-rating .a-icon-alt")),
                title=squash(" ".join(title_parts)),
                body=text_of(block.css('[data-hook="review-body"]')),
                date=date,
                verified=bool(
                    block.css('[data-hook="avp-badge"], [data-hook="avp-badge-linkless"]')
                ),
                helpful_votes=helpful,
                language=_language_of_date(date),
            )
        )
    return reviews


def _language_of_date(date: str | None) -> str | None:
    lowered = (date or "").lower()
    return next((lang for prefix, lang in _LANGUAGE_BY_PREFIX if lowered.startswith(prefix)), None)


def parse_review_page(sel: Selector, url: str) -> ReviewPage:
    """An Amazon /product-reviews/<ASIN> page: reviews, next page, rating summary."""
    next_href = sel.css("li.a-last a::attr(href)").get()
    return ReviewPage(
        reviews=parse_reviews(sel, url),
        next_url=absolute(next_href, url),
        rating=text_of(sel.css('[data-hook="rating-out-of-text"]'))
        or text_of(sel.css('[data-hook="average-star-rating"] .a-icon-alt')),
        total_ratings=text_of(sel.css('[data-hook="total-review-count"]'))
        or text_of(sel.css("#cr-filter-info-review-rating-count")),
        product_name=text_of(sel.css('[data-hook="product-link"]')),
        asin=asin_from_url(url)
        or asin_from_url(next_href or "")
        or asin_from_url(sel.css('[data-hook="product-link"]::attr(href)').get() or ""),
    )


class Amazon(Source):
    """Amazon stores: element ids on product pages, /product-reviews/<ASIN> pages for reviews."""

    name = "amazon"
    product_path = _PRODUCT_PATH
    not_crawled = (
        "creators_api",
        "Amazon: the Creators API by ASIN (link-only without credentials); Amazon pages are "
        "never crawled",
    )
    product_link_css = (
        'div[data-component-type="s-search-result"] a[href*="/dp/"]',
        'a[href*="/dp/"]',
    )
    next_page_css = ("a.s-pagination-next",)

    def owns_host(self, host: str) -> bool:
        return is_amazon_host(host)  # the catalog's own rule for Amazon's shop hosts

    def detect(self, page: Page) -> bool:
        return page.has_any(_HINTS) and bool(
            _MARKERS.search(page.text)
            or ("a-offscreen" in page.text and _ASIN_INPUT.search(page.text))
        )

    def canonical_product_url(self, parts: SplitResult) -> str | None:
        """``/dp/<ASIN>``: the slug, ``ref=`` path segments and the query say nothing."""
        asin = _ASIN_IN_PATH.search(parts.path or "/")
        if asin is None:
            return None
        return urlunsplit((parts.scheme, parts.netloc, f"/dp/{asin.group(1)}", "", ""))

    def parse_listing(self, page: Page) -> Listing:
        return merge(
            super().parse_listing(page), parse_listing(page.sel, page.url), prefer_second=True
        )

    def parse_reviews(self, page: Page) -> list[Review]:
        return parse_reviews(page.sel, page.url)

    def review_page_urls(self, page: Page, listing: Listing) -> list[str]:
        return review_page_urls(page.sel, page.url, listing.asin)

    def parse_review_page(self, page: Page) -> ReviewPage:
        return parse_review_page(page.sel, page.url)
