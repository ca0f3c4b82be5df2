"""Fault profiles for the demo marketplace: the bad days of the web, deterministic by seed, path and attempt."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from html import escape

from backrank.marketplace.catalog import StoreListing
from backrank.marketplace.response import DEMO_NOTE, Response, not_found

# Transport faults hit any path but robots.txt; page faults only product pages.
TRANSPORT_KINDS = ("throttle", "unavailable", "slow", "truncated")
PAGE_KINDS = ("captcha", "redesign", "delisted", "redirect_loop", "bad_encoding", "huge")
FAULT_KINDS = TRANSPORT_KINDS + PAGE_KINDS
PROFILES = ("none", *FAULT_KINDS, "full")

# A profile named after one kind hits 40% of the paths it applies to, so a small
# marketplace shows it many times; `full` mixes every kind at rates a bad day could bring.
SINGLE_KIND_RATE = 0.4
FULL_RATES = {
    "throttle": 0.06,
    "unavailable": 0.05,
    "slow": 0.02,
    "truncated": 0.03,
    "captcha": 0.03,
    "redesign": 1.0,  # one store, chosen by seed, redesigned from day 1
    "delisted": 0.04,
    "redirect_loop": 0.02,
    "bad_encoding": 0.04,
    "huge": 0.01,
}
HUGE_PAGE_BYTES = 20 * 1024 * 1024
MAX_BURST = 2  # 503s in a row on one path: fewer than Scrapy's RETRY_TIMES, so a retry wins
LOOP_PARAM = re.compile(r"(?:^|&)loop=(\d+)")


@dataclass(frozen=True, slots=True)
class Served:
    """What the server sends for one request: a response plus how to misbehave while sending it."""

    status: int
    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0  # seconds to wait before answering
    cut_at: int | None = None  # send only this many body bytes, then close (Content-Length lies)
    fault: str | None = None  # which fault shaped it, for the marketplace's log

    @classmethod
    def plain(cls, response: Response, fault: str | None = None) -> Served:
        return cls(
            response.status, response.content_type, response.body, response.headers, fault=fault
        )


@dataclass(slots=True)
class FaultPlan:
    """Which fault, if any, a request meets: a pure function of (seed, store, path, attempt, day)."""

    seed: int
    profile: str = "none"
    slow_seconds: float = 40.0  # past Scrapy's default 30 s DOWNLOAD_TIMEOUT
    retry_after: int = 1  # seconds, in the 429's Retry-After header
    rates: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(
                f"unknown fault profile {self.profile!r}; one of {', '.join(PROFILES)}"
            )
        if self.profile == "full":
            self.rates = dict(FULL_RATES)
        elif self.profile in FAULT_KINDS:
            rate = 1.0 if self.profile == "redesign" else SINGLE_KIND_RATE
            self.rates = {self.profile: rate}
        else:
            self.rates = {}

    @property
    def active(self) -> bool:
        return bool(self.rates)

    def chance(self, kind: str, *parts: object) -> float:
        """A stable number in [0, 1) for this kind and these parts (seeded, not random)."""
        key = "\x1f".join(str(part) for part in (self.seed, kind, *parts)).encode()
        return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") / 2**64

    def hits(self, kind: str, *parts: object) -> bool:
        return self.chance(kind, *parts) < self.rates.get(kind, 0.0)

    def redesigned_store(self, stores: tuple[str, ...]) -> str | None:
        """The one store whose product pages changed template (from day 1 on)."""
        if "redesign" not in self.rates:
            return None
        return stores[int(self.chance("redesign-store") * len(stores))]

    def is_delisted(self, store: str, path: str, day: int) -> bool:
        """Delisted from day 1 on, so a first crawl sees the product and later ones miss it."""
        return day >= 1 and self.hits("delisted", store, path)

    def transport_fault(self, store: str, path: str, attempt: int) -> str | None:
        """throttle (429 on the first attempt), unavailable (a burst of 503s), slow, truncated."""
        if self.hits("throttle", store, path) and attempt == 0:
            return "throttle"
        if self.hits("unavailable", store, path):
            burst = 1 + int(self.chance("burst", store, path) * MAX_BURST)
            if attempt < burst:
                return "unavailable"
        if self.hits("slow", store, path) and attempt == 0:
            return "slow"
        if self.hits("truncated", store, path) and attempt == 0:
            return "truncated"
        return None

    def page_fault(self, store: str, path: str, attempt: int, day: int) -> str | None:
        """A product page's fault: CAPTCHA, redirect loop, wrong charset or a 20 MB page."""
        for kind in ("captcha", "redirect_loop", "huge"):
            if self.hits(kind, store, path) and attempt == 0:
                return kind
        if self.hits("bad_encoding", store, path):
            return "bad_encoding"  # a store's template bug stays until fixed
        return None


def robot_check_page() -> Response:
    """An Amazon-shaped robot check, served with status 200 like the real one."""
    body = (
        '<!doctype html><html lang="en-us"><head><meta charset="utf-8">'
        "<title>Amazon.com</title></head><body>"
        f'<p class="backrank-demo-note">{DEMO_NOTE}</p>'
        '<div class="a-container a-padding-double-large"><h4>Enter the characters you see below</h4>'
        '<p class="a-last">Sorry, we just need to make sure you\'re not a robot. For best results, '
        "please make sure your browser is accepting cookies.</p>"
        '<form method="get" action="/errors/validateCaptcha" name="">'
        '<div class="a-row"><img src="/captcha/abcdefgh.jpg"></div>'
        '<input autocomplete="off" spellcheck="false" placeholder="Type characters" '
        'id="captchacharacters" name="field-keywords" type="text">'
        '<button type="submit" class="a-button-text">Continue shopping</button></form></div>'
        "</body></html>"
    )
    return Response(200, "text/html; charset=utf-8", body.encode())


def redesigned_page(listing: StoreListing) -> Response:
    """The store's new product template: the title survives, the price moved into a script
    state blob that no extractor reads, and the structured data is gone."""
    cents = listing.price_cents
    body = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(listing.title)}</title></head><body>"
        f'<p class="backrank-demo-note" role="note">{DEMO_NOTE}</p>'
        f'<main class="pdp-v2"><h1 class="pdp-v2__name">{escape(listing.title)}</h1>'
        f'<div class="pdp-v2__buybox" data-state="{{&quot;c&quot;:{cents or "null"}}}"></div>'
        "</main></body></html>"
    )
    return Response(200, "text/html; charset=utf-8", body.encode())


def windows_1252_page(response: Response, listing: StoreListing) -> Response:
    """The page with a registered mark after the brand, encoded windows-1252 but still declared
    UTF-8 (header and meta): the bytes are not valid UTF-8."""
    text = response.body.decode("utf-8")
    brand = listing.product.brand
    text = text.replace(f"{brand} ", f"{brand}\u00ae ")
    return response._replace(body=text.encode("cp1252", errors="xmlcharrefreplace"))


def huge_page(response: Response) -> Response:
    """The page padded past 20 MB with an HTML comment (a runaway template)."""
    padding = b"<!--" + b" " * HUGE_PAGE_BYTES + b"-->"
    body = response.body.replace(b"</body>", padding + b"</body>", 1)
    return response._replace(body=body)


def without_delisted(sitemap: bytes, urls: set[str]) -> bytes:
    """A sitemap <urlset> without the entries of delisted product URLs."""
    text = sitemap.decode("utf-8")
    for url in urls:
        text = text.replace(f"<url><loc>{escape(url)}</loc></url>\n", "")
    return text.encode("utf-8")


def apply_faults(
    plan: FaultPlan,
    *,
    store: str,
    path: str,
    query: str,
    attempt: int,
    day: int,
    listing: StoreListing | None,
    delisted: bool,
    redesigned: bool,
    delisted_urls: set[str],
    respond,
) -> Served:
    """Serve `path` (via `respond()`, the store's own answer) with the plan's fault applied.

    `listing` is the product a product-page path shows (None for other paths), `delisted`
    says it is gone today; `redesigned`
    says the store runs its new template today; `delisted_urls` are this store's product
    URLs gone today (dropped from its sitemaps).
    """
    if not plan.active or path == "/robots.txt":
        return Served.plain(respond())
    full_path = f"{path}?{query}" if query else path
    if loop := LOOP_PARAM.search(query):
        hop = int(loop.group(1)) + 1
        return Served(
            302, "text/html; charset=utf-8", b"", (("Location", f"{path}?loop={hop}"),),
            fault="redirect_loop",
        )  # fmt: skip
    transport = plan.transport_fault(store, full_path, attempt)
    if transport == "truncated" and listing is None:
        transport = None  # only HTML pages are cut off: a cut sitemap is another story
    if transport == "throttle":
        return Served(
            429, "text/html; charset=utf-8", b"<html><body>Too Many Requests</body></html>",
            (("Retry-After", str(plan.retry_after)),), fault="throttle",
        )  # fmt: skip
    if transport == "unavailable":
        return Served(
            503, "text/html; charset=utf-8", b"<html><body>Service Unavailable</body></html>",
            fault="unavailable",
        )  # fmt: skip
    if listing is not None and delisted:
        return Served.plain(not_found(), fault="delisted")
    # keyed by the listing, not the path: one product page answers under several URL forms
    page_fault = plan.page_fault(store, listing.key, attempt, day) if listing is not None else None
    if page_fault == "captcha":
        return Served.plain(robot_check_page(), fault="captcha")
    if page_fault == "redirect_loop":
        return Served(
            302, "text/html; charset=utf-8", b"", (("Location", f"{path}?loop=1"),),
            fault="redirect_loop",
        )  # fmt: skip
    response = respond()
    fault = None
    if listing is not None and redesigned and response.status == 200:
        response, fault = redesigned_page(listing), "redesign"
    elif page_fault == "huge":
        response, fault = huge_page(response), "huge"
    elif page_fault == "bad_encoding":
        response, fault = windows_1252_page(response, listing), "bad_encoding"
    if delisted_urls and b"<urlset" in response.body[:400]:
        response = response._replace(body=without_delisted(response.body, delisted_urls))
    if transport == "slow":
        return Served(
            response.status, response.content_type, response.body, response.headers,
            delay=plan.slow_seconds,
            fault="slow",
        )  # fmt: skip
    if transport == "truncated" and "html" in response.content_type:
        # Half the page; every other one also lies about its length (Scrapy sees data loss),
        # the rest end early with an honest length (no closing </html>).
        half = len(response.body) // 2
        if plan.chance("truncated-kind", store, full_path) < 0.5:
            return Served(
                response.status, response.content_type, response.body, cut_at=half,
                fault="truncated",
            )  # fmt: skip
        return Served(
            response.status, response.content_type, response.body[:half], fault="truncated"
        )
    return Served.plain(response, fault=fault)
