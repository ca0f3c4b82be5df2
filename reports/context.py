"""Turn scored frames and the catalog into the site's page context (plain dataclasses)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pandas as pd

AFFILIATE_REL = "sponsored nofollow noopener"
PLAIN_REL = "nofollow noopener"
MAX_SLUG_LENGTH = 80

HOME_PATH = "index.html"
DISCLOSURE_PATH = "disclosure.html"
NOT_FOUND_PATH = "404.html"


@dataclass(frozen=True, kw_only=True)
class SiteInfo:
    """What every page shows: the site's name, disclosures and build time."""

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
    href: str | None  # None when the store gave no usable http(s) URL
    rel: str
    affiliate: bool
    amazon: bool


@dataclass(frozen=True, kw_only=True)
class ProductView:
    """One ranked product, for the home table and its own page."""

    product_id: str
    slug: str
    path: str
    name: str
    brand: str | None
    category: str
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

    @property
    def has_amazon_link(self) -> bool:
        return any(offer.amazon and offer.href for offer in self.offers)


@dataclass(frozen=True, kw_only=True)
class CategoryView:
    """One category's ranked products; the first is the top pick."""

    slug: str
    name: str
    products: tuple[ProductView, ...]

    @property
    def top_pick(self) -> ProductView | None:
        rated = [p for p in self.products if p.adjusted_rating is not None]
        return rated[0] if rated else None


@dataclass(frozen=True, kw_only=True)
class Page:
    """One output file: its path, template, title and template variables."""

    path: str
    template: str
    title: str
    root: str  # relative prefix from this page to the site root ("", "../", or "/" for 404)
    amazon_links: bool
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class SiteContext:
    """Everything the renderer needs: site info, pages, and where a theme overrides templates."""

    site: SiteInfo
    pages: tuple[Page, ...]
    theme_dir: str | None = None


# --- values ---------------------------------------------------------------------------


def safe_http_url(value: object) -> str | None:
    """``value`` as an http(s) URL with a host, or None (drops ``javascript:``, ``data:``...)."""
    if not isinstance(value, str):
        return None
    url = value.strip()
    if not url or any(ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in url):
        return None
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return urlunsplit(parts)


def slugify(text: str) -> str:
    """``[a-z0-9-]`` only, no leading/trailing dash, at most MAX_SLUG_LENGTH characters."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")
    return slug[:MAX_SLUG_LENGTH].rstrip("-") or "product"


def product_slugs(product_ids: Iterable[str]) -> dict[str, str]:
    """A unique slug per product id; collisions get ``-2``, ``-3``... in product-id order."""
    slugs: dict[str, str] = {}
    taken: set[str] = set()
    for product_id in sorted(set(product_ids)):
        base = slugify(product_id)
        slug, n = base, 1
        while slug in taken:
            n += 1
            slug = f"{base[: MAX_SLUG_LENGTH - len(str(n)) - 1]}-{n}"
        taken.add(slug)
        slugs[product_id] = slug
    return slugs


def _missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _text(value: object) -> str | None:
    return None if _missing(value) or str(value).strip() == "" else str(value)


def _float(value: object) -> float | None:
    return None if _missing(value) else float(value)  # type: ignore[arg-type]


def _int(value: object) -> int | None:
    return None if _missing(value) else int(value)  # type: ignore[call-overload]


def _decimal(value: object) -> Decimal | None:
    if _missing(value):
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        raise TypeError(f"price {value!r} is a float; prices must be Decimal or decimal strings")
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        return None


def _timestamp(value: object) -> datetime | None:
    """An aware UTC datetime from an ISO string / datetime / Timestamp, None when absent."""
    if _missing(value):
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


# --- offers ----------------------------------------------------------------------------


def offer_link(catalog: Any, offer: Mapping[str, Any]) -> tuple[str | None, str, bool, bool]:
    """``(href, rel, affiliate, amazon)`` for one offer row.

    The store's affiliate program makes the link when it can; otherwise the offer's own URL.
    A store with a program keeps ``rel="sponsored ..."`` even on a plain link, since it may
    still pay through cookies. Anything but http(s) is dropped.
    """
    store = catalog.store(str(offer.get("store")))
    program = catalog.affiliates.get(store.affiliate) if store and store.affiliate else None
    direct = safe_http_url(offer.get("canonical_url")) or safe_http_url(offer.get("url"))
    if program is None:
        return direct, PLAIN_REL, False, False
    row = {key: (None if _missing(value) else value) for key, value in offer.items()}
    href = safe_http_url(program.link_for(row)) or direct
    return href, AFFILIATE_REL, href is not None, program.kind == "amazon" and href is not None


def offer_view(catalog: Any, offer: Mapping[str, Any], now: datetime) -> OfferView:
    """One offer row as shown on a product page."""
    fetched_at = _timestamp(offer.get("fetched_at"))
    max_age = timedelta(hours=float(catalog.site.max_price_age_hours))
    href, rel, affiliate, amazon = offer_link(catalog, offer)
    availability = _text(offer.get("availability")) or "unknown"
    if availability not in ("in_stock", "out_of_stock"):
        availability = "unknown"
    return OfferView(
        store=str(offer.get("store")),
        title=_text(offer.get("title")),
        price=_decimal(offer.get("price")),
        currency=_text(offer.get("currency")),
        availability=availability,
        fetched_at=fetched_at,
        price_current=fetched_at is not None and now - fetched_at <= max_age,
        href=href,
        rel=rel,
        affiliate=affiliate,
        amazon=amazon,
    )


def _offer_order(offer: OfferView) -> tuple[int, Decimal, str]:
    """Buyable current prices first, cheapest first; then the rest by store."""
    buyable = offer.availability == "in_stock" and offer.price is not None and offer.price_current
    return (0 if buyable else 1, offer.price if buyable else Decimal(0), offer.store)


# --- pages ----------------------------------------------------------------------------


def _category_names(catalog: Any) -> dict[str, str]:
    names = {rule.slug: rule.name for rule in catalog.categories}
    names.setdefault("other", "Other")
    return names


def site_context(
    catalog: Any,
    products: pd.DataFrame,
    product_listings: pd.DataFrame,
    offers: pd.DataFrame,
    reviews: pd.DataFrame,
    now: datetime,
) -> SiteContext:
    """The whole site: home, one page per product, the disclosure page and a 404 page."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC)
    site = SiteInfo(
        name=catalog.site.name,
        base_url=catalog.site.base_url,
        disclosure=catalog.site.disclosure,
        amazon_disclosure=catalog.site.amazon_disclosure,
        demo=bool(catalog.site.demo),
        generated_at=now,
        max_price_age_hours=float(catalog.site.max_price_age_hours),
    )
    offers_by_product: dict[str, list[OfferView]] = {}
    if len(product_listings) and len(offers):
        joined = product_listings[["product_id", "listing_id"]].merge(
            offers.drop(columns=["product_id"], errors="ignore"), on="listing_id", how="inner"
        )
        for row in joined.to_dict("records"):
            offers_by_product.setdefault(row["product_id"], []).append(
                offer_view(catalog, row, now)
            )

    category_names = _category_names(catalog)
    slugs = product_slugs(products["product_id"].astype(str)) if len(products) else {}
    views = [
        _product_view(row, slugs, category_names, offers_by_product)
        for row in products.to_dict("records")
    ]
    order = {rule.slug: i for i, rule in enumerate(catalog.categories)}
    categories = [
        CategoryView(
            slug=slug,
            name=category_names.get(slug, slug),
            products=tuple(sorted((v for v in views if v.category == slug), key=lambda v: v.rank)),
        )
        for slug in sorted({v.category for v in views}, key=lambda s: (order.get(s, len(order)), s))
    ]

    root_path = urlsplit(site.base_url).path.rstrip("/") + "/"
    pages = [
        Page(
            path=HOME_PATH,
            template="home.html",
            title=site.name,
            root="",
            amazon_links=False,
            data={"categories": tuple(categories)},
        ),
        *(
            Page(
                path=view.path,
                template="product.html",
                title=view.name,
                root="../",
                amazon_links=view.has_amazon_link,
                data={"product": view},
            )
            for view in views
        ),
        Page(
            path=DISCLOSURE_PATH,
            template="disclosure.html",
            title="Affiliate disclosure",
            root="",
            amazon_links=any(
                (catalog.affiliates.get(s.affiliate) is not None)
                and catalog.affiliates[s.affiliate].kind == "amazon"
                for s in catalog.stores
                if s.affiliate
            ),
            data={},
        ),
        Page(
            path=NOT_FOUND_PATH,
            template="404.html",
            title="Page not found",
            root=root_path,
            amazon_links=False,
            data={},
        ),
    ]
    theme_dir = getattr(catalog.site, "theme_dir", None)
    return SiteContext(
        site=site, pages=tuple(pages), theme_dir=str(theme_dir) if theme_dir else None
    )


def _product_view(
    row: Mapping[str, Any],
    slugs: Mapping[str, str],
    category_names: Mapping[str, str],
    offers_by_product: Mapping[str, list[OfferView]],
) -> ProductView:
    product_id = str(row["product_id"])
    offers = tuple(sorted(offers_by_product.get(product_id, []), key=_offer_order))
    best_price = _decimal(row.get("best_price"))
    best_store = _text(row.get("best_store"))
    best_offer = next(
        (o for o in offers if o.store == best_store and o.price == best_price), None
    )
    category = _text(row.get("category")) or "other"
    return ProductView(
        product_id=product_id,
        slug=slugs[product_id],
        path=f"products/{slugs[product_id]}.html",
        name=_text(row.get("name")) or product_id,
        brand=_text(row.get("brand")),
        category=category,
        category_name=category_names.get(category, category),
        rank=int(row["rank"]),
        rating=_float(row.get("rating")),
        adjusted_rating=_float(row.get("adjusted_rating")),
        review_count=_int(row.get("review_count")),
        listings=_int(row.get("listings")) or len(offers),
        best_price=best_price,
        currency=_text(row.get("currency")),
        best_store=best_store,
        best_price_current=best_offer is not None and best_offer.price_current,
        in_stock=bool(row.get("in_stock")) if not _missing(row.get("in_stock")) else False,
        offers=offers,
    )
