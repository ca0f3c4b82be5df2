"""Shopify review apps as plug-ins: which one a product page uses, and its public endpoint.

Shopify keeps no reviews of its own; an app does, and its widget loads them from a public
endpoint keyed by ids the product page carries (the shop domain, a public app key or store
id, the product id). Each app is one ``ReviewApp`` object with the same small interface:
``detect`` (the widget on a product page, or None), ``page_url`` (a page of its endpoint),
``endpoint`` (the path that says a URL is its endpoint) and ``read`` (the endpoint's JSON
to reviews and the next page's URL), registered in ``APPS``. Everything here is pure.

Where the endpoint lives: a loader script from any CDN means the app's own API host; a
loader served from the store's own origin (an app proxy, a self-hosted widget, the demo
marketplace) means the endpoint is on that origin too, at the app's usual path.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from html import unescape
from typing import ClassVar
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from parsel import Selector

from spiders.extract.markup import origin, squash, text_of
from spiders.items import Review

_PRODUCT_HANDLE = re.compile(r"/products/([^/?#.]+)")


@dataclass(frozen=True, kw_only=True)
class AppWidget:
    """A review app's widget on one product page: what its public endpoint needs."""

    app: str  # the ReviewApp's name
    api_base: str  # the endpoint's origin (and path prefix)
    product_id: str | None = None  # the Shopify product id
    handle: str | None = None
    key: str | None = None  # Yotpo app key, Okendo subscriber id, Stamped public key, Loox id
    shop_domain: str | None = None  # xyz.myshopify.com (Judge.me, Stamped)
    token: str | None = None  # Judge.me's public token

    @property
    def readable(self) -> bool:
        """Whether backrank reads this app's endpoint (else: the page's own markup)."""
        return APP_BY_NAME[self.app].readable and self.first_url() is not None

    def first_url(self, per_page: int | None = None) -> str | None:
        """The endpoint's first page; None when the page lacked an id the endpoint needs."""
        return self.page_url(1, per_page or APP_BY_NAME[self.app].max_per_page)

    def page_url(self, page: int, per_page: int) -> str | None:
        """Page `page` of the endpoint; None when the page lacked an id the endpoint needs."""
        return APP_BY_NAME[self.app].page_url(self, page, per_page)


@dataclass(kw_only=True)
class AppReviewPage:
    """One page of an app's endpoint: its reviews and the next page (None at the end)."""

    reviews: list[Review]
    next_url: str | None = None
    total: int | None = None  # how many reviews the app says the product has


@dataclass(frozen=True)
class ProductPage:
    """What detection reads: the product page's text, its parsed tree, URL and handle."""

    html: str
    sel: Selector
    url: str

    @property
    def handle(self) -> str | None:
        match = _PRODUCT_HANDLE.search(urlsplit(self.url).path)
        return match.group(1) if match else None

    def script(self, part: str) -> str | None:
        """The src of the first <script> whose src contains `part`."""
        return next(
            (src for src in self.sel.css("script::attr(src)").getall() if part in src), None
        )

    def api_base(self, app: ReviewApp, script_src: str | None) -> str:
        """The app's API origin, or the store's own when it serves the app's loader itself."""
        if script_src:
            loader = urljoin(self.url, script_src)
            host = urlsplit(loader).netloc
            if host and host == urlsplit(self.url).netloc:  # served by the store itself
                return origin(loader) + urlsplit(app.api_origin).path
        return app.api_origin  # the app's CDN, or any CDN it loads from


class ReviewApp:
    """One review app: how its widget shows on a product page and how its endpoint answers."""

    name: ClassVar[str]
    api_origin: ClassVar[str]  # its public API's origin and path prefix
    endpoint: ClassVar[re.Pattern[str] | None] = None  # the path of its endpoint
    max_per_page: ClassVar[int] = 100
    readable: ClassVar[bool] = True  # False: detected, reviews from the page's markup

    def detect(self, page: ProductPage) -> AppWidget | None:
        """The app's widget on the page, with the ids its endpoint needs; None without it."""
        raise NotImplementedError

    def page_url(self, widget: AppWidget, page: int, per_page: int) -> str | None:
        """Page `page` of the endpoint; None when the widget lacks an id it needs."""
        raise NotImplementedError

    def read(self, data: dict, page_url: str, listing_url: str) -> AppReviewPage:
        """The reviews of one endpoint page (its JSON object) and the next page's URL."""
        raise NotImplementedError


class JudgeMe(ReviewApp):
    name = "judgeme"
    api_origin = "https://judge.me"
    endpoint = re.compile(r"/api/v1/widgets/product_review$")
    _setting = re.compile(r"jdgm\.(SHOP_DOMAIN|PUBLIC_TOKEN)\s*=\s*['\"]([^'\"]+)['\"]")

    def detect(self, page: ProductPage) -> AppWidget | None:
        if "jdgm" not in page.html:
            return None
        settings = dict(self._setting.findall(page.html))
        src = page.script("judge.me") or page.script("widget_preloader.js")
        product_id = page.sel.css(".jdgm-widget::attr(data-id), .jdgm-review-widget::attr(data-id)")
        return AppWidget(
            app=self.name,
            api_base=page.api_base(self, src),
            product_id=squash(product_id.get()),
            handle=page.handle,
            shop_domain=settings.get("SHOP_DOMAIN"),
            token=settings.get("PUBLIC_TOKEN"),
        )

    def page_url(self, widget: AppWidget, page: int, per_page: int) -> str | None:
        if not widget.shop_domain or not (widget.handle or widget.product_id):
            return None
        query = {"shop_domain": widget.shop_domain, "platform": "shopify"}
        if widget.token:
            query["api_token"] = widget.token
        if widget.handle:
            query["handle"] = widget.handle
        else:
            query["external_id"] = widget.product_id
        query |= {"page": page, "per_page": per_page}
        return f"{widget.api_base.rstrip('/')}/api/v1/widgets/product_review?{urlencode(query)}"

    def read(self, data: dict, page_url: str, listing_url: str) -> AppReviewPage:
        return _judgeme(data, page_url, listing_url)


class Yotpo(ReviewApp):
    name = "yotpo"
    api_origin = "https://api-cdn.yotpo.com"
    endpoint = re.compile(r"/v1/widget/[^/]+/products/[^/]+/reviews\.json$")
    max_per_page = 150
    _loader = re.compile(r"/v1/loader/([A-Za-z0-9]+)")
    _legacy = re.compile(r"staticw2\.yotpo\.com/([A-Za-z0-9]+)/widget\.js")

    def detect(self, page: ProductPage) -> AppWidget | None:
        if "yotpo" not in page.html:
            return None
        src = page.script("/v1/loader/") or page.script("yotpo.com/")
        match = self._loader.search(src or "") or self._legacy.search(src or "")
        key = match.group(1) if match else page.sel.css("[data-appkey]::attr(data-appkey)").get()
        product_id = (
            page.sel.css("[data-yotpo-product-id]::attr(data-yotpo-product-id)").get()
            or page.sel.css(".yotpo-main-widget::attr(data-product-id)").get()
        )
        if not (key or product_id):
            return None
        return AppWidget(
            app=self.name,
            api_base=page.api_base(self, src),
            product_id=squash(product_id),
            handle=page.handle,
            key=squash(key),
        )

    def page_url(self, widget: AppWidget, page: int, per_page: int) -> str | None:
        if not widget.key or not widget.product_id:
            return None
        query = urlencode({"per_page": per_page, "page": page})
        return (
            f"{widget.api_base.rstrip('/')}/v1/widget/{widget.key}/products/"
            f"{widget.product_id}/reviews.json?{query}"
        )

    def read(self, data: dict, page_url: str, listing_url: str) -> AppReviewPage:
        return _yotpo(data, page_url, listing_url)


class Okendo(ReviewApp):
    name = "okendo"
    api_origin = "https://api.okendo.io/v1"
    endpoint = re.compile(r"/stores/[^/]+/products/[^/]+/reviews$")
    _subscriber = re.compile(r"\"subscriberId\"\s*:\s*\"([0-9a-fA-F-]{8,})\"")

    def detect(self, page: ProductPage) -> AppWidget | None:
        if "data-oke-" not in page.html and "okendo" not in page.html:
            return None
        subscriber = self._subscriber.search(page.html)
        product = page.sel.css("[data-oke-reviews-product-id]::attr(data-oke-reviews-product-id)")
        return AppWidget(
            app=self.name,
            api_base=page.api_base(self, page.script("okendo")),
            product_id=squash((product.get() or "").removeprefix("shopify-")),
            handle=page.handle,
            key=subscriber.group(1) if subscriber else None,
        )

    def page_url(self, widget: AppWidget, page: int, per_page: int) -> str | None:
        if not widget.key or not widget.product_id or page != 1:
            return None  # later pages come from the answer's nextUrl
        query = urlencode({"limit": per_page, "orderBy": "date desc"})
        return (
            f"{widget.api_base.rstrip('/')}/stores/{widget.key}/products/"
            f"shopify-{widget.product_id}/reviews?{query}"
        )

    def read(self, data: dict, page_url: str, listing_url: str) -> AppReviewPage:
        return _okendo(data, page_url, listing_url)


class Stamped(ReviewApp):
    name = "stamped"
    api_origin = "https://stamped.io"
    endpoint = re.compile(r"/api/widget/reviews$")
    _init = re.compile(
        r"apiKey\s*:\s*['\"]([^'\"]+)['\"].{0,200}?storeUrl\s*:\s*['\"]([^'\"]+)['\"]", re.S
    )

    def detect(self, page: ProductPage) -> AppWidget | None:
        if "stamped" not in page.html:
            return None
        widget = page.sel.css("#stamped-main-widget")
        init = self._init.search(page.html)
        return AppWidget(
            app=self.name,
            api_base=page.api_base(self, page.script("stamped")),
            product_id=squash(widget.attrib.get("data-product-id")) if widget else None,
            handle=page.handle,
            key=init.group(1) if init else None,
            shop_domain=init.group(2) if init else None,
        )

    def page_url(self, widget: AppWidget, page: int, per_page: int) -> str | None:
        if not widget.key or not widget.product_id:
            return None
        query = {"productId": widget.product_id, "apiKey": widget.key, "page": page}
        query["take"] = per_page
        if widget.shop_domain:
            query["storeUrl"] = widget.shop_domain
        return f"{widget.api_base.rstrip('/')}/api/widget/reviews?{urlencode(query)}"

    def read(self, data: dict, page_url: str, listing_url: str) -> AppReviewPage:
        return _stamped(data, page_url, listing_url)


class Loox(ReviewApp):
    """Loox: detected (probe names it), but its widget endpoint answers HTML of its own, so
    its reviews come from the page's markup."""

    name = "loox"
    api_origin = "https://loox.io"
    max_per_page = 20
    readable = False
    _script = re.compile(r"loox\.io/widget/([A-Za-z0-9_-]+)/loox\.js")

    def detect(self, page: ProductPage) -> AppWidget | None:
        if "loox" not in page.html:
            return None
        src = page.script("loox.io/widget/")
        client = self._script.search(src or "")
        return AppWidget(
            app=self.name,
            api_base=page.api_base(self, src),
            product_id=squash(page.sel.css("#looxReviews::attr(data-product-id)").get()),
            handle=page.handle,
            key=client.group(1) if client else None,
        )

    def page_url(self, widget: AppWidget, page: int, per_page: int) -> str | None:
        if not widget.key or not widget.product_id:
            return None
        query = urlencode({"page": page})
        return (
            f"{widget.api_base.rstrip('/')}/widget/{widget.key}/reviews/{widget.product_id}?{query}"
        )

    def read(self, data: dict, page_url: str, listing_url: str) -> AppReviewPage:
        raise ValueError("loox reviews are read from the product page, not its endpoint")


# In detection order (Yotpo before Judge.me: a store moving apps may keep jdgm- leftovers).
APPS: tuple[ReviewApp, ...] = (Yotpo(), JudgeMe(), Okendo(), Stamped(), Loox())
APP_BY_NAME = {app.name: app for app in APPS}
# The origins backrank may ask for reviews on a store's behalf (the apps' own APIs).
API_ORIGINS = tuple(origin(app.api_origin) for app in APPS)


def is_review_app_api(url: str) -> bool:
    """Whether `url` is on a review app's own API origin (asked on a store's behalf)."""
    return origin(url) in API_ORIGINS


def detect_widget(html: str, url: str, sel: Selector | None = None) -> AppWidget | None:
    """The review app whose widget the product page carries; None for no known app."""
    sel = sel if sel is not None else Selector(text=html or "<html></html>", type="html")
    page = ProductPage(html, sel, url)
    return next((widget for app in APPS if (widget := app.detect(page)) is not None), None)


def endpoint_app(url: str) -> ReviewApp | None:
    """The review app whose public endpoint `url` is; None for any other URL."""
    path = urlsplit(url).path
    return next((app for app in APPS if app.endpoint and app.endpoint.search(path)), None)


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
        raise ValueError(f"{app.name} answered something that is not JSON") from None
    if not isinstance(data, dict):
        raise ValueError(f"{app.name} answered JSON that is not an object")
    return app.read(data, page_url, listing_url)


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
