"""Turn scored frames and the catalog into the site's views (plain frozen dataclasses)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import zip_longest
from typing import Any

import pandas as pd
from markupsafe import Markup

from backrank.core import amazon_rules
from backrank.core.frames import OFFERS, PRODUCTS
from reports import charts, details, values
from reports.filters import money
from reports.links import offer_urls
from reports.values import MAX_SLUG_LENGTH, safe_http_url, slugify

AFFILIATE_REL = "sponsored nofollow noopener"
PLAIN_REL = "nofollow noopener"
MAX_REVIEW_QUOTES = 3
MAX_QUOTE_CHARS = 320

HOME_PATH = "index.html"
DISCLOSURE_PATH = "disclosure.html"
METHODOLOGY_PATH = "methodology.html"
CHANGES_PATH = "changes.html"
NOT_FOUND_PATH = "404.html"
CATEGORY_PAGE_SIZE = 100  # rows per category page
# The offer columns a view reads: what it shows, and what an affiliate link template may use
# (backrank.core.config.LISTING_PLACEHOLDERS).
VIEWED_OFFER_COLUMNS = OFFERS.pick(
    "listing_id", "store", "url", "canonical_url", "title", "price", "currency", "availability",
    "fetched_at", "asin", "gtin", "mpn", "sku", "source",
)  # fmt: skip
# The product columns a summary view reads (the rest are details for the product's own page).
SUMMARY_COLUMNS = PRODUCTS.pick(
    "product_id", "name", "brand", "category", "subcategory", "rank", "rating", "adjusted_rating",
    "review_count", "listings", "best_price", "currency", "best_store", "in_stock", "trust_grade",
    "trust_adjusted_rating", "wilson_lower", "value_score", "composite_score", "badges",
)  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class SiteInfo:
    """What every page shows: the site's name, address and disclosures.

    ``generated_at`` is the build time; templates show it only through page data
    (``built_at``), so an unchanged product page renders the same on every refresh.
    """

    name: str
    base_url: str
    disclosure: str
    amazon_disclosure: str
    demo: bool
    generated_at: datetime
    max_price_age_hours: float


@dataclass(frozen=True, kw_only=True)
class OfferView:
    """One store's offer of a product, ready to show."""

    store: str
    title: str | None
    price: Decimal | None
    currency: str | None
    availability: str  # in_stock | out_of_stock | unknown
    fetched_at: datetime | None
    price_current: bool  # False when the price is older than max_price_age_hours (or undated)
    href: str | None  # where the link ends up; None when the store gave no usable http(s) URL
    rel: str
    affiliate: bool
    amazon: bool  # the link goes to Amazon through its program: "(paid link)" beside it
    go_path: str | None = None  # "go/<slug>/" when the program cloaks links through the site
    # Amazon's data under its Associates rules (backrank.core.amazon_rules): shown, never
    # analysed; its price, stock and stamp are kept only from the API and under 24 hours.
    amazon_data: bool = False

    @property
    def amazon_price(self) -> bool:
        """An Amazon price shown: it needs its date/time stamp and Amazon's disclaimer."""
        return self.amazon_data and self.price is not None and self.price_current

    @property
    def link_only(self) -> bool:
        """An Amazon offer shown as "Check the price on Amazon": no price, stock or stamp."""
        return self.amazon_data and not self.amazon_price


@dataclass(frozen=True, kw_only=True)
class ReviewQuote:
    """A customer review quoted from a store that allows quoting."""

    store: str
    title: str | None
    body: str
    rating: float | None
    date: str | None


@dataclass(frozen=True, kw_only=True)
class ProductView:
    """One ranked product, for the tables, its own page, comparisons and embeds."""

    product_id: str
    slug: str
    path: str
    name: str
    brand: str | None
    category: str  # the subcategory slug
    category_name: str
    rank: int
    rating: float | None
    adjusted_rating: float | None
    review_count: int | None
    listings: int
    best_price: Decimal | None
    currency: str | None
    best_store: str | None
    best_price_current: bool
    in_stock: bool
    offers: tuple[OfferView, ...] = ()
    trust_grade: str | None = None
    trust_adjusted_rating: float | None = None
    wilson_lower: float | None = None
    value_score: float | None = None
    composite_score: float | None = None
    score_breakdown: tuple[details.ScorePart, ...] = ()
    report_card: tuple[details.TrustTest, ...] = ()
    store_ratings: tuple[details.StoreRating, ...] = ()
    badges: tuple[details.Badge, ...] = ()
    pros: tuple[details.Aspect, ...] = ()
    cons: tuple[details.Aspect, ...] = ()
    specs: tuple[details.Spec, ...] = ()
    rating_histogram: tuple[tuple[int, int], ...] = ()
    price_summary: tuple[details.PriceSummary, ...] = ()
    review_quotes: tuple[ReviewQuote, ...] = ()
    histogram_svg: Markup | None = None
    price_history_svg: Markup | None = None
    # False: a summary for tables, embeds and the feed, whose breakdown, report card, pros,
    # cons, specs, histogram, price summary, quotes and charts are left empty.
    detailed: bool = True

    @property
    def has_amazon_link(self) -> bool:
        return any(offer.amazon and offer.href for offer in self.offers)

    @property
    def has_amazon_data(self) -> bool:
        """Sold on Amazon: its grade, rating and pros and cons come from other stores only."""
        return any(offer.amazon_data for offer in self.offers)

    @property
    def amazon_only(self) -> bool:
        """Known only from Amazon, whose data is never analysed: listed, not ranked on it."""
        return bool(self.offers) and all(offer.amazon_data for offer in self.offers)

    @property
    def shown_price(self) -> Decimal | None:
        """The best price when it is current; None otherwise (never a stale price)."""
        return self.best_price if self.best_price_current else None

    @property
    def buy_offers(self) -> tuple[OfferView, ...]:
        """Linked offers, best first (for embeds and comparisons)."""
        return tuple(o for o in self.offers if o.href)


@dataclass(frozen=True, kw_only=True)
class Comparison:
    """An "A vs B" page of two top products of one subcategory."""

    path: str
    a: ProductView
    b: ProductView

    @property
    def title(self) -> str:
        return f"{self.a.name} vs {self.b.name}"


@dataclass(frozen=True, kw_only=True)
class CategoryView:
    """One subcategory's ranked products; the first is the top pick."""

    slug: str
    name: str
    products: tuple[ProductView, ...]
    comparisons: tuple[Comparison, ...] = ()

    @property
    def path(self) -> str:
        """Its first page, from the site root: a folder URL, ``category/<slug>/``."""
        return self.page_url(1)

    @property
    def page_count(self) -> int:
        return max(1, -(-len(self.products) // CATEGORY_PAGE_SIZE))

    def page_url(self, number: int) -> str:
        """Page ``number`` (from 1), from the site root; stable as long as the page exists."""
        return f"category/{self.slug}/" if number == 1 else f"category/{self.slug}/page/{number}/"

    def page_products(self, number: int) -> tuple[ProductView, ...]:
        start = (number - 1) * CATEGORY_PAGE_SIZE
        return self.products[start : start + CATEGORY_PAGE_SIZE]

    @property
    def top_pick(self) -> ProductView | None:
        rated = [
            p
            for p in self.products
            if p.adjusted_rating is not None or p.composite_score is not None
        ]
        return rated[0] if rated else None

    @property
    def top_picks(self) -> tuple[ProductView, ...]:
        return self.products[:3]

    @property
    def has_amazon_link(self) -> bool:
        return any(p.has_amazon_link for p in self.top_picks)


@dataclass(frozen=True, kw_only=True)
class CategorySection:
    """What the home page shows of a category: its name, link, size and top pick."""

    slug: str
    name: str
    path: str
    count: int
    top_pick: ProductView | None


@dataclass(frozen=True, kw_only=True)
class Page:
    """One output file: its path, template, title and template variables."""

    path: str
    template: str
    title: str
    root: str  # relative prefix from this page to the site root ("", "../", or "/" for 404)
    amazon_links: bool
    data: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    canonical: str | None = None  # absolute URL; None for pages search engines should skip
    jsonld: tuple[Markup, ...] = ()
    # A digest of everything the page shows, when known without pickling ``data`` (product and
    # list pages); the render key is made from it instead.
    inputs: str | None = None


@dataclass(frozen=True, kw_only=True)
class Redirect:
    """A cloaked affiliate link: ``/go/<slug>/`` -> the store."""

    path: str  # "go/<slug>/"
    target: str


@dataclass(frozen=True, kw_only=True)
class SiteContext:
    """Everything the renderer needs: site info, pages, redirects, the feed, the theme."""

    site: SiteInfo
    pages: tuple[Page, ...]
    theme_dir: str | None = None
    redirects: tuple[Redirect, ...] = ()
    feed: Mapping[str, Any] = field(default_factory=dict)
    # Pages left as the previous build wrote them (path -> render key), planned against the
    # templates with this fingerprint; they are in no ``pages`` and are never rendered.
    kept: Mapping[str, str] = field(default_factory=dict)
    fingerprint: str | None = None
    # store URLs left off the site for pointing at a host that is not the store's own
    offsite_links: int = 0


# --- slugs -----------------------------------------------------------------------------


def product_slugs(product_ids: Iterable[str], reserved: Iterable[str] = ()) -> dict[str, str]:
    """A unique slug per product id, the same whatever other products exist.

    A slug is the id slugified; ids whose slugs collide (with each other or a ``reserved``
    slug such as a category's) all get a suffix from their own id's hash, so neither the order
    of ids nor which product arrived first decides who keeps the plain slug.
    """

    ids = sorted(set(product_ids))
    plain = {pid: slugify(pid) for pid in ids}
    counts: dict[str, int] = {}
    for slug in plain.values():
        counts[slug] = counts.get(slug, 0) + 1
    taken = set(reserved)
    slugs: dict[str, str] = {}
    for pid in ids:
        slug = plain[pid]
        if counts[slug] > 1 or slug in taken:
            digest = hashlib.sha1(pid.encode("utf-8")).hexdigest()
            n = 8
            slug = f"{slug[: MAX_SLUG_LENGTH - n - 1]}-{digest[:n]}"
            while slug in slugs.values() or slug in taken:
                n += 2
                slug = f"{plain[pid][: MAX_SLUG_LENGTH - n - 1]}-{digest[:n]}"
        slugs[pid] = slug
    return slugs


# --- offers ----------------------------------------------------------------------------


def offer_link(catalog: Any, offer: Mapping[str, Any]) -> tuple[str | None, str, bool, bool]:
    """``(href, rel, affiliate, amazon)`` for one offer row.

    The store's affiliate program makes the link when it can; otherwise the offer's own URL.
    A store with a program keeps ``rel="sponsored ..."`` even on a plain link, since it may
    still pay through cookies. Anything but http(s) is dropped, and so is a URL the store gave
    on a host that is not its own (``reports.links``).
    """
    store = catalog.store(str(offer.get("store")))
    program = catalog.affiliates.get(store.affiliate) if store and store.affiliate else None
    canonical_url, url, _ = offer_urls(catalog, offer)
    direct = canonical_url or url
    if program is None:
        return direct, PLAIN_REL, False, False
    row = {key: (None if values.missing(value) else value) for key, value in offer.items()}
    row.update(canonical_url=canonical_url, url=url)  # a template never sees an offsite URL
    href = safe_http_url(program.link_for(row)) or direct
    return href, AFFILIATE_REL, href is not None, program.kind == "amazon" and href is not None


def cloaks(catalog: Any, store_name: str) -> bool:
    """True when the store's program asks for ``/go/`` links (never for Amazon: no cloaking)."""
    store = catalog.store(store_name)
    program = catalog.affiliates.get(store.affiliate) if store and store.affiliate else None
    # ``cloak`` is read tolerantly: catalogs written before the key existed have no such field.
    return bool(
        program is not None and program.kind != "amazon" and getattr(program, "cloak", False)
    )


def offer_view(
    catalog: Any,
    offer: Mapping[str, Any],
    now: datetime,
    amazon_stores: frozenset[str] | None = None,
) -> OfferView:
    """One offer row as shown on a product page.

    An offer of one of the ``amazon_stores`` (default: ``amazon_rules.amazon_stores(catalog)``)
    keeps its price, stock and stamp only while ``amazon_rules.may_show`` allows them (from the
    API, under 24 hours); otherwise it is a link only.
    """
    if amazon_stores is None:
        amazon_stores = amazon_rules.amazon_stores(catalog)
    fetched_at = values.timestamp(offer.get("fetched_at"))
    site_hours = float(catalog.site.max_price_age_hours)
    href, rel, affiliate, amazon = offer_link(catalog, offer)
    availability = values.text(offer.get("availability")) or "unknown"
    if availability not in ("in_stock", "out_of_stock"):
        availability = "unknown"
    price = values.decimal(offer.get("price"))
    current = fetched_at is not None and now - fetched_at <= timedelta(hours=site_hours)
    store = str(offer.get("store"))
    amazon_data = store in amazon_stores
    if amazon_data:
        # no price, no stock either: Amazon's availability alone would need its own stamp
        current = price is not None and amazon_rules.may_show(
            values.text(offer.get("source")), fetched_at, now, site_hours
        )
        if not current:
            price, availability, fetched_at = None, "unknown", None
    return OfferView(
        store=store,
        title=values.text(offer.get("title")),
        price=price,
        currency=values.text(offer.get("currency")),
        availability=availability,
        fetched_at=fetched_at,
        price_current=current,
        href=href,
        rel=rel,
        affiliate=affiliate,
        amazon=amazon,
        amazon_data=amazon_data,
    )


def _offer_order(offer: OfferView) -> tuple[int, Decimal, str]:
    """Buyable current prices first, cheapest first; then the rest by store."""
    buyable = offer.availability == "in_stock" and offer.price is not None and offer.price_current
    return (0 if buyable else 1, offer.price if buyable else Decimal(0), offer.store)


def _with_go_paths(catalog: Any, slug: str, offers: tuple[OfferView, ...]) -> tuple[OfferView, ...]:
    """Give cloaked affiliate offers a stable ``go/<product>-<store>/`` path."""
    result, used = [], set()
    for offer in offers:
        if offer.href and offer.affiliate and cloaks(catalog, offer.store):
            go = f"{slug}-{slugify(offer.store)}"
            n = 1
            while go in used:
                n += 1
                go = f"{slug}-{slugify(offer.store)}-{n}"
            used.add(go)
            offer = OfferView(**{**offer.__dict__, "go_path": f"go/{go}/"})
        result.append(offer)
    return tuple(result)


# --- reviews and history ------------------------------------------------------------------


def _quotable(catalog: Any) -> Any:
    """Whether a store's reviews may be quoted: it allows quoting and is not under Amazon's
    rules (no Amazon review text is ever shown)."""
    amazon_stores = amazon_rules.amazon_stores(catalog)

    def may_quote(store_name: str) -> bool:
        store = catalog.store(store_name)
        return bool(store is not None and store.quote_reviews and store_name not in amazon_stores)

    return may_quote


def _clip(text: str, limit: int = MAX_QUOTE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def review_quotes_by_listing(catalog: Any, reviews: pd.DataFrame) -> dict[int, list[ReviewQuote]]:
    """Quotable reviews per listing id: stores that allow quoting, with a body, most helpful first."""
    if reviews.empty or "listing_id" not in reviews:
        return {}
    may_quote = _quotable(catalog)
    result: dict[int, list[ReviewQuote]] = {}
    rows = values.records(reviews)
    rows.sort(
        key=lambda r: (-(values.integer(r.get("helpful_votes")) or 0), str(r.get("date") or ""))
    )
    for row in rows:
        listing_id, body = values.integer(row.get("listing_id")), values.text(row.get("body"))
        store = str(row.get("store"))
        if listing_id is None or body is None or not may_quote(store):
            continue
        result.setdefault(listing_id, []).append(
            ReviewQuote(
                store=store,
                title=values.text(row.get("title")),
                body=_clip(body),
                rating=values.number(row.get("rating")),
                date=values.text(row.get("date")),
            )
        )
    return result


def price_series_by_listing(
    history: pd.DataFrame | None,
) -> dict[int, list[tuple[str, datetime, Decimal]]]:
    """``listing_id -> [(store, fetched_at, price), ...]`` from the offer history."""
    if history is None or history.empty:
        return {}
    result: dict[int, list[tuple[str, datetime, Decimal]]] = {}
    columns = values.records(history[["listing_id", "store", "fetched_at", "price"]])
    for row in columns:
        listing_id, moment = values.integer(row["listing_id"]), values.timestamp(row["fetched_at"])
        price = values.decimal(row["price"])
        if listing_id is not None and moment is not None and price is not None:
            result.setdefault(listing_id, []).append((str(row["store"]), moment, price))
    return result


# --- products ---------------------------------------------------------------------------


def _category_names(catalog: Any) -> dict[str, str]:
    names = {rule.slug: rule.name for rule in catalog.categories}
    names.setdefault("other", "Other")
    return names


def _summary_view(
    catalog: Any,
    row: Mapping[str, Any],
    slug: str,
    category_names: Mapping[str, str],
    offers: tuple[OfferView, ...],
) -> ProductView:
    """What the ranking tables, embeds and the feed show of a product (no charts or details)."""
    product_id = str(row["product_id"])
    offers = _with_go_paths(catalog, slug, tuple(sorted(offers, key=_offer_order)))
    best_price = values.decimal(row.get("best_price"))
    best_store = values.text(row.get("best_store"))
    best_offer = next((o for o in offers if o.store == best_store and o.price == best_price), None)
    category = values.text(row.get("subcategory")) or values.text(row.get("category")) or "other"
    return ProductView(
        product_id=product_id,
        slug=slug,
        path=f"products/{slug}.html",
        name=values.text(row.get("name")) or product_id,
        brand=values.text(row.get("brand")),
        category=category,
        category_name=category_names.get(category, category),
        rank=int(row["rank"]),
        rating=values.number(row.get("rating")),
        adjusted_rating=values.number(row.get("adjusted_rating")),
        review_count=values.integer(row.get("review_count")),
        listings=values.integer(row.get("listings")) or len(offers),
        best_price=best_price,
        currency=values.text(row.get("currency")),
        best_store=best_store,
        best_price_current=best_offer is not None and best_offer.price_current,
        in_stock=bool(row.get("in_stock")) if not values.missing(row.get("in_stock")) else False,
        offers=offers,
        trust_grade=details.trust_grade(row.get("trust_grade")),
        trust_adjusted_rating=values.number(row.get("trust_adjusted_rating")),
        wilson_lower=values.number(row.get("wilson_lower")),
        value_score=values.number(row.get("value_score")),
        composite_score=values.number(row.get("composite_score")),
        badges=details.badges(row.get("badges"), category_names),
        detailed=False,
    )


def _with_details(
    catalog: Any,
    view: ProductView,
    row: Mapping[str, Any],
    listing_ids: Iterable[int],
    quotes: Mapping[int, list[ReviewQuote]],
    prices: Mapping[int, list[tuple[str, datetime, Decimal]]],
) -> ProductView:
    """The summary view plus what only the product's own page shows: scores, trust, charts."""
    histogram = details.rating_histogram(row.get("rating_histogram"))
    listing_ids = list(listing_ids)
    series: dict[str, list[tuple[datetime, Decimal]]] = {}
    for listing_id in listing_ids:
        for store, moment, price in prices.get(listing_id, ()):
            series.setdefault(store, []).append((moment, price))
    may_quote = _quotable(catalog)
    # each listing's most helpful review first, then each one's next: every store has its say,
    # whichever listing the crawl happened to store first
    rounds = zip_longest(*(quotes.get(lid, ()) for lid in listing_ids))
    review_quotes = [q for turn in rounds for q in turn if q is not None][:MAX_REVIEW_QUOTES]
    currency = view.currency
    return replace(
        view,
        score_breakdown=details.score_breakdown(row.get("score_breakdown")),
        report_card=details.report_card(row.get("report_card")),
        store_ratings=details.store_ratings(row.get("store_ratings")),
        pros=details.aspects(row.get("pros"), may_quote),
        cons=details.aspects(row.get("cons"), may_quote),
        specs=details.specs(row.get("specs")),
        rating_histogram=tuple(sorted(histogram.items(), reverse=True)),
        price_summary=details.price_summary(row.get("price_summary")),
        review_quotes=tuple(review_quotes),
        histogram_svg=charts.rating_histogram_svg(histogram, f"Star ratings of {view.name}")
        if histogram
        else None,
        price_history_svg=charts.price_history_svg(
            series, f"Price history of {view.name} by store", lambda p: money(p, currency)
        ),
        detailed=True,
    )


def _listings_by_product(product_listings: pd.DataFrame) -> dict[str, list[int]]:
    result: dict[str, list[int]] = {}
    if len(product_listings):
        for pid, lid in zip(
            product_listings["product_id"], product_listings["listing_id"], strict=True
        ):
            if not values.missing(lid):
                result.setdefault(str(pid), []).append(int(lid))
    return result


def summary_views(
    catalog: Any,
    products: pd.DataFrame,
    product_listings: pd.DataFrame,
    offers: pd.DataFrame,
    now: datetime,
) -> list[ProductView]:
    """Every scored product as a summary view (``detailed=False``), with its offers."""
    offers_by_product: dict[str, list[OfferView]] = {}
    amazon_stores = amazon_rules.amazon_stores(catalog)
    if len(product_listings) and len(offers):
        columns = [c for c in VIEWED_OFFER_COLUMNS if c in offers.columns]
        joined = product_listings[["product_id", "listing_id"]].merge(
            offers[columns], on="listing_id", how="inner"
        )
        for row in values.records(joined):
            offers_by_product.setdefault(str(row["product_id"]), []).append(
                offer_view(catalog, row, now, amazon_stores)
            )
    names = _category_names(catalog)
    ids = products["product_id"].astype(str) if len(products) else []
    slugs = product_slugs(ids, reserved=names)
    columns = [c for c in SUMMARY_COLUMNS if c in products.columns]
    return [
        _summary_view(catalog, row, slugs[str(row["product_id"])], names,
                      tuple(offers_by_product.get(str(row["product_id"]), ())))
        for row in values.records(products[columns])
    ]  # fmt: skip


def detailed_views(
    catalog: Any,
    summaries: Iterable[ProductView],
    products: pd.DataFrame,
    product_listings: pd.DataFrame,
    reviews: pd.DataFrame,
    offer_history: pd.DataFrame | None = None,
) -> list[ProductView]:
    """The given summary views with their details; only their own rows, reviews and history are read."""
    summaries = list(summaries)
    wanted = {v.product_id for v in summaries}
    if not wanted:
        return []
    rows = {
        str(row["product_id"]): row
        for row in values.records(products[products["product_id"].astype(str).isin(wanted)])
    }
    listings = {
        pid: lids for pid, lids in _listings_by_product(product_listings).items() if pid in wanted
    }
    listing_ids = {lid for lids in listings.values() for lid in lids}

    def own(frame: pd.DataFrame | None) -> pd.DataFrame | None:
        if frame is None or frame.empty or "listing_id" not in frame:
            return frame
        return frame[frame["listing_id"].isin(listing_ids)]

    quotes = review_quotes_by_listing(catalog, own(reviews))  # type: ignore[arg-type]
    # Amazon's prices are shown, never charted (amazon_rules).
    amazon_stores = amazon_rules.amazon_stores(catalog)
    history = own(offer_history)
    if history is not None and amazon_stores and "store" in history:
        history = history[~history["store"].astype(str).isin(amazon_stores)]
    prices = price_series_by_listing(history)
    return [
        _with_details(
            catalog, v, rows[v.product_id], listings.get(v.product_id, ()), quotes, prices
        )
        for v in summaries
    ]


def category_views(catalog: Any, views: Iterable[ProductView]) -> list[CategoryView]:
    """Products grouped by subcategory in catalog order, each ranked, with its top comparisons."""
    views = list(views)
    names = _category_names(catalog)
    order = {rule.slug: i for i, rule in enumerate(catalog.categories)}
    result = []
    for slug in sorted({v.category for v in views}, key=lambda s: (order.get(s, len(order)), s)):
        ranked = tuple(
            sorted((v for v in views if v.category == slug), key=lambda v: (v.rank, v.slug))
        )
        top = ranked[:3]
        comparisons = tuple(
            Comparison(path=f"compare/{a.slug}-vs-{b.slug}.html", a=a, b=b)
            for i, a in enumerate(top)
            for b in top[i + 1 :]
        )
        result.append(CategoryView(slug=slug, name=names.get(slug, slug), products=ranked,
                                   comparisons=comparisons))  # fmt: skip
    return result


def site_info(catalog: Any, now: datetime) -> SiteInfo:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return SiteInfo(
        name=catalog.site.name,
        base_url=catalog.site.base_url.rstrip("/"),
        disclosure=catalog.site.disclosure,
        amazon_disclosure=catalog.site.amazon_disclosure,
        demo=bool(catalog.site.demo),
        generated_at=now.astimezone(UTC),
        max_price_age_hours=float(catalog.site.max_price_age_hours),
    )
