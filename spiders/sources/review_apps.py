"""Shopify review apps: which one a product page uses, and its public widget endpoint's JSON.

Shopify keeps no reviews of its own; an app does (Judge.me, Yotpo, Okendo, Stamped, Loox),
and its widget loads them from a public endpoint keyed by ids the product page carries:
the shop domain, a public app key or store id, and the product id. ``detect_widget`` reads
those from the page; ``first_url`` / ``parse`` are per app and pure (JSON in, reviews and
the next page's URL out).

Where the endpoint lives: a loader script from any CDN means the app's own API host; a
loader served from the store's own origin (an app proxy, a self-hosted widget, the demo
marketplace) means the endpoint is on that origin too, at the app's usual path.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from html import unescape
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from parsel import Selector

from spiders.extract.markup import squash, text_of
from spiders.items import Review

MAX_PER_PAGE = {"judgeme": 100, "yotpo": 150, "okendo": 100, "stamped": 100, "loox": 20}
# app -> (the host of its scripts, its public API's origin and path prefix)
API_HOSTS = {
    "judgeme": ("judge.me", "https://judge.me"),
    "yotpo": ("yotpo.com", "https://api-cdn.yotpo.com"),
    "okendo": ("okendo.io", "https://api.okendo.io/v1"),
    "stamped": ("stamped.io", "https://stamped.io"),
    "loox": ("loox.io", "https://loox.io"),
}
READABLE = ("judgeme", "yotpo", "okendo", "stamped")  # Loox's widget is HTML of its own

_JDGM_SETTING = re.compile(r"jdgm\.(SHOP_DOMAIN|PUBLIC_TOKEN)\s*=\s*['\"]([^'\"]+)['\"]")
_YOTPO_LOADER = re.compile(r"/v1/loader/([A-Za-z0-9]+)")
_YOTPO_LEGACY = re.compile(r"staticw2\.yotpo\.com/([A-Za-z0-9]+)/widget\.js")
_OKENDO_SUBSCRIBER = re.compile(r"\"subscriberId\"\s*:\s*\"([0-9a-fA-F-]{8,})\"")
_STAMPED_INIT = re.compile(
    r"apiKey\s*:\s*['\"]([^'\"]+)['\"].{0,200}?storeUrl\s*:\s*['\"]([^'\"]+)['\"]", re.S
)
_LOOX_SCRIPT = re.compile(r"loox\.io/widget/([A-Za-z0-9_-]+)/loox\.js")
_PRODUCT_HANDLE = re.compile(r"/products/([^/?#.]+)")


@dataclass(frozen=True, kw_only=True)
class AppWidget:
    """A review app's widget on one product page: what its public endpoint needs."""

    app: str  # judgeme, yotpo, okendo, stamped, loox
    api_base: str  # the endpoint's origin (and path prefix)
    product_id: str | None = None  # the Shopify product id
    handle: str | None = None
    key: str | None = None  # Yotpo app key, Okendo subscriber id, Stamped public key, Loox id
    shop_domain: str | None = None  # xyz.myshopify.com (Judge.me, Stamped)
    token: str | None = None  # Judge.me's public token

    @property
    def readable(self) -> bool:
        """Whether backrank reads this app's endpoint (else: the page's own markup)."""
        return self.app in READABLE and self.first_url() is not None

    def first_url(self, per_page: int | None = None) -> str | None:
        """The endpoint's first page; None when the page lacked an id the endpoint needs."""
        return self.page_url(1, per_page or MAX_PER_PAGE[self.app])

    def page_url(self, page: int, per_page: int) -> str | None:
        base = self.api_base.rstrip("/")
        if self.app == "judgeme" and self.shop_domain and (self.handle or self.product_id):
            query = {"shop_domain": self.shop_domain, "platform": "shopify"}
            if self.token:
                query["api_token"] = self.token
            if self.handle:
                query["handle"] = self.handle
            else:
                query["external_id"] = self.product_id
            query |= {"page": page, "per_page": per_page}
            return f"{base}/api/v1/widgets/product_review?{urlencode(query)}"
        if self.app == "yotpo" and self.key and self.product_id:
            query = urlencode({"per_page": per_page, "page": page})
            return f"{base}/v1/widget/{self.key}/products/{self.product_id}/reviews.json?{query}"
        if self.app == "okendo" and self.key and self.product_id and page == 1:
            query = urlencode({"limit": per_page, "orderBy": "date desc"})
            return f"{base}/stores/{self.key}/products/shopify-{self.product_id}/reviews?{query}"
        if self.app == "stamped" and self.key and self.product_id:
            query = {
                "productId": self.product_id,
                "apiKey": self.key,
                "page": page,
                "take": per_page,
            }
            if self.shop_domain:
                query["storeUrl"] = self.shop_domain
            return f"{base}/api/widget/reviews?{urlencode(query)}"
        if self.app == "loox" and self.key and self.product_id:
            return f"{base}/widget/{self.key}/reviews/{self.product_id}?{urlencode({'page': page})}"
        return None


@dataclass(kw_only=True)
class AppReviewPage:
    """One page of an app's endpoint: its reviews and the next page (None at the end)."""

    reviews: list[Review]
    next_url: str | None = None
    total: int | None = None  # how many reviews the app says the product has


def _api_base(app: str, script_src: str | None, page_url: str) -> str:
    official = API_HOSTS[app][1]
    if not script_src:
        return official
    parts = urlsplit(urljoin(page_url, script_src))
    if parts.netloc and parts.netloc == urlsplit(page_url).netloc:
        # The loader comes from the store itself (an app proxy, a self-hosted widget): so
        # does the endpoint, at the app's usual path.
        base = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
        return base + urlsplit(official).path
    return official  # the app's CDN, or any CDN it loads from


def _script(sel: Selector, pattern: str) -> str | None:
    return next((src for src in sel.css("script::attr(src)").getall() if pattern in src), None)


def detect_widget(html: str, url: str, sel: Selector | None = None) -> AppWidget | None:
    """The review app whose widget the product page carries; None for no known app."""
    sel = sel if sel is not None else Selector(text=html or "<html></html>", type="html")
    handle_match = _PRODUCT_HANDLE.search(urlsplit(url).path)
    handle = handle_match.group(1) if handle_match else None
    if "yotpo" in html:
        src = _script(sel, "/v1/loader/") or _script(sel, "yotpo.com/")
        key_match = _YOTPO_LOADER.search(src or "") or _YOTPO_LEGACY.search(src or "")
        key = key_match.group(1) if key_match else sel.css("[data-appkey]::attr(data-appkey)").get()
        product_id = (
            sel.css("[data-yotpo-product-id]::attr(data-yotpo-product-id)").get()
            or sel.css(
                ".yotpo-main-widget::attr(data-product-id), .yotpo.yotpo-main-widget::attr(data-product-id)"
            ).get()
        )
        if key or product_id:
            return AppWidget(
                app="yotpo",
                api_base=_api_base("yotpo", src, url),
                product_id=squash(product_id),
                handle=handle,
                key=squash(key),
            )
    if "jdgm" in html:
        settings = dict(_JDGM_SETTING.findall(html))
        src = _script(sel, "judge.me") or _script(sel, "widget_preloader.js")
        product_id = sel.css(
            ".jdgm-widget::attr(data-id), .jdgm-review-widget::attr(data-id)"
        ).get()
        return AppWidget(
            app="judgeme",
            api_base=_api_base("judgeme", src, url),
            product_id=squash(product_id),
            handle=handle,
            shop_domain=settings.get("SHOP_DOMAIN"),
            token=settings.get("PUBLIC_TOKEN"),
        )
    if "data-oke-" in html or "okendo" in html:
        sub = _OKENDO_SUBSCRIBER.search(html)
        product = sel.css("[data-oke-reviews-product-id]::attr(data-oke-reviews-product-id)").get()
        return AppWidget(
            app="okendo",
            api_base=_api_base("okendo", _script(sel, "okendo"), url),
            product_id=squash((product or "").removeprefix("shopify-")),
            handle=handle,
            key=sub.group(1) if sub else None,
        )
    if "stamped" in html:
        widget = sel.css("#stamped-main-widget")
        init = _STAMPED_INIT.search(html)
        return AppWidget(
            app="stamped",
            api_base=_api_base("stamped", _script(sel, "stamped"), url),
            product_id=squash(widget.attrib.get("data-product-id")) if widget else None,
            handle=handle,
            key=init.group(1) if init else None,
            shop_domain=init.group(2) if init else None,
        )
    if "loox" in html:
        src = _script(sel, "loox.io/widget/")
        client = _LOOX_SCRIPT.search(src or "")
        product = sel.css("#looxReviews::attr(data-product-id)").get()
        return AppWidget(
            app="loox",
            api_base=_api_base("loox", src, url),
            product_id=squash(product),
            handle=handle,
            key=client.group(1) if client else None,
        )
    return None


# The path of each app's endpoint: an endpoint page's URL says which app answered it.
ENDPOINT_PATHS = {
    "judgeme": re.compile(r"/api/v1/widgets/product_review$"),
    "yotpo": re.compile(r"/v1/widget/[^/]+/products/[^/]+/reviews\.json$"),
    "okendo": re.compile(r"/stores/[^/]+/products/[^/]+/reviews$"),
    "stamped": re.compile(r"/api/widget/reviews$"),
}


def endpoint_app(url: str) -> str | None:
    """The review app whose public endpoint `url` is; None for any other URL."""
    path = urlsplit(url).path
    return next((app for app, pattern in ENDPOINT_PATHS.items() if pattern.search(path)), None)


def parse(body: str | bytes, page_url: str, listing_url: str) -> AppReviewPage:
    """Reviews of one page of an app's endpoint (the URL says which app) and the next page's
    URL; ValueError when the URL is no known endpoint or the body is not the app's JSON."""
    app = endpoint_app(page_url)
    if app is None:
        raise ValueError(f"{page_url} is not a review app's endpoint")
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
    except ValueError:
        raise ValueError(f"{app} answered something that is not JSON") from None
    if not isinstance(data, dict):
        raise ValueError(f"{app} answered JSON that is not an object")
    reader = {"judgeme": _judgeme, "yotpo": _yotpo, "okendo": _okendo, "stamped": _stamped}[app]
    return reader(data, page_url, listing_url)


def _next(page_url: str, shown: int, total: int | None, size_name: str) -> str | None:
    """The same endpoint URL one page on; None after the last page."""
    parts = urlsplit(page_url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    values = dict(query)
    page = int(values["page"]) if values.get("page", "").isdigit() else 1
    per_page = int(values[size_name]) if values.get(size_name, "").isdigit() else shown
    if not shown or not per_page or (total is not None and page * per_page >= total):
        return None
    if "page" not in values:
        query.append(("page", "1"))
    query = [(name, str(page + 1) if name == "page" else value) for name, value in query]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _judgeme(data: dict, page_url: str, listing_url: str) -> AppReviewPage:
    """``{"widget": "<div class='jdgm-rev-widg' ...>"}``: the widget's HTML, one page of it."""
    html = data.get("widget") if isinstance(data.get("widget"), str) else ""
    sel = Selector(text=html or "<div></div>", type="html")
    reviews = []
    for block in sel.css("div.jdgm-rev"):
        verified = block.attrib.get("data-verified-buyer")
        reviews.append(
            Review(
                url=listing_url,
                review_id=squash(block.attrib.get("data-review-id")),
                author=text_of(block.css(".jdgm-rev__author")),
                rating=squash(block.css(".jdgm-rev__rating::attr(data-score)").get()),
                title=text_of(block.css(".jdgm-rev__title")),
                body=text_of(block.css(".jdgm-rev__body")),
                date=squash(block.css(".jdgm-rev__timestamp::attr(data-content)").get()),
                verified=None if verified is None else verified.strip().lower() == "true",
                helpful_votes=squash(block.css(".jdgm-rev__thumb-count::attr(data-count)").get()),
            )
        )
    total_text = sel.css(".jdgm-rev-widg::attr(data-number-of-reviews)").get() or ""
    total = int(total_text) if total_text.isdigit() else None
    return AppReviewPage(
        reviews=reviews,
        next_url=_next(page_url, len(reviews), total, "per_page"),
        total=total,
    )


def _yotpo(data: dict, page_url: str, listing_url: str) -> AppReviewPage:
    """``{"response": {"pagination": {...}, "reviews": [{"score", "content", "user"}]}}``."""
    response = data.get("response") if isinstance(data.get("response"), dict) else {}
    reviews = []
    for record in response.get("reviews") or []:
        if not isinstance(record, dict):
            continue
        user = record.get("user") if isinstance(record.get("user"), dict) else {}
        verified = record.get("verified_buyer")
        reviews.append(
            Review(
                url=listing_url,
                review_id=None if record.get("id") is None else str(record["id"]),
                author=squash(user.get("display_name")),
                rating=_int(record.get("score")),
                title=squash(unescape(record.get("title") or "")),
                body=squash(unescape(record.get("content") or "")),
                date=squash(record.get("created_at")),
                verified=verified if isinstance(verified, bool) else None,
                helpful_votes=_int(record.get("votes_up")),
            )
        )
    pagination = response.get("pagination") if isinstance(response.get("pagination"), dict) else {}
    total = _int(pagination.get("total"))
    return AppReviewPage(
        reviews=reviews,
        next_url=_next(page_url, len(reviews), total, "per_page"),
        total=total,
    )


def _okendo(data: dict, page_url: str, listing_url: str) -> AppReviewPage:
    """``{"reviews": [{"reviewId", "rating", "body", "reviewer": {...}}], "nextUrl": "/stores/..."}``."""
    reviews = []
    for record in data.get("reviews") or []:
        if not isinstance(record, dict):
            continue
        reviewer = record.get("reviewer") if isinstance(record.get("reviewer"), dict) else {}
        verified = reviewer.get("isVerified")
        reviews.append(
            Review(
                url=listing_url,
                review_id=squash(record.get("reviewId")),
                author=squash(reviewer.get("displayName")),
                rating=_int(record.get("rating")),
                title=squash(record.get("title")),
                body=squash(record.get("body")),
                date=squash(record.get("dateCreated")),
                verified=verified if isinstance(verified, bool) else None,
                helpful_votes=_int(record.get("helpfulCount")),
            )
        )
    next_path = data.get("nextUrl")
    next_url = None
    if isinstance(next_path, str) and next_path.startswith("/stores/") and reviews:
        # nextUrl is relative to the API's root, the part of this URL before /stores/
        root = page_url.split("/stores/", 1)[0]
        next_url = root + next_path
    return AppReviewPage(reviews=reviews, next_url=next_url)


def _stamped(data: dict, page_url: str, listing_url: str) -> AppReviewPage:
    """``{"data": [{"author", "reviewRating", "reviewMessage", ...}], "total": n}``."""
    reviews = []
    for record in data.get("data") or []:
        if not isinstance(record, dict):
            continue
        kind = record.get("reviewVerifiedType")
        reviews.append(
            Review(
                url=listing_url,
                review_id=None if record.get("id") is None else str(record["id"]),
                author=squash(record.get("author")),
                rating=_int(record.get("reviewRating")),
                title=squash(unescape(record.get("reviewTitle") or "")),
                body=squash(unescape(record.get("reviewMessage") or "")),
                date=squash(record.get("reviewDate")),
                verified=None if kind is None else _int(kind) is not None and kind > 0,
                helpful_votes=_int(record.get("reviewVotesUp")),
            )
        )
    total = _int(data.get("total"))
    return AppReviewPage(
        reviews=reviews,
        next_url=_next(page_url, len(reviews), total, "take"),
        total=total,
    )
