"""Assemble the site's pages (home, categories, products, comparisons, embeds...) from views."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from reports import jsonld
from reports.changes import changes_between_runs
from reports.context import (
    CHANGES_PATH,
    DISCLOSURE_PATH,
    HOME_PATH,
    METHODOLOGY_PATH,
    NOT_FOUND_PATH,
    CategoryView,
    Comparison,
    Page,
    ProductView,
    Redirect,
    SiteContext,
    SiteInfo,
    category_views,
    product_views,
    site_info,
)
from reports.details import TRUST_GRADES
from reports.filters import money, rating, score
from reports.methodology import methodology

EMBED_PICKS = 3


def _url(site: SiteInfo, path: str) -> str:
    return f"{site.base_url}/" if path == HOME_PATH else f"{site.base_url}/{path}"


def _crumbs(site: SiteInfo, trail: Sequence[tuple[str, str]]) -> tuple[Any, ...]:
    """The breadcrumb trail for the page and as JSON-LD."""
    return (
        jsonld.script_json(jsonld.breadcrumb_list([(name, _url(site, path)) for name, path in trail])),
    )


def _product_description(product: ProductView) -> str:
    parts = [f"{product.name}: #{product.rank} in {product.category_name}"]
    if product.composite_score is not None:
        parts.append(f"scored {score(product.composite_score)}")
    parts.append(f"rated {rating(product.adjusted_rating)}")
    if product.shown_price is not None:
        parts.append(f"from {money(product.shown_price, product.currency)} at {product.best_store}")
    return ", ".join(parts) + "."


def _product_page(site: SiteInfo, product: ProductView, comparisons: tuple[Comparison, ...]) -> Page:
    trail = [("Rankings", HOME_PATH), (product.category_name, f"category/{product.category}.html"),
             (product.name, product.path)]  # fmt: skip
    offers = [
        {"price": o.price, "currency": o.currency, "availability": o.availability,
         "url": o.href, "store": o.store}
        for o in product.offers
        if o.price_current
    ]  # fmt: skip
    summary = _product_description(product)
    document = jsonld.product_document(
        name=product.name,
        url=_url(site, product.path),
        brand=product.brand,
        offers=offers,
        site_name=site.name,
        site_url=f"{site.base_url}/",
        composite_score=product.composite_score,
        review_body=summary if product.composite_score is not None else None,
    )
    return Page(
        path=product.path,
        template="product.html",
        title=product.name,
        root="../",
        amazon_links=product.has_amazon_link,
        data={"product": product, "comparisons": comparisons, "breadcrumbs": tuple(trail)},
        description=summary,
        canonical=_url(site, product.path),
        jsonld=(jsonld.script_json(document), *_crumbs(site, trail)),
    )


def _category_page(site: SiteInfo, category: CategoryView) -> Page:
    trail = [("Rankings", HOME_PATH), (category.name, category.path)]
    return Page(
        path=category.path,
        template="category.html",
        title=f"Best {category.name.lower()}",
        root="../",
        amazon_links=False,
        data={"category": category, "breadcrumbs": tuple(trail)},
        description=f"{len(category.products)} {category.name.lower()} ranked by their reviews"
        " across stores, with current prices.",
        canonical=_url(site, category.path),
        jsonld=_crumbs(site, trail),
    )


def _comparison_page(site: SiteInfo, category: CategoryView, comparison: Comparison) -> Page:
    trail = [("Rankings", HOME_PATH), (category.name, category.path),
             (comparison.title, comparison.path)]  # fmt: skip
    spec_names = list(dict.fromkeys(s.label for p in (comparison.a, comparison.b) for s in p.specs))
    specs = tuple(
        (name, *(next((s.value for s in p.specs if s.label == name), None)
                 for p in (comparison.a, comparison.b)))
        for name in spec_names
    )  # fmt: skip
    firsts = [p.buy_offers[0] for p in (comparison.a, comparison.b) if p.buy_offers]
    return Page(
        path=comparison.path,
        template="compare.html",
        title=comparison.title,
        root="../",
        amazon_links=any(o.amazon for o in firsts),
        data={"comparison": comparison, "category": category, "specs": specs,
              "breadcrumbs": tuple(trail)},
        description=f"{comparison.title}: scores, trust, prices and specs side by side.",
        canonical=_url(site, comparison.path),
        jsonld=_crumbs(site, trail),
    )  # fmt: skip


def _embed_pages(categories: Sequence[CategoryView]) -> list[Page]:
    pages = []
    for category in categories:
        pages.append(
            Page(path=f"embed/{category.slug}.html", template="embed.html",
                 title=f"Top {category.name.lower()}", root="../",
                 amazon_links=any(p.buy_offers and p.buy_offers[0].amazon for p in category.top_picks),
                 data={"picks": category.top_picks[:EMBED_PICKS], "heading": f"Top {category.name.lower()}",
                       "single": False})
        )  # fmt: skip
        for product in category.products:
            pages.append(
                Page(path=f"embed/{product.slug}.html", template="embed.html", title=product.name,
                     root="../", amazon_links=any(o.amazon for o in product.buy_offers[:EMBED_PICKS]),
                     data={"picks": (product,), "heading": product.name, "single": True})
            )  # fmt: skip
    return pages


def _redirects(products: Sequence[ProductView]) -> tuple[Redirect, ...]:
    return tuple(
        Redirect(path=o.go_path, target=o.href)
        for p in products
        for o in p.offers
        if o.go_path and o.href
    )


def products_feed(site: SiteInfo, categories: Sequence[CategoryView]) -> dict[str, Any]:
    """``api/products.json``: the published products and their offers (money as strings)."""

    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat().replace("+00:00", "Z") if moment else None

    return {
        "site": site.name,
        "generated_at": iso(site.generated_at),
        "products": [
            {
                "id": p.product_id, "name": p.name, "brand": p.brand, "subcategory": p.category,
                "rank": p.rank, "url": _url(site, p.path), "composite_score": p.composite_score,
                "trust_grade": p.trust_grade, "adjusted_rating": p.adjusted_rating,
                "review_count": p.review_count,
                "best_price": str(p.shown_price) if p.shown_price is not None else None,
                "currency": p.currency, "in_stock": p.in_stock,
                "offers": [
                    {"store": o.store, "price": str(o.price) if o.price is not None else None,
                     "currency": o.currency, "availability": o.availability,
                     "price_as_of": iso(o.fetched_at), "price_current": o.price_current,
                     "url": o.href, "sponsored": o.affiliate}
                    for o in p.offers
                ],
            }
            for c in categories
            for p in c.products
        ],
    }  # fmt: skip


def site_pages(
    catalog: Any,
    site: SiteInfo,
    views: Sequence[ProductView],
    categories: Sequence[CategoryView],
    scoring_summary: Mapping[str, Any] | None,
    snapshots: pd.DataFrame | None,
) -> SiteContext:
    """Every page of the site, in a stable order."""
    ranked = tuple(p for c in categories for p in c.products)
    comparisons_of: dict[str, list[Comparison]] = {}
    for category in categories:
        for comparison in category.comparisons:
            for product in (comparison.a, comparison.b):
                comparisons_of.setdefault(product.product_id, []).append(comparison)
    grades = tuple(g for g in TRUST_GRADES if any(p.trust_grade == g for p in ranked))
    amazon_anywhere = any(
        catalog.affiliates.get(s.affiliate) is not None
        and catalog.affiliates[s.affiliate].kind == "amazon"
        for s in catalog.stores
        if s.affiliate
    )
    changes = changes_between_runs(snapshots)
    pages = [
        Page(path=HOME_PATH, template="home.html", title=site.name, root="", amazon_links=False,
             data={"categories": tuple(categories), "products": ranked, "grades": grades,
                   "built_at": site.generated_at},
             description=f"{site.name}: back-care products ranked by their reviews across stores,"
             " with trust checks and current prices.",
             canonical=_url(site, HOME_PATH)),
        *(_category_page(site, c) for c in categories),
        *(_product_page(site, p, tuple(comparisons_of.get(p.product_id, ()))) for p in ranked),
        *(_comparison_page(site, c, comp) for c in categories for comp in c.comparisons),
        Page(path=METHODOLOGY_PATH, template="methodology.html", title="How we rank", root="",
             amazon_links=False, data={"method": methodology(catalog, scoring_summary)},
             description="The weights, thresholds and checks behind the rankings.",
             canonical=_url(site, METHODOLOGY_PATH)),
        Page(path=CHANGES_PATH, template="changes.html", title="What changed", root="",
             amazon_links=False, data={"changes": changes, "built_at": site.generated_at},
             description="New and gone products, price and rank moves since the last refresh.",
             canonical=_url(site, CHANGES_PATH)),
        Page(path=DISCLOSURE_PATH, template="disclosure.html", title="Affiliate disclosure",
             root="", amazon_links=amazon_anywhere, data={},
             description="How this site makes money.", canonical=_url(site, DISCLOSURE_PATH)),
        Page(path=NOT_FOUND_PATH, template="404.html", title="Page not found",
             root=urlsplit(site.base_url).path.rstrip("/") + "/", amazon_links=False, data={}),
        *_embed_pages(categories),
    ]  # fmt: skip
    redirects = _redirects(ranked)
    pages.extend(
        Page(path=f"{r.path}index.html", template="go.html", title="Redirecting", root="../../",
             amazon_links=False, data={"target": r.target})
        for r in redirects
    )  # fmt: skip
    sitemap = tuple(p.canonical for p in pages if p.canonical and p.template != "go.html")
    pages.append(
        Page(path="sitemap.xml", template="sitemap.xml", title="Sitemap", root="",
             amazon_links=False, data={"urls": sitemap})
    )  # fmt: skip
    theme_dir = getattr(catalog.site, "theme_dir", None)
    return SiteContext(
        site=site,
        pages=tuple(pages),
        theme_dir=str(theme_dir) if theme_dir else None,
        redirects=redirects,
        feed=products_feed(site, categories),
    )


def site_context(
    catalog: Any,
    products: pd.DataFrame,
    product_listings: pd.DataFrame,
    offers: pd.DataFrame,
    reviews: pd.DataFrame,
    now: datetime,
    *,
    offer_history: pd.DataFrame | None = None,
    scoring_summary: Mapping[str, Any] | None = None,
    snapshots: pd.DataFrame | None = None,
) -> SiteContext:
    """The whole site from the store's frames: pages, ``/go/`` redirects and the feed."""
    site = site_info(catalog, now)
    views = product_views(catalog, products, product_listings, offers, reviews,
                          site.generated_at, offer_history)  # fmt: skip
    return site_pages(catalog, site, views, category_views(catalog, views), scoring_summary,
                      snapshots)  # fmt: skip
