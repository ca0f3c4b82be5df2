"""Where product pages are: URL patterns, canonical product URLs, sitemap and listing-page links."""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import lxml.etree
from parsel import Selector
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap

PLATFORMS = ("amazon", "shopify", "woocommerce", "walmart")

# A product page's path, per platform; "auto" and "generic" accept any of them.
PRODUCT_PATH = {
    "amazon": re.compile(r"/(?:dp|gp/product)/[A-Za-z0-9]{10}(?:[/?#]|$)"),
    "shopify": re.compile(r"/products/[^/?#.]+/?(?:[?#]|$)"),
    "woocommerce": re.compile(r"/product/[^/?#]+"),
    "walmart": re.compile(r"/ip/(?:[^/?#]+/)?\d+"),
}

# Links to product pages on a listing page (search results, category, collection, browse).
PRODUCT_LINK_CSS = {
    "amazon": [
        'div[data-component-type="s-search-result"] a[href*="/dp/"]',
        'a[href*="/dp/"]',
    ],
    "shopify": ['a[href*="/products/"]'],
    "woocommerce": [
        "ul.products a.woocommerce-LoopProduct-link",
        "ul.products li.product a[href]",
        'a[href*="/product/"]',
    ],
    "walmart": ['[data-item-id] a[href*="/ip/"]', 'a[href*="/ip/"]'],
}

# The "next page" link of a listing page.
NEXT_PAGE_CSS = {
    "amazon": ["a.s-pagination-next"],
    "shopify": [".pagination .next a", "a.pagination__item--prev ~ a.pagination__item--next"],
    "woocommerce": ["a.next.page-numbers"],
    "walmart": [
        'a[aria-label="Next Page"]',
        'nav[aria-label="pagination"] a[data-testid="NextPage"]',
    ],
}
GENERIC_NEXT_CSS = ['link[rel="next"]', 'a[rel="next"]', 'a[rel~="next"]']

TRACKING_PARAMS = re.compile(
    r"^(?:utm_\w+|ref|ref_|tag|gclid|fbclid|_pos|_sid|_ss|_psq|_v|variant)$"
)
ASIN_IN_PATH = re.compile(r"/(?:dp|gp/product)/([A-Za-z0-9]{10})(?:[/?#]|$)")
SHOPIFY_COLLECTION_PREFIX = re.compile(r"^/collections/[^/]+(?=/products/)")


class SitemapTooBig(ValueError):
    """A gzipped sitemap that inflates past the download size cap (a gzip bomb)."""


@dataclass(kw_only=True)
class ListingPageLinks:
    """What a listing page points to: product pages and the next listing page."""

    product_urls: list[str] = field(default_factory=list)
    next_url: str | None = None


def platforms_for(platform: str) -> tuple[str, ...]:
    """The platform patterns to try for a store configured with `platform`."""
    return (platform,) if platform in PLATFORMS else PLATFORMS


def is_product_url(url: str, platform: str = "auto") -> bool:
    """True when `url`'s path looks like a product page on `platform` (any platform for auto)."""
    parts = urlsplit(url)
    path = parts.path
    if parts.query:
        path = f"{path}?{parts.query}"
    return any(PRODUCT_PATH[name].search(path) for name in platforms_for(platform))


def canonical_product_url(url: str, platform: str = "auto") -> str:
    """One URL per product page, so the dupefilter never fetches a product twice.

    Amazon pages collapse to ``/dp/ASIN`` (slug, ``ref=`` path segments and query dropped);
    Shopify's ``/collections/x/products/h`` is the same page as ``/products/h``; everywhere
    tracking parameters and the fragment are dropped.
    """
    parts = urlsplit(url)
    path = parts.path or "/"
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not TRACKING_PARAMS.match(key)
    ]
    names = platforms_for(platform)
    asin = ASIN_IN_PATH.search(path)
    if "amazon" in names and asin:
        return urlunsplit((parts.scheme, parts.netloc, f"/dp/{asin.group(1)}", "", ""))
    if "shopify" in names and "/products/" in path:
        path = SHOPIFY_COLLECTION_PREFIX.sub("", path)
        query = []  # a Shopify product page's query only picks a variant or a tracker
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode(query), ""))


def _keyword_pattern(keyword: str) -> re.Pattern[str]:
    words = [re.escape(word) for word in re.split(r"[\W_]+", keyword.lower()) if word]
    # whole words, plural allowed: "back" matches "back-stretcher" but not "backpack"
    return re.compile(r"(?<![a-z0-9])" + r"[\W_]+".join(words) + r"(?:e?s)?(?![a-z0-9])")


def matches_include(text: str | None, include: list[str] | tuple[str, ...]) -> bool:
    """True when `text` (a URL or a title) names one of the store's `include` keywords."""
    if not include:
        return True
    if not text:
        return False
    lowered = text.lower()
    return any(_keyword_pattern(keyword).search(lowered) for keyword in include if keyword.strip())


def sitemap_body(body: bytes, url: str, *, max_size: int = 0) -> bytes | None:
    """The XML of a sitemap response, gunzipped when needed; None when it is not a sitemap.

    Raises SitemapTooBig when the gzip inflates past `max_size` bytes (0: no cap), ValueError
    when it is no gzip after all.
    """
    if body[:3] == b"\x1f\x8b\x08":
        try:
            return gunzip(body, max_size=max_size)
        except ValueError as error:  # the only ValueError gunzip raises: past max_size
            raise SitemapTooBig(f"inflates past {max_size} bytes") from error
        except (OSError, EOFError, struct.error) as error:
            raise ValueError(f"broken gzip: {error}") from error
    head = body[:512].lstrip().lower()
    if head.startswith(b"<?xml") or b"<urlset" in head or b"<sitemapindex" in head:
        return body
    if urlsplit(url).path.endswith((".xml", ".xml.gz")):
        return body
    return None


def read_sitemap(body: bytes) -> tuple[str, list[str]]:
    """The sitemap's type (``urlset`` or ``sitemapindex``) and its ``<loc>`` URLs, in order."""
    try:
        sitemap = Sitemap(body)
    except (lxml.etree.XMLSyntaxError, StopIteration) as error:
        raise ValueError(f"not a sitemap: {error}") from error
    return sitemap.type, [entry["loc"] for entry in sitemap if entry.get("loc")]


def listing_page_links(html: str | bytes, url: str, platform: str = "auto") -> ListingPageLinks:
    """Product links and the next-page link of a search, category or collection page."""
    if isinstance(html, bytes):
        html = html.decode("utf-8", errors="replace")
    page = Selector(text=html)
    names = platforms_for(platform)
    seen: set[str] = set()
    product_urls: list[str] = []
    for name in names:
        for css in PRODUCT_LINK_CSS[name]:
            for href in page.css(css).xpath("@href").getall():
                absolute = urljoin(url, href.strip())
                if not _same_site(absolute, url) or not is_product_url(absolute, platform):
                    continue
                canonical = canonical_product_url(absolute, platform)
                if canonical not in seen:
                    seen.add(canonical)
                    product_urls.append(canonical)
    next_url = None
    for css in [c for name in names for c in NEXT_PAGE_CSS[name]] + GENERIC_NEXT_CSS:
        href = page.css(css).xpath("@href").get()
        if href and href.strip() and not href.strip().startswith(("#", "javascript:")):
            next_url = urljoin(url, href.strip())
            break
    return ListingPageLinks(product_urls=product_urls, next_url=next_url)


def shopify_products_json_url(url: str, page: int) -> str:
    """The ``/products.json`` page `page` of the Shopify store `url` belongs to."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/products.json", f"page={page}", ""))


def shopify_product_urls(data: dict, url: str) -> list[str]:
    """Product page URLs for the handles in one ``/products.json`` page (empty at the end)."""
    products = data.get("products")
    if not isinstance(products, list):
        raise ValueError(f"{url}: no 'products' list in products.json")  # noqa: TRY004 (bad data)
    parts = urlsplit(url)
    return [
        urlunsplit((parts.scheme, parts.netloc, f"/products/{product['handle']}", "", ""))
        for product in products
        if isinstance(product, dict) and product.get("handle")
    ]


def host_of(url: str) -> str | None:
    """The host name of `url` without port (what OffsiteMiddleware compares)."""
    return urlsplit(url).hostname


def _same_site(url: str, base: str) -> bool:
    return urlsplit(url).netloc == urlsplit(base).netloc


def sitemaps_to_follow(locs: list[str]) -> list[str]:
    """Child sitemaps of an index worth fetching: the product ones when the index names any."""
    product_maps = [loc for loc in locs if "product" in urlsplit(loc).path.lower()]
    return product_maps or locs


def product_urls_in_sitemap(locs: list[str], platform: str = "auto") -> list[str]:
    """Canonical product page URLs among a urlset's locations.

    A ``generic`` store's sitemap lists its product pages in no known pattern: every URL is a
    candidate (pages without a product are counted as skipped later). ``auto`` uses the known
    platform patterns and falls back to every URL when none of them matches.
    """
    if platform == "generic":
        candidates = list(locs)
    else:
        candidates = [loc for loc in locs if is_product_url(loc, platform)]
        if not candidates and platform == "auto":
            candidates = list(locs)
    urls: list[str] = []
    seen: set[str] = set()
    for loc in candidates:
        canonical = canonical_product_url(loc, platform)
        if canonical not in seen:
            seen.add(canonical)
            urls.append(canonical)
    return urls
