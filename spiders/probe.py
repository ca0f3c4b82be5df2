"""What backrank would use on a store: its platform, robots.txt, feeds and APIs, sitemaps,
review app and structured data, and the ``[[stores]]`` entry to start from.

``probe_store(url, fetch, user_agent)`` asks a handful of URLs through `fetch` (the caller's
HTTP client: ``backrank probe`` passes a plain one with the crawler's User-Agent) and decides
from the answers alone. Each finding says what was asked and what came back, so an owner can
see why a path was chosen.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from protego import Protego

from spiders import discovery, sources
from spiders.extract import is_blocked
from spiders.extract.schemaorg import read_structured_data
from spiders.sources import review_apps, woo_store_api

# Amazon's retail domains: listed by ASIN for the Creators API, never crawled.
_AMAZON_HOST = re.compile(
    r"(^|\.)amazon\.(com|ca|co\.uk|de|fr|it|es|nl|se|pl|com\.be|com\.au|co\.jp|in|com\.mx|com\.br|sg|ae|sa|com\.tr|eg)$"
)
_SITEMAP_GUESSES = ("/sitemap.xml", "/sitemap_index.xml", "/wp-sitemap.xml")
_ROBOTS_FIELDS = re.compile(r"^\s*(user-agent|allow|disallow|crawl-delay)\s*:\s*(.*?)\s*$", re.I)


@dataclass(frozen=True)
class Fetched:
    """One answer: status (None when the request failed), lower-case headers, body, error."""

    status: int | None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200


Fetch = Callable[[str], Fetched]


@dataclass
class Finding:
    """One thing probed: the URL asked, and what it says in a line."""

    url: str
    found: bool
    summary: str
    locs: list[str] = field(default_factory=list)  # a sitemap's <loc>s
    index: bool = False  # a sitemap index: its <loc>s are sitemaps


@dataclass
class Probe:
    """Everything ``backrank probe`` reports about one store."""

    url: str
    origin: str
    platform: str  # amazon, shopify, woocommerce, walmart, generic
    path: str  # creators_api, store_api, products_json, html
    path_text: str
    robots: Finding
    robots_rules: list[str]
    allowed: dict[str, bool]
    crawl_delay: float | None
    products_json: Finding | None
    store_api: Finding | None
    sitemaps: list[Finding]
    product_url: str | None
    structured_data: Finding | None
    review_app: Finding | None
    notes: list[str]

    def catalog_entry(self) -> str:
        """A ``[[stores]]`` entry for this store, as the owner would start it."""
        host = urlsplit(self.origin).netloc or "store"
        name = re.sub(r"[^a-z0-9]+", "-", host.lower().removeprefix("www.")).strip("-")
        lines = ["[[stores]]", f'name = "{name}"', f'platform = "{self.platform}"']
        if self.platform == "amazon":
            lines.append("# Amazon is never crawled: list products by ASIN for the Creators API")
            lines.append('product_urls = ["https://www.amazon.com/dp/ASIN"]')
            return "\n".join(lines) + "\n"
        found = [s.url for s in self.sitemaps if s.found]
        if self.path == "store_api":
            lines.append("# products and reviews from the WooCommerce Store API")
        elif self.path == "products_json":
            lines.append("# products from /products.json; reviews from the review app")
        if found:
            lines.append("sitemap_urls = [" + ", ".join(f'"{url}"' for url in found[:3]) + "]")
        else:
            lines.append(f'start_urls = ["{self.origin}/"]')
        lines.append("include = []  # words a product title must contain (the niche)")
        return "\n".join(lines) + "\n"


def origin_of(url: str) -> str:
    parts = urlsplit(url if "//" in url else f"https://{url}")
    return urlunsplit((parts.scheme or "https", parts.netloc, "", "", ""))


def probe_store(url: str, fetch: Fetch, user_agent: str) -> Probe:
    """Probe the store at `url` (any of its pages) through `fetch`."""
    origin = origin_of(url)
    url = url if "//" in url else f"https://{url}"
    notes: list[str] = []
    host = urlsplit(origin).hostname or ""
    robots, rules, allowed, delay, robots_sitemaps = _robots(origin, url, fetch, user_agent)
    if _AMAZON_HOST.search(host):
        return Probe(
            url=url, origin=origin, platform="amazon", path="creators_api",
            path_text="Amazon: the Creators API by ASIN (or link-only without credentials); "
            "Amazon pages are never crawled",
            robots=robots, robots_rules=rules, allowed=allowed, crawl_delay=delay,
            products_json=None, store_api=None, sitemaps=[], product_url=None,
            structured_data=None, review_app=None, notes=notes,
        )  # fmt: skip
    home = fetch(url)
    home_text = home.body.decode("utf-8", "replace") if home.body else ""
    platform = _platform(home_text, url) if home.ok else "generic"
    if home.ok and is_blocked(home.body):
        notes.append(f"{url} answered a robot check: the store blocks crawlers")
    products_json, first_handle = _products_json(origin, fetch)
    store_api, first_permalink = _store_api(origin, fetch)
    if products_json.found:
        platform = "shopify"
    elif store_api.found or "/wp-json/" in home_text:
        platform = "woocommerce"
    sitemaps = _sitemaps(origin, robots_sitemaps, fetch)
    product_url = _product_url(
        origin, url, first_handle, first_permalink, sitemaps, fetch, platform
    )
    structured, review_app = None, None
    if product_url:
        page = fetch(product_url)
        if page.ok:
            text = page.body.decode("utf-8", "replace")
            if platform == "generic":  # a home page says less than a product page
                platform = _platform(text, product_url)
            structured = _structured(product_url, text)
            review_app = _review_app(product_url, text, platform)
        else:
            structured = Finding(product_url, False, f"the product page answered {_status(page)}")
    path, path_text = _path(platform, products_json, store_api, review_app)
    if product_url and not discovery.is_product_url(product_url, platform):
        notes.append(f"{product_url} does not look like a {platform} product URL")
    return Probe(
        url=url, origin=origin, platform=platform, path=path, path_text=path_text,
        robots=robots, robots_rules=rules, allowed=allowed, crawl_delay=delay,
        products_json=products_json, store_api=store_api, sitemaps=sitemaps,
        product_url=product_url, structured_data=structured, review_app=review_app, notes=notes,
    )  # fmt: skip


def _path(
    platform: str, products_json: Finding, store_api: Finding, review_app: Finding | None
) -> tuple[str, str]:
    """Which way backrank reads the store, in a word and in a sentence."""
    reviews = ""
    if review_app is not None and review_app.found:
        reviews = f"; reviews from {review_app.summary.split(':')[0]}'s endpoint"
    if platform == "amazon":
        return "creators_api", (
            "Amazon: the Creators API by ASIN (link-only without credentials); "
            "Amazon pages are never crawled"
        )
    if products_json.found:
        return "products_json", f"Shopify: /products.json, then each product page{reviews}"
    if store_api.found:
        return "store_api", "WooCommerce Store API: products and reviews"
    if platform == "woocommerce":
        return "html", f"WooCommerce HTML pages from the sitemaps (Store API {store_api.summary})"
    return "html", f"{platform}: HTML pages from the sitemaps{reviews}"


def _platform(text: str, url: str) -> str:
    """The source whose markup the page carries (the registry's own detection)."""
    return sources.detect(sources.Page(text, url)).name


def _status(answer: Fetched) -> str:
    return str(answer.status) if answer.status is not None else f"no answer ({answer.error})"


def _robots(origin: str, url: str, fetch: Fetch, user_agent: str):
    robots_url = f"{origin}/robots.txt"
    answer = fetch(robots_url)
    paths = {"/": True, urlsplit(url).path or "/": True}
    if not answer.ok:
        finding = Finding(robots_url, False, f"none ({_status(answer)}): everything is allowed")
        return finding, [], paths, None, []
    text = answer.body.decode("utf-8", "replace")
    parser = Protego.parse(text)
    checks = ["/", "/products.json", woo_store_api.PRODUCTS_PATH, urlsplit(url).path or "/"]
    allowed = {path: parser.can_fetch(origin + path, user_agent) for path in dict.fromkeys(checks)}
    delay = parser.crawl_delay(user_agent)
    rules = rules_for(text, user_agent)
    sitemaps = list(parser.sitemaps)
    summary = f"{len(rules)} rule(s) for {user_agent.split('/')[0]}"
    if delay:
        summary += f", Crawl-delay {delay:g} s"
    return Finding(robots_url, True, summary), rules, allowed, delay, sitemaps


def rules_for(robots_txt: str, user_agent: str) -> list[str]:
    """The Allow/Disallow/Crawl-delay lines of the group that applies to `user_agent`
    (its own group when one names it, else ``*``)."""
    token = user_agent.split("/")[0].strip().lower()
    groups: list[tuple[list[str], list[str]]] = []
    agents: list[str] = []
    lines: list[str] = []
    for raw in robots_txt.splitlines():
        match = _ROBOTS_FIELDS.match(raw.split("#", 1)[0])
        if not match:
            continue
        name, value = match.group(1).lower(), match.group(2)
        if name == "user-agent":
            if lines:
                groups.append((agents, lines))
                agents, lines = [], []
            agents.append(value.lower())
        elif agents:
            lines.append(f"{match.group(1).capitalize()}: {value}")
    if agents:
        groups.append((agents, lines))
    own = [lines for agents, lines in groups if any(a != "*" and a in token for a in agents)]
    if own:
        return [line for lines in own for line in lines]
    return [line for agents, lines in groups if "*" in agents for line in lines]


def _json(answer: Fetched):
    try:
        return json.loads(answer.body.decode("utf-8", "replace"))
    except ValueError:
        return None


def _products_json(origin: str, fetch: Fetch) -> tuple[Finding, str | None]:
    url = f"{origin}/products.json?limit=1"
    answer = fetch(url)
    data = _json(answer) if answer.ok else None
    if isinstance(data, dict) and isinstance(data.get("products"), list):
        products = data["products"]
        handle = products[0].get("handle") if products and isinstance(products[0], dict) else None
        return Finding(url, True, "served (Shopify's product feed)"), handle
    return Finding(url, False, f"not served ({_status(answer)})"), None


def _store_api(origin: str, fetch: Fetch) -> tuple[Finding, str | None]:
    url = woo_store_api.products_url(origin, per_page=1)
    answer = fetch(url)
    try:
        records = woo_store_api.check_available(answer.status or 0, answer.body)
    except woo_store_api.StoreApiUnavailable as problem:
        return Finding(url, False, str(problem).replace("the Store API answered", "answered")), None
    total = answer.headers.get("x-wp-total")
    summary = f"served: {total} products" if total else "served"
    first = records[0].get("permalink") if records and isinstance(records[0], dict) else None
    return Finding(url, True, summary), first if isinstance(first, str) else None


def _sitemaps(origin: str, listed: list[str], fetch: Fetch) -> list[Finding]:
    findings = []
    for url in dict.fromkeys([*listed, *(origin + guess for guess in _SITEMAP_GUESSES)]):
        answer = fetch(url)
        if not answer.ok:
            if url in listed:
                findings.append(
                    Finding(url, False, f"listed in robots.txt, answered {_status(answer)}")
                )
            continue
        try:
            kind, locs = discovery.read_sitemap(
                discovery.sitemap_body(answer.body, url) or b"<not-xml/>"
            )
        except ValueError:
            findings.append(Finding(url, False, "not a sitemap"))
            continue
        findings.append(
            Finding(url, True, f"{kind} of {len(locs)} URL(s)", locs, kind == "sitemapindex")
        )
    return findings


def _product_url(origin, url, handle, permalink, sitemaps, fetch, platform) -> str | None:
    """A product page to look at: the URL given when it is one, else the feed's first product,
    else the first product URL in the sitemaps."""
    if discovery.is_product_url(url, "auto"):
        return url
    if handle:
        return f"{origin}/products/{handle}"
    if permalink:
        return permalink
    wanted = platform if platform != "generic" else "auto"
    for sitemap in sitemaps:
        if not sitemap.index:
            products = discovery.product_urls_in_sitemap(sitemap.locs, wanted)
            if products:
                return products[0]
            continue
        for child in discovery.sitemaps_to_follow(sitemap.locs)[:3]:
            answer = fetch(child)
            if not answer.ok:
                continue
            try:
                kind, inner = discovery.read_sitemap(
                    discovery.sitemap_body(answer.body, child) or b"<not-xml/>"
                )
            except ValueError:
                continue
            products = discovery.product_urls_in_sitemap(inner, wanted) if kind == "urlset" else []
            if products:
                return products[0]
    return None


def _structured(url: str, text: str) -> Finding:
    data = read_structured_data(text, url)
    types = sorted({str(t) for node in data.nodes for t in _types(node)})
    products = [node for node in data.nodes if "Product" in _types(node)]
    parts = []
    if products:
        product = products[0]
        fields = [
            key
            for key in ("offers", "aggregateRating", "review", "gtin13", "gtin", "sku", "brand")
            if key in product
        ]
        parts.append(f"schema.org Product with {', '.join(fields) or 'no offer'}")
    elif types:
        parts.append("schema.org " + ", ".join(types[:5]))
    if data.opengraph:
        parts.append(f"OpenGraph ({len(data.opengraph)} properties)")
    if not parts:
        return Finding(url, False, "none: backrank reads this page by its platform's markup only")
    return Finding(url, bool(products), "; ".join(parts))


def _types(node: dict) -> list[str]:
    kind = node.get("@type")
    values = kind if isinstance(kind, list) else [kind]
    return [str(v).rsplit("/", 1)[-1] for v in values if v]


def _review_app(url: str, text: str, platform: str) -> Finding | None:
    widget = review_apps.detect_widget(text, url)
    if widget is None:
        if platform in ("woocommerce", "amazon", "walmart"):
            return None  # these keep their reviews themselves
        return Finding(url, False, "no known review app: reviews from the page's own markup")
    if widget.readable:
        return Finding(
            widget.first_url() or url, True, f"{widget.app}: reviews from its public endpoint"
        )
    return Finding(url, False, f"{widget.app}: found, its reviews come from the page's own markup")
