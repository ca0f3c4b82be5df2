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

from backrank.core.config import AUTO_PLATFORM, StoreConfig
from spiders import discovery, sources
from spiders.extract import is_blocked
from spiders.extract.markup import origin
from spiders.extract.schemaorg import read_structured_data
from spiders.sources import review_apps

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
    path: str  # the feed it reads (store_api, products_json), pages, or not crawled
    path_text: str
    robots: Finding
    robots_rules: list[str]
    allowed: dict[str, bool]
    crawl_delay: float | None
    feeds: list[Finding]  # each source's feed or API, asked at this store
    not_crawled: bool  # a platform backrank never crawls (Amazon)
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
        if self.not_crawled:
            lines.insert(0, f"# {self.path_text}.")
            lines.append("product_urls = []  # list the products you compare here")
            return "\n".join(lines) + "\n"
        found = [s.url for s in self.sitemaps if s.found]
        if self.path != "pages":
            lines.append(f"# products from its {self.path} feed; the pages if it is refused")
        if found:
            lines.append("sitemap_urls = [" + ", ".join(f'"{url}"' for url in found[:3]) + "]")
        else:
            lines.append(f'start_urls = ["{self.origin}/"]')
        lines.append("include = []  # words a product title must contain (the niche)")
        return "\n".join(lines) + "\n"


def origin_of(url: str) -> str:
    """The store's origin; a URL given without a scheme (``shop.example``) is https."""
    return origin(url if "://" in url else "https://" + url.removeprefix("//"))


def probe_store(url: str, fetch: Fetch, user_agent: str) -> Probe:
    """Probe the store at `url` (any of its pages) through `fetch`."""
    origin = origin_of(url)
    url = url if "//" in url else f"https://{url}"
    notes: list[str] = []
    host = urlsplit(origin).hostname or ""
    robots, rules, parser, delay, robots_sitemaps = _robots(origin, fetch, user_agent)
    by_host = next((s for s in sources.SOURCES if s.owns_host(host)), None)
    if by_host is not None and by_host.not_crawled:
        return Probe(
            url=url, origin=origin, platform=by_host.name, path=by_host.not_crawled[0],
            path_text=by_host.not_crawled[1], robots=robots, robots_rules=rules,
            allowed=_allowed(parser, origin, [url], user_agent), crawl_delay=delay, feeds=[], not_crawled=True, sitemaps=[],
            product_url=None, structured_data=None, review_app=None, notes=notes,
        )  # fmt: skip
    home = fetch(url)
    home_text = home.body.decode("utf-8", "replace") if home.body else ""
    platform = _platform(home_text, url) if home.ok else sources.GENERIC.name
    if home.ok and is_blocked(home.body):
        notes.append(f"{url} answered a robot check: the store blocks crawlers")
    feeds = [_feed(source, origin, fetch) for source in sources.SOURCES if source.feed_name]
    served = next(((source, first) for source, finding, first in feeds if finding.found), None)
    if served is not None:
        platform = served[0].name
    sitemaps = _sitemaps(origin, robots_sitemaps, fetch)
    first_product = served[1] if served else None
    product_url = _product_url(origin, url, first_product, sitemaps, fetch, platform)
    structured, review_app = None, None
    if product_url:
        page = fetch(product_url)
        if page.ok:
            text = page.body.decode("utf-8", "replace")
            if platform == sources.GENERIC.name:  # a home page says less than a product page
                platform = _platform(text, product_url)
            structured = _structured(product_url, text)
            review_app = _review_app(product_url, text)
        else:
            structured = Finding(product_url, False, f"the product page answered {_status(page)}")
    source = sources.named(platform) or sources.GENERIC
    if source.not_crawled:
        path, path_text = source.not_crawled
    else:
        mine = next((finding for s, finding, _ in feeds if s is source), None)
        path, path_text = _path(source, mine, review_app)
        if mine is not None and mine.found and source.feed_replaces_pages and review_app:
            review_app = review_app if review_app.found else None  # the API has the reviews
    if product_url and not discovery.is_product_url(product_url, platform):
        notes.append(f"{product_url} does not look like a {platform} product URL")
    checked = [origin + "/", url, *(finding.url for _, finding, _ in feeds), product_url]
    allowed = _allowed(parser, origin, checked, user_agent)
    return Probe(
        url=url, origin=origin, platform=platform, path=path, path_text=path_text,
        robots=robots, robots_rules=rules, allowed=allowed, crawl_delay=delay,
        feeds=[finding for _, finding, _ in feeds], not_crawled=bool(source.not_crawled),
        sitemaps=sitemaps, product_url=product_url, structured_data=structured,
        review_app=review_app, notes=notes,
    )  # fmt: skip


def _path(source, feed: Finding | None, review_app: Finding | None) -> tuple[str, str]:
    """Which way backrank reads the store, in a word and in a sentence."""
    reviews = ""
    if review_app is not None and review_app.found:
        reviews = f"; reviews from {review_app.summary.split(':')[0]}'s endpoint"
    if feed is not None and feed.found:
        then = "" if source.feed_replaces_pages else ", then each product page"
        return source.feed_name, f"{source.name}: its {source.feed_name} feed{then}{reviews}"
    if feed is not None and source.feed_replaces_pages:
        return "pages", (f"{source.name}: its pages from the sitemaps (its {feed.summary})")
    return "pages", f"{source.name}: its pages from the sitemaps{reviews}"


def _platform(text: str, url: str) -> str:
    """The source whose markup the page carries (the registry's own detection)."""
    return sources.detect(sources.Page(text, url)).name


def _status(answer: Fetched) -> str:
    return str(answer.status) if answer.status is not None else f"no answer ({answer.error})"


def _robots(origin: str, fetch: Fetch, user_agent: str):
    """(finding, the rules for the agent, a parser or None, Crawl-delay, listed sitemaps)."""
    robots_url = f"{origin}/robots.txt"
    answer = fetch(robots_url)
    if not answer.ok:
        finding = Finding(robots_url, False, f"none ({_status(answer)}): everything is allowed")
        return finding, [], None, None, []
    text = answer.body.decode("utf-8", "replace")
    parser = Protego.parse(text)
    delay = parser.crawl_delay(user_agent)
    rules = rules_for(text, user_agent)
    summary = f"{len(rules)} rule(s) for {user_agent.split('/')[0]}"
    if delay:
        summary += f", Crawl-delay {delay:g} s"
    return Finding(robots_url, True, summary), rules, parser, delay, list(parser.sitemaps)


def _allowed(parser, origin: str, urls: list[str | None], user_agent: str) -> dict[str, bool]:
    """Whether robots.txt lets the agent fetch each URL's path (all, without a robots.txt)."""
    paths = dict.fromkeys(
        urlunsplit(("", "", parts.path or "/", parts.query, ""))
        for url in urls
        if url and (parts := urlsplit(url))
    )
    if parser is None:
        return dict.fromkeys(paths, True)
    return {path: parser.can_fetch(origin + path, user_agent) for path in paths}


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


def _feed(source, origin: str, fetch: Fetch) -> tuple[object, Finding, str | None]:
    """Ask a source's feed at this store: (the source, what it answered, a product URL)."""
    probe_store = StoreConfig(name="probe", start_urls=(origin + "/",))
    requests = [r for r in source.feed_requests(probe_store) if r.method == "GET"]
    label = source.feed_name
    if not requests:
        return source, Finding(origin, False, f"{label}: not asked (not a GET)"), None
    url = requests[0].url
    answer = fetch(url)
    if answer.status in sources.API_OFF_STATUSES or answer.status is None:
        return source, Finding(url, False, f"{label}: answered {_status(answer)}"), None
    try:
        feed = source.parse_feed(sources.Page(answer.body, url), 1)
    except ValueError as problem:
        return source, Finding(url, False, f"{label}: answered {_status(answer)}, {problem}"), None
    urls = feed.product_urls + [p.listing.url for p in feed.products if p.listing is not None]
    total = answer.headers.get("x-wp-total")
    count = f"{total} products" if total else f"{len(urls)} products on its first page"
    return source, Finding(url, True, f"{label}: served ({count})"), urls[0] if urls else None


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
        read = _read_sitemap(answer, url)
        if read is None:
            findings.append(Finding(url, False, "not a sitemap"))
            continue
        kind, locs = read
        findings.append(
            Finding(url, True, f"{kind} of {len(locs)} URL(s)", locs, kind == "sitemapindex")
        )
    return findings


def _read_sitemap(answer: Fetched, url: str) -> tuple[str, list[str]] | None:
    """``(urlset or sitemapindex, its <loc>s)`` of a sitemap answer (gzip or not); None when
    it is not a sitemap."""
    try:
        return discovery.read_sitemap(discovery.sitemap_body(answer.body, url) or b"<not-xml/>")
    except ValueError:
        return None


def _product_url(origin, url, first_product, sitemaps, fetch, platform) -> str | None:
    """A product page to look at: the URL given when it is one, else the feed's first product,
    else the first product URL in the sitemaps."""
    if discovery.is_product_url(url, "auto"):
        return url
    if first_product:
        return first_product
    wanted = platform if platform != sources.GENERIC.name else AUTO_PLATFORM
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
            read = _read_sitemap(answer, child)
            if read is None:
                continue
            kind, inner = read
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


def _review_app(url: str, text: str) -> Finding:
    widget = review_apps.detect_widget(text, url)
    if widget is None:
        return Finding(url, False, "no known review app: reviews from the page's own markup")
    if widget.readable:
        endpoint = widget.first_url() or url
        return Finding(endpoint, True, f"{widget.app}: reviews from its public endpoint")
    return Finding(url, False, f"{widget.app}: found, its reviews come from the page's own markup")
