"""Load and validate the catalog (catalog.toml): site, crawl, stores, affiliates, categories, scoring."""

from __future__ import annotations

import difflib
import re
import string
import tomllib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

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


class CatalogError(ValueError):
    """One problem in a catalog, printed as ``catalog.toml:LINE: key: what is wrong``."""

    def __init__(self, file: str, line: int, key: str, message: str) -> None:
        super().__init__(f"{file}:{line}: {key}: {message}")
        self.file = file
        self.line = line
        self.key = key
        self.message = message


@dataclass(frozen=True, kw_only=True)
class SiteConfig:
    """The published site: its name, address and disclosures."""

    name: str
    base_url: str
    disclosure: str = DEFAULT_DISCLOSURE
    amazon_disclosure: str = DEFAULT_AMAZON_DISCLOSURE
    max_price_age_hours: float = 24
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

    @property
    def urls(self) -> tuple[str, ...]:
        """Every URL the catalog gives for this store."""
        return self.sitemap_urls + self.start_urls + self.product_urls


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
            if value is not None and str(value).strip():
                values[name] = str(value).strip()
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
        return link if _is_http_url(link) else None


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
class ScoringConfig:
    """Ranking weights; ``raw`` keeps the whole [scoring] table for settings added later."""

    prior_strength: float = 10.0
    min_reviews: int = 0
    raw: dict[str, Any] = field(default_factory=dict)


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
    catalog, errors = _read(Path(path), platforms)
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


# --- locating keys in the raw text ------------------------------------------------------

_ARRAY_HEADER = re.compile(r"^\s*\[\[\s*([^\]]+?)\s*\]\]")
_TABLE_HEADER = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]")
_KEY_LINE = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_\-]+)\s*=""")


def _header_path(text: str) -> tuple[str, ...]:
    return tuple(part.strip().strip("\"'") for part in text.split("."))


class _Locator:
    """Line numbers of table headers and keys, found by scanning the raw TOML text.

    A table is addressed as ``("site",)``, ``("stores", 2)`` (third ``[[stores]]``) or
    ``("affiliates", "amazon")``.
    """

    def __init__(self, text: str) -> None:
        self.tables: dict[tuple[Any, ...], int] = {}
        self.keys: dict[tuple[tuple[Any, ...], str], int] = {}
        counts: dict[tuple[str, ...], int] = {}
        current: tuple[Any, ...] = ()
        in_multiline = False
        for number, line in enumerate(text.splitlines(), start=1):
            if in_multiline:
                if line.count('"""') % 2 == 1 or line.count("'''") % 2 == 1:
                    in_multiline = False
                continue
            if match := _ARRAY_HEADER.match(line):
                name = _header_path(match.group(1))
                index = counts.get(name, 0)
                counts[name] = index + 1
                current = (*name, index)
            elif match := _TABLE_HEADER.match(line):
                current = _header_path(match.group(1))
            elif match := _KEY_LINE.match(line):
                key = match.group(1).strip("\"'")
                self.keys.setdefault((current, key), number)
                rest = line[match.end() :]
                if rest.count('"""') % 2 == 1 or rest.count("'''") % 2 == 1:
                    in_multiline = True
                continue
            else:
                continue
            self.tables.setdefault(current, number)

    def line(self, table: tuple[Any, ...], key: str | None = None) -> int:
        if key is not None:
            if (table, key) in self.keys:
                return self.keys[(table, key)]
            if (*table, key) in self.tables:  # a sub-table: [sites] at the top level
                return self.tables[(*table, key)]
            if (*table, key, 0) in self.tables:  # an array of tables: [[store]]
                return self.tables[(*table, key, 0)]
        return self.tables.get(table, 1)


# --- reading ----------------------------------------------------------------------------


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _fold(text: str) -> str:
    return re.sub(r"[\s\-_]+", " ", text.casefold())


def _type_name(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}.get(
        type(value), f"a {type(value).__name__}"
    )


_MISSING = object()


class _Reader:
    """Turns the parsed TOML into config objects, collecting every error with its line."""

    def __init__(self, path: Path, text: str, platforms: Collection[str] | None = None) -> None:
        self.file = path.name
        self.platforms = platforms
        self.locator = _Locator(text)
        self.errors: list[CatalogError] = []

    def error(self, table: tuple[Any, ...], key: str | None, label: str, message: str) -> None:
        line = self.locator.line(table, key)
        self.errors.append(CatalogError(self.file, line, label, message))

    def check_keys(
        self, data: Mapping[str, Any], allowed: tuple[str, ...], table: tuple[Any, ...], label: str
    ) -> None:
        for key in data:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                self.error(table, key, _join(label, key), f"unknown key{hint}")

    def value(
        self,
        data: Mapping[str, Any],
        key: str,
        kind: str,
        table: tuple[Any, ...],
        label: str,
        default: Any = _MISSING,
        check: Callable[[Any], str | None] | None = None,
    ) -> Any:
        """``data[key]`` checked against ``kind`` (str, bool, int, number, url, strings, urls)."""
        name = _join(label, key)
        if key not in data:
            if default is _MISSING:
                self.error(table, None, name, "is required")
                return None
            return default
        value = data[key]
        problem = _type_problem(value, kind)
        if problem is None and check is not None:
            problem = check(value)
        if problem is not None:
            self.error(table, key, name, problem)
            return None if default is _MISSING else default
        if kind in ("strings", "urls"):
            return tuple(value)
        if kind == "number":
            return float(value)
        return value


def _join(label: str, key: str) -> str:
    return f"{label}.{key}" if label else key


def _type_problem(value: Any, kind: str) -> str | None:
    got = f"(got {_type_name(value)})"
    if kind == "str" and not isinstance(value, str):
        return f"must be a string {got}"
    if kind == "bool" and not isinstance(value, bool):
        return f"must be true or false {got}"
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            return f"must be an integer {got}"
        if value < 0:
            return f"must not be negative (got {value})"
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"must be a number {got}"
        if value < 0:
            return f"must not be negative (got {value})"
    if kind == "url":
        if not isinstance(value, str):
            return f"must be a string {got}"
        if not _is_http_url(value):
            return f'must be an http(s) URL (got "{value}")'
    if kind in ("strings", "urls"):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return f"must be a list of strings {got}"
        if kind == "urls":
            for item in value:
                if not _is_http_url(item):
                    return f'must hold http(s) URLs (got "{item}")'
    return None


def _one_of(choices: tuple[str, ...]) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if value in choices:
            return None
        return f'must be one of {", ".join(choices)} (got "{value}")'

    return check


def _read(
    path: Path, platforms: Collection[str] | None
) -> tuple[Catalog | None, list[CatalogError]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return None, [CatalogError(path.name, 1, "catalog", f"cannot read: {exc.strerror}")]
    reader = _Reader(path, text, platforms)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"at line (\d+)", str(exc))
        line = int(match.group(1)) if match else 1
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        return None, [CatalogError(path.name, line, "toml", message)]
    catalog = _build(reader, path, data)
    reader.errors.sort(key=lambda e: e.line)
    return (None if reader.errors else catalog), reader.errors


def _build(reader: _Reader, path: Path, data: dict[str, Any]) -> Catalog:
    reader.check_keys(
        data, ("site", "crawl", "affiliates", "stores", "categories", "scoring"), (), ""
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
    stores = _stores(reader, data.get("stores", []), affiliates, set(affiliates_table))
    categories = _categories(reader, data.get("categories", []))
    scoring = _scoring(reader, _table(reader, data, "scoring"), categories)
    return Catalog(
        path=path.resolve(),
        site=site,
        crawl=crawl,
        stores=stores,
        affiliates=affiliates,
        categories=categories,
        scoring=scoring,
    )


def _table(reader: _Reader, data: dict[str, Any], name: str, required: bool = False) -> dict:
    value = data.get(name)
    if value is None:
        if required:
            reader.error((), None, name, f"a [{name}] table is required")
        return {}
    if not isinstance(value, dict):
        reader.error((), name, name, f"must be a table (got {_type_name(value)})")
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
    reader.check_keys(data, keys, table, "site")
    theme_dir = reader.value(data, "theme_dir", "str", table, "site", None)
    return SiteConfig(
        name=reader.value(data, "name", "str", table, "site") or "",
        base_url=(reader.value(data, "base_url", "url", table, "site") or "").rstrip("/"),
        disclosure=reader.value(data, "disclosure", "str", table, "site", DEFAULT_DISCLOSURE),
        amazon_disclosure=reader.value(
            data, "amazon_disclosure", "str", table, "site", DEFAULT_AMAZON_DISCLOSURE
        ),
        max_price_age_hours=reader.value(data, "max_price_age_hours", "number", table, "site", 24),
        theme_dir=(path.parent / theme_dir).resolve() if theme_dir else None,
        db=reader.value(data, "db", "str", table, "site", None),
        demo=reader.value(data, "demo", "bool", table, "site", False),
    )


def _crawl(reader: _Reader, data: dict[str, Any], site: SiteConfig) -> CrawlConfig:
    table = ("crawl",)
    keys = (
        "polite", "http_cache", "concurrency", "max_review_pages", "user_agent",
        "gone_after_misses",
    )  # fmt: skip
    reader.check_keys(data, keys, table, "crawl")
    default_agent = f"{DEFAULT_USER_AGENT} (+{site.base_url})" if site.base_url else None
    return CrawlConfig(
        polite=reader.value(data, "polite", "bool", table, "crawl", True),
        http_cache=reader.value(data, "http_cache", "bool", table, "crawl", False),
        concurrency=reader.value(
            data, "concurrency", "int", table, "crawl", 8, _at_least(1, "concurrency")
        ),
        max_review_pages=reader.value(data, "max_review_pages", "int", table, "crawl", 50),
        user_agent=reader.value(
            data, "user_agent", "str", table, "crawl", default_agent or DEFAULT_USER_AGENT
        ),
        gone_after_misses=reader.value(
            data, "gone_after_misses", "int", table, "crawl", 2, _at_least(1, "gone_after_misses")
        ),
    )


def _at_least(minimum: int, what: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if value >= minimum else f"must be at least {minimum} (got {value})"

    return check


def _affiliates(reader: _Reader, data: dict[str, Any]) -> dict[str, AffiliateProgram]:
    programs: dict[str, AffiliateProgram] = {}
    for name, program in data.items():
        table = ("affiliates", name)
        label = f"affiliates.{name}"
        if not isinstance(program, dict):
            reader.error(("affiliates",), name, label, "must be a table")
            continue
        template = reader.value(program, "url_template", "str", table, label)
        params: dict[str, str] = {}
        for key, value in program.items():
            if key in ("kind", "url_template", "cloak"):
                continue
            if not isinstance(value, str):
                reader.error(table, key, f"{label}.{key}", f"must be a string {_got(value)}")
            elif key in LISTING_PLACEHOLDERS:
                reader.error(table, key, f"{label}.{key}", "is a listing field, not a parameter")
            else:
                params[key] = value
        if template is not None and not _template_ok(reader, template, params, table, label):
            template = None
        default_kind = "amazon" if template and _is_amazon(template) else "generic"
        kind = reader.value(
            program, "kind", "str", table, label, default_kind, _one_of(AFFILIATE_KINDS)
        )
        cloak = reader.value(program, "cloak", "bool", table, label, False)
        if cloak and kind == "amazon":
            reader.error(
                table, "cloak", f"{label}.cloak", "Amazon links must go straight to Amazon"
            )
            cloak = False
        if template is not None:
            programs[name] = AffiliateProgram(
                name=name, kind=kind, url_template=template, params=params, cloak=bool(cloak)
            )
    return programs


def _is_amazon(template: str) -> bool:
    host = urlsplit(template).hostname or ""
    return host.startswith("amazon.") or ".amazon." in host


def _got(value: Any) -> str:
    return f"(got {_type_name(value)})"


def _template_ok(
    reader: _Reader, template: str, params: dict[str, str], table: tuple, label: str
) -> bool:
    name = f"{label}.url_template"
    known = set(LISTING_PLACEHOLDERS) | set(params)
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        reader.error(table, "url_template", name, f"is not a valid template ({exc})")
        return False
    unknown = sorted({f for f in fields if f not in known})
    if unknown:
        allowed = ", ".join(sorted(known))
        reader.error(
            table,
            "url_template",
            name,
            f"unknown placeholder {{{unknown[0]}}} (known: {allowed})",
        )
        return False
    sample = {k: "X1" for k in known} | {"url": "https://shop.example/p", "url_quoted": "x"}
    if not _is_http_url(template.format_map(sample)):
        reader.error(table, "url_template", name, f'must give an http(s) URL (got "{template}")')
        return False
    return True


def _default_store_name(urls: tuple[str, ...]) -> str:
    parts = urlsplit(urls[0])
    host = (parts.hostname or "").removeprefix("www.")
    return f"{host}:{parts.port}" if parts.port else host


def _stores(
    reader: _Reader, data: Any, affiliates: dict[str, AffiliateProgram], declared: set[str]
) -> tuple[StoreConfig, ...]:
    if not isinstance(data, list):
        reader.error((), "stores", "stores", "must be an array of tables ([[stores]])")
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
    )
    stores: list[StoreConfig] = []
    seen: set[str] = set()
    for index, store in enumerate(data):
        table = ("stores", index)
        label = f"stores[{index}]"
        if not isinstance(store, dict):
            reader.error((), "stores", label, "must be a table")
            continue
        reader.check_keys(store, keys, table, label)
        known = None if reader.platforms is None else (AUTO_PLATFORM, *reader.platforms)
        platform = reader.value(
            store,
            "platform",
            "str",
            table,
            label,
            AUTO_PLATFORM,
            _one_of(known) if known else _non_empty,
        )
        errors_before = len(reader.errors)
        sitemap_urls = reader.value(store, "sitemap_urls", "urls", table, label, ())
        start_urls = reader.value(store, "start_urls", "urls", table, label, ())
        product_urls = reader.value(store, "product_urls", "urls", table, label, ())
        urls = sitemap_urls + start_urls + product_urls
        if not urls and len(reader.errors) == errors_before:
            reader.error(
                table, None, label, "needs at least one of sitemap_urls, start_urls, product_urls"
            )
        name = reader.value(store, "name", "str", table, label, None, _non_empty)
        if name is None and urls:
            name = _default_store_name(urls)
        if name is not None:
            if name in seen:
                reader.error(table, "name", f"{label}.name", f'duplicate store name "{name}"')
            seen.add(name)
        affiliate = reader.value(store, "affiliate", "str", table, label, None)
        if affiliate is not None and affiliate not in declared:
            defined = ", ".join(sorted(declared)) or "none defined"
            reader.error(
                table,
                "affiliate",
                f"{label}.affiliate",
                f'"{affiliate}" is not defined in [affiliates] ({defined})',
            )
            affiliate = None
        program = affiliates.get(affiliate) if affiliate else None
        amazon = platform == "amazon" or (program is not None and program.kind == "amazon")
        quote_reviews = reader.value(store, "quote_reviews", "bool", table, label, not amazon)
        currency = reader.value(store, "currency", "str", table, label, None, _currency_code)
        hosts = [urlsplit(u) for u in urls]
        stores.append(
            StoreConfig(
                name=name or "",
                platform=platform,
                sitemap_urls=sitemap_urls,
                start_urls=start_urls,
                product_urls=product_urls,
                include=reader.value(store, "include", "strings", table, label, ()),
                affiliate=affiliate,
                quote_reviews=quote_reviews,
                currency=currency,
                allowed_domains=tuple(dict.fromkeys(p.hostname for p in hosts if p.hostname)),
                allowed_hosts=tuple(dict.fromkeys(p.netloc.lower() for p in hosts)),
            )
        )
    return tuple(stores)


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
        reader.error((), "categories", "categories", "must be an array of tables ([[categories]])")
        return DEFAULT_CATEGORIES
    if not data:
        return DEFAULT_CATEGORIES
    rules: list[CategoryRule] = []
    seen: set[str] = set()
    for index, rule in enumerate(data):
        table = ("categories", index)
        label = f"categories[{index}]"
        if not isinstance(rule, dict):
            reader.error((), "categories", label, "must be a table")
            continue
        reader.check_keys(rule, ("name", "slug", "keywords", *_spec_bound_keys()), table, label)
        name = reader.value(rule, "name", "str", table, label)
        slug = reader.value(rule, "slug", "str", table, label, None, _slug)
        if slug is None and name:
            slug = re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-") or None
        if slug in seen:
            reader.error(table, "slug", f"{label}.slug", f'duplicate category slug "{slug}"')
        if slug:
            seen.add(slug)
        keywords = reader.value(rule, "keywords", "strings", table, label, ())
        minimums: dict[str, float] = {}
        maximums: dict[str, float] = {}
        for key in _spec_bound_keys():
            bound = reader.value(rule, key, "number", table, label, None)
            if bound is not None:
                kind, spec = key.split("_", 1)
                (minimums if kind == "min" else maximums)[spec] = bound
        if name and slug:
            rules.append(
                CategoryRule(
                    name=name, slug=slug, keywords=keywords, minimums=minimums, maximums=maximums
                )
            )
    if "other" not in seen:
        rules.append(DEFAULT_CATEGORIES[-1])
    return tuple(rules)


def _spec_bound_keys() -> tuple[str, ...]:
    """``min_<spec>``/``max_<spec>`` for every spec the scoring extracts."""
    from pipelines.specs import SPEC_NAMES  # the scoring stage owns the spec names

    return tuple(f"{kind}_{name}" for kind in ("min", "max") for name in SPEC_NAMES)


def _scoring(
    reader: _Reader, data: dict[str, Any], categories: tuple[CategoryRule, ...] = ()
) -> ScoringConfig:
    table = ("scoring",)
    config = ScoringConfig(
        prior_strength=reader.value(data, "prior_strength", "number", table, "scoring", 10.0),
        min_reviews=reader.value(data, "min_reviews", "int", table, "scoring", 0),
        raw=dict(data),
    )
    # The scoring steps parse their own sub-tables; ask them now so a typo fails at load.
    from pipelines.scoring_config import scoring_problems

    for name, message in scoring_problems(data, categories):
        sub = data.get(name)
        named = sub if isinstance(sub, dict) else {}
        said = re.sub(r"\(.*?\)", "", message)  # "(known: a, b)" names no culprit
        keys = [k for k in named if re.search(rf"\b{re.escape(str(k))}\b", said)]
        if keys:
            line = reader.locator.line((*table, name), keys[0])
        else:
            line = reader.locator.line(table, name)
        reader.errors.append(CatalogError(reader.file, line, f"scoring.{name}", message))
    return config
