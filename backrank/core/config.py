"""Load and validate the catalog (catalog.toml): site, crawl, stores, affiliates, categories, scoring.

Every problem is found at a key path (``("stores", 1, "platform")``) and reported at that
key's line; the [scoring] table is parsed by ``backrank.core.settings``.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import string
import tomllib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from backrank.core.identifiers import asin_in_url, canonical_asin
from backrank.core.settings import (
    DEFAULT_MAX_PRICE_AGE_HOURS,
    SPEC_BOUND_KEYS,
    KeyPath,
    Problem,
    ScoringConfig,
    field_default,
    is_http_url,
    key_label,
    parse_scoring,
    spec_bounds,
    type_name,
    unknown_key,
    value_problem,
)

# A store whose platform is detected page by page. The platform names themselves belong to the
# crawl (spiders.sources.PLATFORMS), which the layers above pass to load_catalog.
AUTO_PLATFORM = "auto"
AFFILIATE_KINDS = ("amazon", "generic")
# Listing fields an affiliate url_template may use, besides the program's own params.
LISTING_PLACEHOLDERS = ("url", "url_quoted", "asin", "gtin", "mpn", "sku")

DEFAULT_DISCLOSURE = (
    "We may earn a commission when you buy through links on this site. "
    "It never changes how products are ranked."
)
# Amazon's Operating Agreement asks for this exact sentence.
DEFAULT_AMAZON_DISCLOSURE = "As an Amazon Associate I earn from qualifying purchases."
DEFAULT_USER_AGENT = "backrank/0.1"
# Amazon: a store of ASINs read through the Creators API, never crawled (see StoreConfig).
AMAZON_SHORT_HOSTS = ("amzn.to", "amzn.com", "a.co")
DEFAULT_AMAZON_MARKETPLACE = "www.amazon.com"
DEFAULT_AMAZON_API_INTERVAL = 1.1  # a margin over the 1 request a second Amazon allows
# Deeper TOML nesting than any catalog needs is refused before it can exhaust the stack.
MAX_NESTING = 32


class CatalogError(ValueError):
    """One problem in a catalog, printed as ``catalog.toml:LINE: key: what is wrong``."""

    def __init__(self, file: str, line: int, key: str, message: str) -> None:
        key, message = _one_line(key), _one_line(message)
        super().__init__(f"{file}:{line}: {key}: {message}")
        self.file = file
        self.line = line
        self.key = key
        self.message = message


def _one_line(text: str) -> str:
    """``text`` with line breaks and other control characters escaped, so a message quoting
    the catalog stays one line and cannot drive the terminal."""
    return re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", lambda m: repr(m[0])[1:-1], text)


@dataclass(frozen=True, kw_only=True)
class SiteConfig:
    """The published site: its name, address and disclosures."""

    name: str
    base_url: str
    disclosure: str = DEFAULT_DISCLOSURE
    amazon_disclosure: str = DEFAULT_AMAZON_DISCLOSURE
    max_price_age_hours: float = DEFAULT_MAX_PRICE_AGE_HOURS
    theme_dir: Path | None = None
    db: str | None = None
    demo: bool = False


@dataclass(frozen=True, kw_only=True)
class CrawlConfig:
    """How politely and how deep to crawl."""

    polite: bool = True
    http_cache: bool = False
    concurrency: int = 8
    max_review_pages: int = 50
    user_agent: str = DEFAULT_USER_AGENT
    gone_after_misses: int = 2  # complete crawls a listing may be missing from before it is gone
    # `check` warns on loopback, private and link-local store hosts unless this says they
    # are meant (the demo marketplace, a store on the owner's own network)
    allow_private_hosts: bool = False
    # Crawl budgets: a crawler trap (endless pagination, sitemap indexes naming sitemap
    # indexes) ends at these, counted and named in the refresh report. A store may lower or
    # raise the first three for itself ([[stores]] max_pages, max_listing_pages, max_sitemap_depth).
    max_pages_per_store: int = 50_000  # responses per store per run
    max_listing_pages: int = 500  # listing pages followed by "next" from one start URL
    max_sitemap_depth: int = 4  # robots.txt -> sitemap index -> ... -> urlset, in hops
    max_run_minutes: float = 360.0  # wall time per run, resumed runs included


@dataclass(frozen=True, kw_only=True)
class StoreConfig:
    """One store to crawl.

    ``allowed_domains`` holds host names only, because Scrapy's OffsiteMiddleware compares
    host names (a ``host:port`` entry would filter every request); ``allowed_hosts`` keeps
    the ports, for telling apart stores served from one host (the demo marketplace).
    """

    name: str
    platform: str = AUTO_PLATFORM
    sitemap_urls: tuple[str, ...] = ()
    start_urls: tuple[str, ...] = ()
    product_urls: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    affiliate: str | None = None
    quote_reviews: bool = True
    currency: str | None = None
    allowed_domains: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()
    # Amazon (platform = "amazon"): the products' ASINs, from `asins` and the ASINs of Amazon
    # `product_urls`, each with the title the catalog gives it (None: the API will say).
    asins: tuple[tuple[str, str | None], ...] = ()
    # The Creators API: credentials come from the environment or this file, never the catalog.
    credentials_file: Path | None = None
    api_host: str | None = None  # None: Amazon's own; the demo points it at its own service
    api_auth_endpoint: str | None = None
    marketplace: str = DEFAULT_AMAZON_MARKETPLACE
    # Seconds between two API calls: Amazon allows one a second to a new account.
    api_interval: float = DEFAULT_AMAZON_API_INTERVAL
    # Read Amazon's HTML pages instead: against Amazon's conditions of use, off by default.
    allow_amazon_scraping: bool = False
    # this store's own crawl budgets; None takes the [crawl] one
    max_pages: int | None = None
    max_listing_pages: int | None = None
    max_sitemap_depth: int | None = None
    # hosts besides its catalog URLs' that the store's published links may go to
    link_hosts: tuple[str, ...] = ()

    @property
    def urls(self) -> tuple[str, ...]:
        """Every URL the catalog gives for this store."""
        return self.sitemap_urls + self.start_urls + self.product_urls

    @property
    def uses_creators_api(self) -> bool:
        """An Amazon store read through the Creators API (or as links only): never crawled."""
        return self.platform == "amazon" and not self.allow_amazon_scraping


@dataclass(frozen=True, kw_only=True)
class AffiliateProgram:
    """An affiliate program: how to turn a listing into a tagged link."""

    name: str
    kind: str = "generic"
    url_template: str
    params: dict[str, str] = field(default_factory=dict)
    cloak: bool = False  # publish /go/<slug>/ redirects instead of the raw link (never for Amazon)

    def link_for(self, listing: Mapping[str, Any]) -> str | None:
        """The affiliate link for ``listing``, or None when a field it needs is missing."""
        url = listing.get("url")
        values: dict[str, str] = dict(self.params)
        for name in LISTING_PLACEHOLDERS:
            if name == "url_quoted":
                continue
            value = listing.get(name)
            if value is None or not str(value).strip():
                continue
            # {url} is the link itself; any other store value is one query value or path
            # segment, so a sku like "1&tag=theirs-20" cannot add its own parameter
            text = str(value).strip()
            values[name] = text if name == "url" else quote(text, safe="")
        if url:
            values["url_quoted"] = quote(str(url), safe="")
        template = self.url_template
        # "{url}?ref=x" on a URL that already has a query must append with "&".
        if template.startswith("{url}?") and url and "?" in str(url):
            template = "{url}&" + template[len("{url}?") :]
        try:
            link = template.format_map(values)
        except KeyError:
            return None
        return link if is_http_url(link) else None


@dataclass(frozen=True, kw_only=True)
class CategoryRule:
    """A subcategory and the title keywords that put a listing in it."""

    name: str
    slug: str
    keywords: tuple[str, ...] = ()
    # spec bounds from ``min_<spec>``/``max_<spec>`` keys: {"max_user_weight_lb": 300.0}
    minimums: dict[str, float] = field(default_factory=dict, hash=False, compare=True)
    maximums: dict[str, float] = field(default_factory=dict, hash=False, compare=True)

    def matches(self, text: str) -> bool:
        """True when ``text`` (a title, say) contains one of the keywords as words."""
        folded = _fold(text)
        return any(re.search(rf"\b{re.escape(_fold(k))}\b", folded) for k in self.keywords)


# Order matters: the first rule with a matching keyword wins, so the specific kinds
# ("decompression belt", "neck traction") come before the broad ones ("traction").
DEFAULT_CATEGORIES: tuple[CategoryRule, ...] = (
    CategoryRule(
        name="Inversion tables",
        slug="inversion-tables",
        keywords=("inversion table", "inversion chair", "inversion therapy", "inversion"),
    ),
    CategoryRule(
        name="Decompression belts",
        slug="decompression-belts",
        keywords=("decompression belt", "traction belt", "decompression back belt"),
    ),
    CategoryRule(
        name="Cervical traction",
        slug="cervical-traction",
        keywords=(
            "cervical traction",
            "neck traction",
            "cervical",
            "neck stretcher",
            "neck hammock",
            "neck relaxer",
        ),
    ),
    CategoryRule(
        name="Lumbar traction",
        slug="lumbar-traction",
        keywords=("lumbar traction", "back traction", "spinal traction", "traction"),
    ),
    CategoryRule(
        name="Back stretchers",
        slug="back-stretchers",
        keywords=(
            "back stretcher",
            "spine stretcher",
            "lumbar stretcher",
            "back arch",
            "stretcher",
        ),
    ),
    CategoryRule(
        name="Back wheels",
        slug="back-wheels",
        keywords=("back wheel", "yoga wheel", "back roller wheel", "spine wheel"),
    ),
    CategoryRule(
        name="Hanging bars",
        slug="hanging-bars",
        keywords=("hanging bar", "pull up bar", "chin up bar", "doorway bar", "dead hang"),
    ),
    CategoryRule(name="Other", slug="other", keywords=()),
)


@dataclass(frozen=True, kw_only=True)
class WordPressConfig:
    """The owner's WordPress site that ``backrank publish wordpress`` and ``backrank links`` use.

    ``credentials`` is a file (relative to the catalog) holding ``user`` and
    ``application_password``; $BACKRANK_WP_USER / $BACKRANK_WP_APP_PASSWORD win over it.
    """

    url: str | None = None
    credentials: Path | None = None
    top: int = 5  # rows in each category's top-N table pattern
    pages: bool = False  # also publish the category and product pages as WordPress pages
    parent_page: str | None = None  # the slug of the owner's page the pages go under
    timeout: float = 30.0


@dataclass(frozen=True, kw_only=True)
class Catalog:
    """A loaded catalog."""

    path: Path
    site: SiteConfig
    crawl: CrawlConfig = field(default_factory=CrawlConfig)
    stores: tuple[StoreConfig, ...] = ()
    affiliates: dict[str, AffiliateProgram] = field(default_factory=dict)
    categories: tuple[CategoryRule, ...] = DEFAULT_CATEGORIES
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    wordpress: WordPressConfig = field(default_factory=WordPressConfig)

    def store(self, name: str) -> StoreConfig | None:
        """The store called ``name``, or None."""
        return next((s for s in self.stores if s.name == name), None)

    def category_for(self, text: str) -> CategoryRule:
        """The first category whose keywords appear in ``text``; the last rule otherwise."""
        for rule in self.categories:
            if rule.matches(text):
                return rule
        return self.categories[-1]


def load_catalog(path: str | Path, platforms: Collection[str] | None = None) -> Catalog:
    """Read and validate a catalog; raise the first CatalogError found.

    `platforms` are the store platforms the crawl knows (``spiders.sources.PLATFORMS``);
    None accepts any name, for callers that never crawl.
    """
    catalog, errors, _ = _read(Path(path), platforms)
    if errors:
        raise errors[0]
    assert catalog is not None
    return catalog


def validate_catalog(
    path: str | Path, platforms: Collection[str] | None = None
) -> list[CatalogError]:
    """Every problem in a catalog, in file order; empty when it loads (`platforms` as in
    ``load_catalog``)."""
    return _read(Path(path), platforms)[1]


@dataclass(frozen=True)
class CatalogCheck:
    """What `backrank check` reports: the catalog (None if it has errors), errors, warnings."""

    catalog: Catalog | None
    errors: list[CatalogError]
    warnings: list[CatalogError]  # a store on a private address, say: the catalog still loads


def check_catalog(path: str | Path, platforms: Collection[str] | None = None) -> CatalogCheck:
    """Errors and warnings of a catalog, each in file order (`platforms` as in ``load_catalog``)."""
    return CatalogCheck(*_read(Path(path), platforms))


# --- locating keys in the raw text ------------------------------------------------------

_KEY_PART = r"""(?:"(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_\-]+)"""
_ARRAY_HEADER = re.compile(r"^\s*\[\[\s*([^\]]+?)\s*\]\]")
_TABLE_HEADER = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]")
_KEY_LINE = re.compile(rf"^\s*({_KEY_PART}(?:\s*\.\s*{_KEY_PART})*)\s*=")


def _key_parts(text: str) -> tuple[str, ...]:
    """``a."b.c".d`` as ``("a", "b.c", "d")``."""
    return tuple(part.strip("\"'") for part in re.findall(_KEY_PART, text))


def _line_starts(text: str) -> tuple[list[tuple[bool, int]], int | None]:
    """For each line: (inside a multi-line string, bracket depth) at its start; and the
    first line where arrays and inline tables nest deeper than MAX_NESTING (or None)."""
    states = [(False, 0)]
    depth, quote, too_deep = 0, "", None
    index, size = 0, len(text)
    while index < size:
        char = text[index]
        if quote:
            if char == "\\" and quote in ('"', '"""') and text[index + 1 : index + 2] != "\n":
                index += 2
                continue
            if text.startswith(quote, index):
                index += len(quote)
                quote = ""
                continue
            if char == "\n":
                quote = "" if len(quote) == 1 else quote  # an unclosed "..." ends here
                states.append((bool(quote), depth))
            index += 1
            continue
        if char == "#":
            end = text.find("\n", index)
            index = size if end < 0 else end
            continue
        if text.startswith(('"""', "'''"), index):
            quote = text[index : index + 3]
            index += 3
            continue
        if char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
            if depth > MAX_NESTING and too_deep is None:
                too_deep = len(states)
        elif char in "]}":
            depth = max(0, depth - 1)
        elif char == "\n":
            states.append((False, depth))
        index += 1
    return states, too_deep


class _Locator:
    """Line numbers of table headers and keys, found by scanning the raw TOML text.

    A table is addressed as ``("site",)``, ``("stores", 2)`` (third ``[[stores]]``) or
    ``("affiliates", "amazon")``. Lines inside multi-line strings and values are skipped.
    """

    def __init__(self, text: str) -> None:
        self.tables: dict[KeyPath, int] = {}
        self.keys: dict[tuple[KeyPath, str], int] = {}
        counts: dict[tuple[str, ...], int] = {}
        current: KeyPath = ()
        states, self.too_deep = _line_starts(text)
        for number, (line, (in_string, depth)) in enumerate(
            zip(text.split("\n"), states, strict=False), start=1
        ):
            if in_string or depth:
                continue
            if match := _ARRAY_HEADER.match(line):
                name = _key_parts(match.group(1))
                index = counts.get(name, 0)
                counts[name] = index + 1
                current = (*name, index)
                self.tables.setdefault(current, number)
            elif match := _TABLE_HEADER.match(line):
                current = _key_parts(match.group(1))
                self.tables.setdefault(current, number)
            elif match := _KEY_LINE.match(line):
                *tables, key = _key_parts(match.group(1))
                for end in range(1, len(tables) + 1):  # a dotted key: trust.warn_p = 0.04
                    self.tables.setdefault((*current, *tables[:end]), number)
                self.keys.setdefault(((*current, *tables), key), number)

    def line(self, path: KeyPath) -> int:
        """The line of the key at ``path``, else of the nearest table or key holding it, else 1."""
        for end in range(len(path), 0, -1):
            table, key = path[: end - 1], path[end - 1]
            if isinstance(key, int):
                if path[:end] in self.tables:
                    return self.tables[path[:end]]
                continue
            if (table, key) in self.keys:
                return self.keys[(table, key)]
            if (*table, key) in self.tables:  # a sub-table: [sites] at the top level
                return self.tables[(*table, key)]
            if (*table, key, 0) in self.tables:  # an array of tables: [[store]]
                return self.tables[(*table, key, 0)]
        return 1


# --- reading ----------------------------------------------------------------------------


def _fold(text: str) -> str:
    return re.sub(r"[\s\-_]+", " ", text.casefold())


_MISSING = object()


class _Reader:
    """Turns the parsed TOML into config objects, collecting every problem with its line."""

    def __init__(self, path: Path, text: str, platforms: Collection[str] | None = None) -> None:
        self.file = path.name
        self.platforms = platforms
        self.locator = _Locator(text)
        self.errors: list[CatalogError] = []
        self.warnings: list[CatalogError] = []

    def error(self, path: KeyPath, message: str) -> None:
        self.errors.append(
            CatalogError(self.file, self.locator.line(path), key_label(path), message)
        )

    def warn(self, path: KeyPath, message: str) -> None:
        self.warnings.append(
            CatalogError(self.file, self.locator.line(path), key_label(path), f"warning: {message}")
        )

    def check_keys(self, data: Mapping[str, Any], allowed: tuple[str, ...], table: KeyPath) -> None:
        for key in data:
            if key not in allowed:
                self.error((*table, key), unknown_key(key, allowed))

    def value(
        self,
        data: Mapping[str, Any],
        key: str,
        kind: str,
        table: KeyPath,
        default: Any = _MISSING,
        check: Callable[[Any], str | None] | None = None,
    ) -> Any:
        """``data[key]`` checked against ``kind`` (str, bool, int, number, url, strings, urls)."""
        if key not in data:
            if default is _MISSING:
                self.error((*table, key), "is required")
                return None
            return default
        value = data[key]
        problem = value_problem(value, kind, check)
        if problem is not None:
            self.error((*table, key), problem)
            return None if default is _MISSING else default
        if kind in ("strings", "urls"):
            return tuple(value)
        if kind == "number":
            return float(value)
        return value


def _one_of(choices: tuple[str, ...]) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if value in choices:
            return None
        return f'must be one of {", ".join(choices)} (got "{value}")'

    return check


def _decode(path: Path, content: bytes) -> tuple[str | None, CatalogError | None]:
    """The file as text, or the error naming the line of the first byte that is not UTF-8."""
    try:
        return content.decode("utf-8"), None
    except UnicodeDecodeError as bad:
        line = content.count(b"\n", 0, bad.start) + 1
        column = bad.start - (content.rfind(b"\n", 0, bad.start) + 1) + 1
        byte = content[bad.start]
        message = f"is not UTF-8 text (byte 0x{byte:02x} in column {column})"
        return None, CatalogError(path.name, line, "catalog", message)


def _nesting(data: Any) -> int:
    """How deep lists and tables nest in ``data`` (counted without recursion)."""
    deepest, stack = 0, [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth + 1)
            if depth + 1 <= MAX_NESTING:
                stack.extend(
                    (v, depth + 1) for v in (value.values() if isinstance(value, dict) else value)
                )
    return deepest


def _parse(
    path: Path, text: str, reader: _Reader
) -> tuple[dict[str, Any] | None, CatalogError | None]:
    too_deep = f"nested more than {MAX_NESTING} levels deep"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"at line (\d+)", str(exc))
        line = int(match.group(1)) if match else 1
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        return None, CatalogError(path.name, line, "toml", message)
    except RecursionError:
        return None, CatalogError(path.name, reader.locator.too_deep or 1, "toml", too_deep)
    except ValueError as exc:  # a number too long to convert: no position is known
        return None, CatalogError(path.name, 1, "toml", str(exc).split(":")[0])
    if _nesting(data) > MAX_NESTING:
        return None, CatalogError(path.name, reader.locator.too_deep or 1, "toml", too_deep)
    return data, None


def _read(
    path: Path, platforms: Collection[str] | None
) -> tuple[Catalog | None, list[CatalogError], list[CatalogError]]:
    try:
        content = path.read_bytes()
    except OSError as exc:
        return None, [CatalogError(path.name, 1, "catalog", f"cannot read: {exc.strerror}")], []
    text, error = _decode(path, content)
    if text is None:
        return None, [error] if error else [], []
    reader = _Reader(path, text, platforms)
    data, error = _parse(path, text, reader)
    if data is None:
        return None, [error] if error else [], []
    catalog = _build(reader, path, data)
    reader.errors.sort(key=lambda e: e.line)
    reader.warnings.sort(key=lambda e: e.line)
    return (None if reader.errors else catalog), reader.errors, reader.warnings


def _build(reader: _Reader, path: Path, data: dict[str, Any]) -> Catalog:
    reader.check_keys(
        data, ("site", "crawl", "affiliates", "stores", "categories", "scoring", "wordpress"), ()
    )
    site_table = _table(reader, data, "site", required=True)
    # Without a [site] table its keys are not reported one by one.
    site = (
        _site(reader, path, site_table)
        if isinstance(data.get("site"), dict)
        else SiteConfig(name="", base_url="")
    )
    crawl = _crawl(reader, _table(reader, data, "crawl"), site)
    affiliates_table = _table(reader, data, "affiliates")
    affiliates = _affiliates(reader, affiliates_table)
    stores = _stores(reader, data.get("stores", []), affiliates, set(affiliates_table), path.parent)
    categories = _categories(reader, data.get("categories", []))
    scoring = _scoring(reader, _table(reader, data, "scoring"), categories, site)
    if not crawl.allow_private_hosts:
        _warn_private_hosts(reader, data.get("stores"), stores)
    wordpress = _wordpress(reader, path, _table(reader, data, "wordpress"))
    return Catalog(
        path=path.resolve(),
        site=site,
        crawl=crawl,
        stores=stores,
        affiliates=affiliates,
        categories=categories,
        scoring=scoring,
        wordpress=wordpress,
    )


def _wordpress(reader: _Reader, path: Path, data: dict[str, Any]) -> WordPressConfig:
    table = ("wordpress",)
    reader.check_keys(data, ("url", "credentials", "top", "pages", "parent_page", "timeout"), table)

    def setting(key: str, kind: str, check: Callable[[Any], str | None] | None = None) -> Any:
        return reader.value(data, key, kind, table, field_default(WordPressConfig, key), check)

    credentials = setting("credentials", "str")
    return WordPressConfig(
        url=(setting("url", "url") or "").rstrip("/") or None,
        credentials=(path.parent / credentials).resolve() if credentials else None,
        top=setting("top", "int", _at_least(1)),
        pages=setting("pages", "bool"),
        parent_page=setting("parent_page", "str"),
        timeout=setting("timeout", "number", _above(0)),
    )


def _table(reader: _Reader, data: dict[str, Any], name: str, required: bool = False) -> dict:
    value = data.get(name)
    if value is None:
        if required:
            reader.error((name,), f"a [{name}] table is required")
        return {}
    if not isinstance(value, dict):
        reader.error((name,), f"must be a table (got {type_name(value)})")
        return {}
    return value


def _site(reader: _Reader, path: Path, data: dict[str, Any]) -> SiteConfig:
    table = ("site",)
    keys = (
        "name",
        "base_url",
        "disclosure",
        "amazon_disclosure",
        "max_price_age_hours",
        "theme_dir",
        "db",
        "demo",
    )
    reader.check_keys(data, keys, table)

    def setting(key: str, kind: str, check: Callable[[Any], str | None] | None = None) -> Any:
        return reader.value(data, key, kind, table, field_default(SiteConfig, key), check)

    theme_dir = setting("theme_dir", "str")
    return SiteConfig(
        name=reader.value(data, "name", "str", table) or "",
        base_url=(reader.value(data, "base_url", "url", table) or "").rstrip("/"),
        disclosure=setting("disclosure", "str"),
        amazon_disclosure=setting("amazon_disclosure", "str"),
        max_price_age_hours=setting("max_price_age_hours", "number", _above(0)),
        theme_dir=(path.parent / theme_dir).resolve() if theme_dir else None,
        db=setting("db", "str"),
        demo=setting("demo", "bool"),
    )


def _crawl(reader: _Reader, data: dict[str, Any], site: SiteConfig) -> CrawlConfig:
    table = ("crawl",)
    keys = (
        "polite", "http_cache", "concurrency", "max_review_pages", "user_agent",
        "gone_after_misses", "allow_private_hosts", "max_pages_per_store", "max_listing_pages",
        "max_sitemap_depth", "max_run_minutes",
    )  # fmt: skip
    reader.check_keys(data, keys, table)

    def setting(key: str, kind: str, check: Callable[[Any], str | None] | None = None) -> Any:
        return reader.value(data, key, kind, table, field_default(CrawlConfig, key), check)

    default_agent = f"{DEFAULT_USER_AGENT} (+{site.base_url})" if site.base_url else None
    return CrawlConfig(
        polite=setting("polite", "bool"),
        http_cache=setting("http_cache", "bool"),
        concurrency=setting("concurrency", "int", _at_least(1)),
        max_review_pages=setting("max_review_pages", "int"),
        user_agent=reader.value(
            data, "user_agent", "str", table, default_agent or DEFAULT_USER_AGENT
        ),
        gone_after_misses=setting("gone_after_misses", "int", _at_least(1)),
        allow_private_hosts=setting("allow_private_hosts", "bool"),
        **_budgets(reader, data, table, CrawlConfig()),
    )


STORE_BUDGETS = {  # [[stores]] key -> the [crawl] budget it overrides
    "max_pages": "max_pages_per_store",
    "max_listing_pages": "max_listing_pages",
    "max_sitemap_depth": "max_sitemap_depth",
}


def _budgets(
    reader: _Reader,
    data: dict[str, Any],
    table: tuple[Any, ...],
    defaults: CrawlConfig | None,
) -> dict[str, Any]:
    """The crawl budgets the [crawl] table (`defaults` given) or a store (None) sets; each
    must be more than 0. A store's unset budget is None: the [crawl] one applies."""
    if defaults is None:
        names: tuple[str, ...] = tuple(STORE_BUDGETS)
    else:
        names = (*STORE_BUDGETS.values(), "max_run_minutes")
    return {
        name: reader.value(
            data,
            name,
            "number" if name == "max_run_minutes" else "int",
            table,
            None if defaults is None else getattr(defaults, name),
            _positive,
        )
        for name in names
    }


def _positive(value: Any) -> str | None:
    return None if value > 0 else f"must be more than 0 (got {value})"


def _at_least(minimum: int) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if value >= minimum else f"must be at least {minimum} (got {value})"

    return check


def _above(minimum: float) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if value > minimum else f"must be above {minimum:g} (got {value:g})"

    return check


def _affiliates(reader: _Reader, data: dict[str, Any]) -> dict[str, AffiliateProgram]:
    programs: dict[str, AffiliateProgram] = {}
    for name, program in data.items():
        table = ("affiliates", name)
        if not isinstance(program, dict):
            reader.error(table, "must be a table")
            continue
        template = reader.value(program, "url_template", "str", table)
        params: dict[str, str] = {}
        for key, value in program.items():
            if key in ("kind", "url_template", "cloak"):
                continue
            if not isinstance(value, str):
                reader.error((*table, key), f"must be a string {_got(value)}")
            elif key in LISTING_PLACEHOLDERS:
                reader.error((*table, key), "is a listing field, not a parameter")
            else:
                params[key] = value
        if template is not None and not _template_ok(reader, template, params, table):
            template = None
        default_kind = "amazon" if template and _is_amazon(template) else "generic"
        kind = reader.value(program, "kind", "str", table, default_kind, _one_of(AFFILIATE_KINDS))
        cloak = reader.value(
            program, "cloak", "bool", table, field_default(AffiliateProgram, "cloak")
        )
        if cloak and kind == "amazon":
            reader.error((*table, "cloak"), "Amazon links must go straight to Amazon")
            cloak = False
        if template is not None:
            programs[name] = AffiliateProgram(
                name=name, kind=kind, url_template=template, params=params, cloak=bool(cloak)
            )
    return programs


def _is_amazon(template: str) -> bool:
    return is_amazon_host(urlsplit(template).hostname or "")


def is_amazon_host(host: str) -> bool:
    """True for an Amazon shop host (``www.amazon.de``, ``smile.amazon.com``, ``amzn.to``)."""
    host = host.casefold().rstrip(".")
    return (
        host.startswith("amazon.")
        or ".amazon." in host
        or host in AMAZON_SHORT_HOSTS
        or host.endswith(tuple(f".{short}" for short in AMAZON_SHORT_HOSTS))
    )


def is_amazon_url(url: str) -> bool:
    """True for a URL on an Amazon shop host."""
    try:
        return is_amazon_host(urlsplit(url).hostname or "")
    except ValueError:
        return False


def _got(value: Any) -> str:
    return f"(got {type_name(value)})"


def _template_ok(reader: _Reader, template: str, params: dict[str, str], table: KeyPath) -> bool:
    where = (*table, "url_template")
    known = set(LISTING_PLACEHOLDERS) | set(params)
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        reader.error(where, f"is not a valid template ({exc})")
        return False
    unknown = sorted({f for f in fields if f not in known})
    if unknown:
        allowed = ", ".join(sorted(known))
        reader.error(where, f"unknown placeholder {{{unknown[0]}}} (known: {allowed})")
        return False
    sample = {k: "X1" for k in known} | {"url": "https://shop.example/p", "url_quoted": "x"}
    try:
        example = template.format_map(sample)
    except (ValueError, IndexError, KeyError, AttributeError) as exc:  # "{0}", "{url.x}"
        reader.error(where, f"is not a valid template ({exc})")
        return False
    if not is_http_url(example):
        reader.error(where, f'must give an http(s) URL (got "{template}")')
        return False
    return True


def _default_store_name(urls: tuple[str, ...]) -> str:
    parts = urlsplit(urls[0])
    host = (parts.hostname or "").removeprefix("www.")
    try:
        port = parts.port
    except ValueError:  # "http://shop.example:99999/": a name without the port will do
        port = None
    return f"{host}:{port}" if port else host


def _stores(
    reader: _Reader,
    data: Any,
    affiliates: dict[str, AffiliateProgram],
    declared: set[str],
    folder: Path,
) -> tuple[StoreConfig, ...]:
    if not isinstance(data, list):
        reader.error(("stores",), "must be an array of tables ([[stores]])")
        return ()
    keys = (
        "name",
        "platform",
        "sitemap_urls",
        "start_urls",
        "product_urls",
        "include",
        "affiliate",
        "quote_reviews",
        "currency",
        *AMAZON_KEYS,
        *STORE_BUDGETS,
        "link_hosts",
    )
    stores: list[StoreConfig] = []
    seen: set[str] = set()
    for index, store in enumerate(data):
        table = ("stores", index)
        if not isinstance(store, dict):
            reader.error(table, "must be a table")
            continue
        reader.check_keys(store, keys, table)
        known = None if reader.platforms is None else (AUTO_PLATFORM, *reader.platforms)
        platform = reader.value(
            store, "platform", "str", table, AUTO_PLATFORM, _one_of(known) if known else _non_empty
        )
        errors_before = len(reader.errors)
        sitemap_urls = reader.value(store, "sitemap_urls", "urls", table, ())
        start_urls = reader.value(store, "start_urls", "urls", table, ())
        product_urls = reader.value(store, "product_urls", "urls", table, ())
        urls = sitemap_urls + start_urls + product_urls
        amazon_store = _amazon_store(reader, store, table, platform)
        if amazon_store is not None and amazon_store["asins"]:
            pass  # an Amazon store of ASINs needs no URL
        elif not urls and len(reader.errors) == errors_before:
            needs = "asins, " if amazon_store is not None else ""
            reader.error(
                table, f"needs at least one of {needs}sitemap_urls, start_urls, product_urls"
            )
        if amazon_store is None:
            _refuse_amazon_urls(reader, store, table)
        name = reader.value(store, "name", "str", table, None, _non_empty)
        if name is None and urls:
            name = _default_store_name(urls)
        if name is not None:
            if name in seen:
                reader.error((*table, "name"), f'duplicate store name "{name}"')
            seen.add(name)
        affiliate = reader.value(store, "affiliate", "str", table, None)
        if affiliate is not None and affiliate not in declared:
            defined = ", ".join(sorted(declared)) or "none defined"
            reader.error(
                (*table, "affiliate"), f'"{affiliate}" is not defined in [affiliates] ({defined})'
            )
            affiliate = None
        program = affiliates.get(affiliate) if affiliate else None
        amazon = platform == "amazon" or (program is not None and program.kind == "amazon")
        quote_reviews = reader.value(store, "quote_reviews", "bool", table, not amazon)
        currency = reader.value(store, "currency", "str", table, None, _currency_code)
        if amazon_store is not None and not amazon_store["allow_amazon_scraping"]:
            # never crawled: its product URLs became ASINs
            sitemap_urls = start_urls = product_urls = ()
            urls = ()
        hosts = [urlsplit(u) for u in urls]
        stores.append(
            StoreConfig(
                name=name or "",
                platform=platform,
                sitemap_urls=sitemap_urls,
                start_urls=start_urls,
                product_urls=product_urls,
                include=reader.value(store, "include", "strings", table, ()),
                affiliate=affiliate,
                quote_reviews=quote_reviews,
                currency=currency,
                allowed_domains=tuple(dict.fromkeys(p.hostname for p in hosts if p.hostname)),
                allowed_hosts=tuple(dict.fromkeys(p.netloc.lower() for p in hosts)),
                **(_amazon_fields(folder, amazon_store) if amazon_store else {}),
                **_budgets(reader, store, table, None),
                link_hosts=_with_amazon_host(
                    reader.value(store, "link_hosts", "strings", table, (), _hosts), amazon_store
                ),
            )
        )
    return tuple(stores)


AMAZON_KEYS = (
    "asins", "credentials_file", "api_host", "api_auth_endpoint", "marketplace",
    "api_interval", "allow_amazon_scraping",
)  # fmt: skip
_NOT_CRAWLED = (
    "Amazon pages are not crawled: list the products' ASINs (asins) or product_urls, "
    "which are read through the Creators API"
)


def _amazon_store(
    reader: _Reader, store: dict[str, Any], table: KeyPath, platform: str | None
) -> dict[str, Any] | None:
    """The Amazon keys of a ``platform = "amazon"`` store, checked; None for any other store
    (whose Amazon keys are errors)."""
    if platform != "amazon":
        for key in AMAZON_KEYS:
            if key in store:
                reader.error((*table, key), 'is for an Amazon store (platform = "amazon")')
        return None
    scraping = reader.value(store, "allow_amazon_scraping", "bool", table, False)
    asins: dict[str, str | None] = {}
    raw = store.get("asins", [])
    if isinstance(raw, dict):
        entries = list(raw.items())
    elif isinstance(raw, list):
        entries = [(value, None) for value in raw]
    else:
        reader.error(
            (*table, "asins"), f"must be a list of ASINs or a table ASIN = title {_got(raw)}"
        )
        entries = []
    for asin, title in entries:
        code = canonical_asin(asin) if isinstance(asin, str) else None
        if code is None:
            reader.error((*table, "asins"), f"{asin!r} is not an ASIN (10 letters and digits)")
        elif title is not None and (not isinstance(title, str) or not title.strip()):
            reader.error((*table, "asins"), f"the title of {asin} must be a non-empty string")
        else:
            asins.setdefault(code, title.strip() if title else None)
    if not scraping:
        for key in ("sitemap_urls", "start_urls"):
            if store.get(key):
                reader.error((*table, key), _NOT_CRAWLED)
        product_urls = store.get("product_urls")
        for url in product_urls if isinstance(product_urls, list) else ():
            asin = asin_in_url(url) if isinstance(url, str) else None
            if asin is None:
                reader.error((*table, "product_urls"), f"{url!r} has no ASIN (/dp/ASIN)")
            else:
                asins.setdefault(asin, None)
    credentials = reader.value(store, "credentials_file", "str", table, None)
    return {
        "asins": tuple(asins.items()),
        "credentials_file": credentials,
        "api_host": reader.value(store, "api_host", "url", table, None),
        "api_auth_endpoint": reader.value(store, "api_auth_endpoint", "url", table, None),
        "marketplace": reader.value(
            store, "marketplace", "str", table, DEFAULT_AMAZON_MARKETPLACE, _non_empty
        ),
        "api_interval": reader.value(
            store, "api_interval", "number", table, DEFAULT_AMAZON_API_INTERVAL, _at_least(0)
        ),
        "allow_amazon_scraping": bool(scraping),
    }


def _amazon_fields(folder: Path, amazon: dict[str, Any]) -> dict[str, Any]:
    """StoreConfig's Amazon fields; the credentials file is relative to the catalog."""
    credentials = amazon["credentials_file"]
    return {**amazon, "credentials_file": (folder / credentials).resolve() if credentials else None}


def _with_amazon_host(hosts: tuple[str, ...], amazon: dict[str, Any] | None) -> tuple[str, ...]:
    """An Amazon store read through the API links to its marketplace's detail pages: that
    host is one of its own, as a crawled store's catalog URLs' hosts are."""
    if amazon is None or amazon["allow_amazon_scraping"]:
        return hosts
    return tuple(dict.fromkeys((*hosts, amazon["marketplace"])))


def _refuse_amazon_urls(reader: _Reader, store: dict[str, Any], table: KeyPath) -> None:
    """A URL on an Amazon host in any other store: Amazon pages are not crawled."""
    for key in ("sitemap_urls", "start_urls", "product_urls"):
        urls = store.get(key)
        for url in urls if isinstance(urls, list) else ():
            if isinstance(url, str) and is_amazon_url(url):
                reader.error(
                    (*table, key),
                    f'{url} is an Amazon page. {_NOT_CRAWLED} in a store with platform = "amazon"',
                )
                break


def _hosts(value: tuple[str, ...]) -> str | None:
    for host in value:
        if not re.fullmatch(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?", host):
            return f'must be host names like "shop.example" or "shop.example:8080" (got "{host}")'
    return None


def _non_empty(value: str) -> str | None:
    return None if value.strip() else "must not be empty"


def _currency_code(value: str) -> str | None:
    if re.fullmatch(r"[A-Z]{3}", value):
        return None
    return f'must be a three-letter ISO 4217 code like "USD" (got "{value}")'


def _slug(value: str) -> str | None:
    if re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", value):
        return None
    return f'must be lowercase letters, digits and dashes (got "{value}")'


def _categories(reader: _Reader, data: Any) -> tuple[CategoryRule, ...]:
    if not isinstance(data, list):
        reader.error(("categories",), "must be an array of tables ([[categories]])")
        return DEFAULT_CATEGORIES
    if not data:
        return DEFAULT_CATEGORIES
    rules: list[CategoryRule] = []
    seen: set[str] = set()
    for index, rule in enumerate(data):
        table = ("categories", index)
        if not isinstance(rule, dict):
            reader.error(table, "must be a table")
            continue
        reader.check_keys(rule, ("name", "slug", "keywords", *SPEC_BOUND_KEYS), table)
        name = reader.value(rule, "name", "str", table)
        slug = reader.value(rule, "slug", "str", table, None, _slug)
        if slug is None and name:
            slug = re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-") or None
        if slug in seen:
            reader.error((*table, "slug"), f'duplicate category slug "{slug}"')
        if slug:
            seen.add(slug)
        keywords = reader.value(rule, "keywords", "strings", table, ())
        problems: list[Problem] = []
        bounds = spec_bounds(rule, table, problems)
        for problem in problems:
            reader.error(problem.path, problem.message)
        if name and slug:
            rules.append(
                CategoryRule(
                    name=name,
                    slug=slug,
                    keywords=keywords,
                    minimums=bounds.minimums,
                    maximums=bounds.maximums,
                )
            )
    if "other" not in seen:
        rules.append(DEFAULT_CATEGORIES[-1])
    return tuple(rules)


def _scoring(
    reader: _Reader, data: dict[str, Any], categories: tuple[CategoryRule, ...], site: SiteConfig
) -> ScoringConfig:
    config, problems = parse_scoring(
        data,
        category_slugs=[rule.slug for rule in categories],
        max_price_age_hours=site.max_price_age_hours,
    )
    for problem in problems:
        reader.error(problem.path, problem.message)
    return config


def private_address(host: str) -> str | None:
    """ "a loopback", "a private" or "a link-local" for such a host name or address, else None.

    Only what the name says is judged (no DNS look-up): ``localhost``, IP addresses in any
    form the resolver accepts (``127.0.0.1``, ``::1``, ``2130706433``, ``::ffff:10.0.0.1``).
    """
    host = host.strip("[]").rstrip(".").casefold()
    if host == "localhost" or host.endswith(".localhost"):
        return "a loopback"
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(host)
    except ValueError:
        try:  # the resolver also takes "2130706433" and "0x7f.1" for 127.0.0.1
            address = ipaddress.IPv4Address(socket.inet_aton(host))
        except (OSError, ValueError):
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return "a loopback"
    if address.is_link_local:
        return "a link-local"
    if address.is_private or address.is_unspecified:
        return "a private"
    return None


def _warn_private_hosts(reader: _Reader, data: Any, stores: tuple[StoreConfig, ...]) -> None:
    """Warn once per store and host on a URL to a loopback, private or link-local address."""
    if not isinstance(data, list):
        return
    for index, store in enumerate(data):
        if not isinstance(store, dict):
            continue
        warned: set[str] = set()
        for key in ("sitemap_urls", "start_urls", "product_urls"):
            urls = store.get(key)
            for url in urls if isinstance(urls, list) else ():
                host = urlsplit(url).hostname if isinstance(url, str) and is_http_url(url) else None
                kind = private_address(host) if host else None
                if host and kind and host not in warned:
                    warned.add(host)
                    reader.warn(
                        ("stores", index, key),
                        f"{host} is {kind} address; set allow_private_hosts = true in [crawl] "
                        "if this store is meant to be on it",
                    )
