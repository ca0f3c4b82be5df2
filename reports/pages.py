"""Assemble the site's pages (home, categories, products, comparisons, embeds...) from views."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from backrank.core import amazon_rules
from reports import jsonld
from reports.changes import changes_between_runs
from reports.context import (
    CATEGORY_PAGE_SIZE,
    CHANGES_PATH,
    DISCLOSURE_PATH,
    HOME_PATH,
    METHODOLOGY_PATH,
    NOT_FOUND_PATH,
    CategorySection,
    CategoryView,
    Comparison,
    OfferView,
    Page,
    ProductView,
    Redirect,
    SiteContext,
    SiteInfo,
    category_views,
    detailed_views,
    site_info,
    summary_views,
)
from reports.details import TRUST_GRADES
from reports.filters import money, rating, score
from reports.inputs import product_input_keys
from reports.keys import digest, inputs_key, key_prefix
from reports.methodology import methodology

EMBED_PICKS = 3
HOME_ROWS_PER_CATEGORY = 10  # the home table stays small; each category page has the rest


def _url(site: SiteInfo, path: str) -> str:
    """The absolute URL of a page file or folder URL (``x/index.html`` is served as ``x/``)."""
    if path == HOME_PATH:
        return f"{site.base_url}/"
    return f"{site.base_url}/{path.removesuffix('index.html')}"


def _file(url: str) -> str:
    """The file behind a folder URL."""
    return url + "index.html" if url.endswith("/") else url


def _root(path: str) -> str:
    """The relative prefix from the page file at ``path`` to the site root."""
    return "../" * path.count("/")


def _crumbs(site: SiteInfo, trail: Sequence[tuple[str, str]]) -> tuple[Any, ...]:
    """The breadcrumb trail for the page and as JSON-LD."""
    return (
        jsonld.script_json(
            jsonld.breadcrumb_list([(name, _url(site, path)) for name, path in trail])
        ),
    )


def _product_description(product: ProductView) -> str:
    parts = [f"{product.name}: #{product.rank} in {product.category_name}"]
    if product.composite_score is not None:
        parts.append(f"scored {score(product.composite_score)}")
    parts.append(f"rated {rating(product.adjusted_rating)}")
    if product.shown_price is not None:
        parts.append(f"from {money(product.shown_price, product.currency)} at {product.best_store}")
    return ", ".join(parts) + "."


def _product_page(
    site: SiteInfo, product: ProductView, comparisons: tuple[Comparison, ...], inputs: str | None
) -> Page:
    trail = [("Rankings", HOME_PATH), (product.category_name, f"category/{product.category}/"),
             (product.name, product.path)]  # fmt: skip
    offers = [
        {"price": o.price, "currency": o.currency, "availability": o.availability,
         "url": o.href, "store": o.store}
        for o in product.offers
        if o.price_current and not o.amazon_data  # no stamp or disclaimer in structured data
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
        inputs=inputs,
    )


def _category_pages(
    site: SiteInfo, category: CategoryView, inputs: Mapping[str, str]
) -> list[Page]:
    """The category's ranking, ``CATEGORY_PAGE_SIZE`` rows a page; picks and comparisons on the first."""
    pages = []
    count = category.page_count
    picks = tuple((p.slug, inputs.get(p.product_id)) for p in category.top_picks)
    for number in range(1, count + 1):
        url = category.page_url(number)
        path = _file(url)
        suffix = f", page {number} of {count}" if count > 1 else ""
        trail = [("Rankings", HOME_PATH), (category.name, category.path)]
        if number > 1:
            trail.append((f"Page {number}", url))
        rows = category.page_products(number)
        members = tuple((p.slug, inputs.get(p.product_id)) for p in rows) + (
            picks if number == 1 else ()
        )
        pages.append(Page(
            path=path, template="category.html", title=f"Best {category.name.lower()}{suffix}",
            root=_root(path), amazon_links=False,
            data={"category": category, "rows": rows, "number": number, "breadcrumbs": tuple(trail),
                  "first_rank": (number - 1) * CATEGORY_PAGE_SIZE + 1},
            description=f"{len(category.products)} {category.name.lower()} ranked by their reviews"
            f" across stores, with current prices{suffix}.",
            canonical=_url(site, url), jsonld=_crumbs(site, trail),
            # without every member's input key, the page's key comes from pickling its data
            inputs=None if any(key is None for _, key in members)
            else digest(category.slug, category.name, len(category.products), number, members,
                        tuple((c.path, c.title) for c in category.comparisons)),
        ))  # fmt: skip
    return pages


def _comparison_page(site: SiteInfo, category: CategoryView, comparison: Comparison) -> Page:
    """``comparison`` must hold detailed views (specs and offers show side by side)."""
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
        data={"comparison": comparison, "category_name": category.name, "specs": specs,
              "breadcrumbs": tuple(trail)},
        description=f"{comparison.title}: scores, trust, prices and specs side by side.",
        canonical=_url(site, comparison.path),
        jsonld=_crumbs(site, trail),
    )  # fmt: skip


def _category_embed(category: CategoryView) -> Page:
    return Page(path=f"embed/{category.slug}.html", template="embed.html",
                title=f"Top {category.name.lower()}", root="../",
                amazon_links=any(p.buy_offers and p.buy_offers[0].amazon for p in category.top_picks),
                data={"picks": category.top_picks[:EMBED_PICKS], "heading": f"Top {category.name.lower()}",
                      "single": False})  # fmt: skip


def _product_embed(product: ProductView, inputs: str | None) -> Page:
    return Page(path=f"embed/{product.slug}.html", template="embed.html", title=product.name,
                root="../", amazon_links=any(o.amazon for o in product.buy_offers[:EMBED_PICKS]),
                data={"picks": (product,), "heading": product.name, "single": True},
                inputs=inputs)  # fmt: skip


def _redirects(products: Sequence[ProductView]) -> tuple[Redirect, ...]:
    return tuple(
        Redirect(path=o.go_path, target=o.href)
        for p in products
        for o in p.offers
        if o.go_path and o.href
    )


def _amazon_feed_fields(offer: OfferView) -> dict[str, Any]:
    """What the feed adds to an Amazon offer: its disclaimer beside a price, or link-only."""
    if offer.amazon_price:
        return {"price_disclaimer": amazon_rules.PRICE_DISCLAIMER, "link_only": False}
    return {"link_only": True, "label": amazon_rules.LINK_ONLY_LABEL}


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
                "currency": p.currency, "in_stock": None if p.amazon_only else p.in_stock,
                "offers": [
                    {"store": o.store, "price": str(o.price) if o.price is not None else None,
                     "currency": o.currency, "availability": o.availability,
                     "price_as_of": iso(o.fetched_at), "price_current": o.price_current,
                     "url": o.href, "sponsored": o.affiliate,
                     **(_amazon_feed_fields(o) if o.amazon_data else {})}
                    for o in p.offers
                ],
            }
            for c in categories
            for p in c.products
        ],
    }  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class Reuse:
    """What an incremental build may keep: the previous build's render keys (of files still
    there) and the fingerprint of the templates this build renders with."""

    previous: Mapping[str, str]
    templates_fingerprint: str


def _comparison_inputs(
    comparisons: Sequence[Comparison], inputs: Mapping[str, str]
) -> tuple[Any, ...]:
    """What a product page shows of its comparisons: their paths and the other product."""
    return tuple(
        (c.path, *((p.slug, inputs.get(p.product_id)) for p in (c.a, c.b))) for c in comparisons
    )


def _home_page(site: SiteInfo, categories: Sequence[CategoryView], grades: tuple[str, ...],
               inputs: Mapping[str, str]) -> Page:  # fmt: skip
    """Top picks, and the top ``HOME_ROWS_PER_CATEGORY`` of each category with a link to the rest."""
    rows = tuple(p for c in categories for p in c.products[:HOME_ROWS_PER_CATEGORY])
    sections = tuple(
        CategorySection(
            slug=c.slug, name=c.name, path=c.path, count=len(c.products), top_pick=c.top_pick
        )
        for c in categories
    )
    keys = tuple((p.slug, inputs.get(p.product_id)) for p in rows)
    keys += tuple(
        (s.top_pick.slug, inputs.get(s.top_pick.product_id)) for s in sections if s.top_pick
    )
    return Page(
        path=HOME_PATH, template="home.html", title=site.name, root="", amazon_links=False,
        data={"categories": sections, "products": rows, "grades": grades, "built_at": site.generated_at,
              "rows_per_category": HOME_ROWS_PER_CATEGORY},
        description=f"{site.name}: back-care products ranked by their reviews across stores,"
        " with trust checks and current prices.",
        canonical=_url(site, HOME_PATH),
        inputs=None if any(k is None for _, k in keys)
        else digest(site.generated_at.isoformat(), grades, tuple((s.slug, s.name, s.count) for s in sections),
                    keys),
    )  # fmt: skip


def site_pages(
    catalog: Any,
    site: SiteInfo,
    categories: Sequence[CategoryView],
    scoring_summary: Mapping[str, Any] | None,
    snapshots: pd.DataFrame | None,
    *,
    detail: Callable[[Sequence[ProductView]], Sequence[ProductView]] | None = None,
    inputs: Mapping[str, str] | None = None,
    reuse: Reuse | None = None,
) -> SiteContext:
    """Every page of the site, in a stable order.

    ``categories`` may hold summary views; ``detail`` turns those whose pages must be rendered
    into detailed views. With ``inputs`` (product id -> input key) and ``reuse``, a product
    whose page and embed keys match the previous build's is kept, not detailed nor rendered.
    """
    inputs = inputs or {}
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

    # Product pages and embeds: keep the unchanged, detail the rest (and the comparisons' pairs).
    prefix = key_prefix(site, reuse.templates_fingerprint) if reuse else b""
    kept: dict[str, str] = {}
    stale: list[tuple[ProductView, str | None, str | None]] = []
    for product in ranked:
        key = inputs.get(product.product_id)
        page_inputs = embed_inputs = None
        if key is not None:
            own = (key, product.slug, product.category_name)
            page_inputs = digest(
                *own, _comparison_inputs(comparisons_of.get(product.product_id, ()), inputs)
            )
            embed_inputs = digest(*own)
        if reuse and page_inputs and embed_inputs:
            page_key = inputs_key(prefix, product.path, page_inputs)
            embed_path = f"embed/{product.slug}.html"
            embed_key = inputs_key(prefix, embed_path, embed_inputs)
            if (
                reuse.previous.get(product.path) == page_key
                and reuse.previous.get(embed_path) == embed_key
            ):
                kept[product.path], kept[embed_path] = page_key, embed_key
                continue
        stale.append((product, page_inputs, embed_inputs))
    paired = {
        p.product_id: p for c in categories for comp in c.comparisons for p in (comp.a, comp.b)
    }
    wanted = [p for p, _, _ in stale if not p.detailed] + [
        p for p in paired.values() if not p.detailed
    ]
    detailed = {p.product_id: p for p in (detail(wanted) if detail and wanted else ())}
    full = {
        pid: detailed.get(pid, p)
        for pid, p in {**{p.product_id: p for p, _, _ in stale}, **paired}.items()
    }
    if any(not p.detailed for p in full.values()):
        raise ValueError("product pages need detailed views: pass detail=")

    def compared(comparison: Comparison) -> Comparison:
        return replace(comparison, a=full[comparison.a.product_id], b=full[comparison.b.product_id])

    pages = [
        _home_page(site, categories, grades, inputs),
        *(page for c in categories for page in _category_pages(site, c, inputs)),
        *(_product_page(site, full[p.product_id], tuple(comparisons_of.get(p.product_id, ())), page_inputs)
          for p, page_inputs, _ in stale),
        *(_comparison_page(site, c, compared(comp)) for c in categories for comp in c.comparisons),
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
        *(_category_embed(c) for c in categories),
        *(_product_embed(p, embed_inputs) for p, _, embed_inputs in stale),
    ]  # fmt: skip
    redirects = _redirects(ranked)
    pages.extend(
        Page(path=f"{r.path}index.html", template="go.html", title="Redirecting", root="../../",
             amazon_links=False, data={"target": r.target})
        for r in redirects
    )  # fmt: skip
    sitemap = [p.canonical for p in pages if p.canonical and p.template != "go.html"]
    sitemap += [_url(site, p.path) for p in ranked if p.path in kept]
    pages.append(
        Page(path="sitemap.xml", template="sitemap.xml", title="Sitemap", root="",
             amazon_links=False, data={"urls": tuple(sorted(sitemap))})
    )  # fmt: skip
    theme_dir = getattr(catalog.site, "theme_dir", None)
    return SiteContext(
        site=site,
        pages=tuple(pages),
        theme_dir=str(theme_dir) if theme_dir else None,
        redirects=redirects,
        feed=products_feed(site, categories),
        kept=kept,
        fingerprint=reuse.templates_fingerprint if reuse else None,
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
    reuse: Reuse | None = None,
) -> SiteContext:
    """The whole site from the store's frames: pages, ``/go/`` redirects and the feed.

    With ``reuse``, products whose inputs and templates are as in the previous build keep
    their pages (``SiteContext.kept``): no detailed view is built for them, nothing rendered.
    """
    site = site_info(catalog, now)
    summaries = summary_views(catalog, products, product_listings, offers, site.generated_at)
    # Offer links, quoting and names also come from the catalog: its change changes every key.
    catalog_inputs = digest(
        repr(catalog.stores), repr(catalog.affiliates), repr(catalog.categories)
    )
    inputs = {
        pid: f"{key}-{catalog_inputs}"
        for pid, key in product_input_keys(products, product_listings, offers, reviews,
                                           site.generated_at, site.max_price_age_hours,
                                           offer_history).items()
    }  # fmt: skip

    def detail(views: Sequence[ProductView]) -> list[ProductView]:
        return detailed_views(catalog, views, products, product_listings, reviews, offer_history)

    return site_pages(catalog, site, category_views(catalog, summaries), scoring_summary, snapshots,
                      detail=detail, inputs=inputs, reuse=reuse)  # fmt: skip
