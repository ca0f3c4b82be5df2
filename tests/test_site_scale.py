"""The site with hundreds of products: a small home page, paginated categories, incremental keys."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from test_site_build import NOW

from backrank.core.config import Catalog, SiteConfig
from reports.build import reuse_for, write_context
from reports.context import CATEGORY_PAGE_SIZE
from reports.inputs import product_input_keys
from reports.pages import HOME_ROWS_PER_CATEGORY, Reuse, site_context

BIG, SMALL = 230, 4  # inversion tables over three pages; back stretchers on one
NO_REVIEWS = pd.DataFrame(columns=["listing_id", "store", "body"])


def frames(big: int = BIG, small: int = SMALL) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(products, product_listings, offers)``: one listing per product, fetched an hour ago."""
    products, links, offers = [], [], []
    for i in range(big + small):
        category, rank = (
            ("inversion-tables", i + 1) if i < big else ("back-stretchers", i - big + 1)
        )
        price = Decimal(100 + i) + Decimal("0.99")
        products.append({
            "product_id": f"p{i:04d}", "name": f"Model {i:04d}", "brand": "Acme", "category": category,
            "subcategory": category, "listings": 1, "best_price": price, "currency": "USD",
            "best_store": "shop", "in_stock": True, "rating": 4.0, "review_count": 10 + i,
            "adjusted_rating": 4.5 - i / 1000, "rank": rank, "composite_score": 9.0 - i / 100,
        })  # fmt: skip
        links.append({"product_id": f"p{i:04d}", "listing_id": i})
        offers.append({
            "listing_id": i, "store": "shop", "url": f"https://shop.example/p/{i}",
            "canonical_url": None, "title": f"Model {i:04d}", "price": price, "currency": "USD",
            "availability": "in_stock", "fetched_at": (NOW - timedelta(hours=1)).isoformat(),
        })  # fmt: skip
    return pd.DataFrame(products), pd.DataFrame(links), pd.DataFrame(offers)


def catalog() -> Catalog:
    return Catalog(
        path=Path("scale.toml"), site=SiteConfig(name="Scale Picks", base_url="https://example.com")
    )


def build(out: Path, products: pd.DataFrame, links: pd.DataFrame, offers: pd.DataFrame,
          now=NOW, reuse: bool = True):  # type: ignore[no-untyped-def]  # fmt: skip
    context = site_context(catalog(), products, links, offers, NO_REVIEWS, now,
                           reuse=reuse_for(catalog(), out) if reuse else None)  # fmt: skip
    return context, write_context(context, out)


def read(out: Path, path: str) -> str:
    return (out / path).read_text(encoding="utf-8")


def links(html: str) -> dict[str, str]:
    """Link text -> href, for the plain ``<a href=...>text</a>`` links of a page."""
    return {text: href for href, text in re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', html)}


def row_names(html: str) -> list[str]:
    return re.findall(r'<th scope="row" class="name"[^>]*><a [^>]*>([^<]+)</a>', html)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("scale") / "site"
    build(out, *frames())
    return out


def test_home_lists_the_top_of_each_category_and_links_to_the_rest(site: Path) -> None:
    home = read(site, "index.html")
    names = row_names(home)
    assert len(names) == HOME_ROWS_PER_CATEGORY + SMALL
    assert names[:3] == ["Model 0000", "Model 0001", "Model 0002"]
    assert "Model 0010" not in names  # the 11th inversion table waits on its category page
    assert (
        links(home)[f"See all {BIG} products in inversion tables"] == "category/inversion-tables/"
    )
    assert (
        links(home)[f"See all {SMALL} products in back stretchers"] == "category/back-stretchers/"
    )
    assert (
        f'<p class="filter-count" id="filter-count" role="status" aria-live="polite">{HOME_ROWS_PER_CATEGORY + SMALL} products</p>'
        in home
    )


def test_category_is_paginated_with_stable_folder_urls(site: Path) -> None:
    first, second, third = (read(site, p) for p in (
        "category/inversion-tables/index.html", "category/inversion-tables/page/2/index.html",
        "category/inversion-tables/page/3/index.html"))  # fmt: skip
    assert not (site / "category/inversion-tables/page/4").exists()
    pages = [row_names(html) for html in (first, second, third)]
    assert [len(names) for names in pages] == [
        CATEGORY_PAGE_SIZE,
        CATEGORY_PAGE_SIZE,
        BIG - 2 * CATEGORY_PAGE_SIZE,
    ]
    assert [name for names in pages for name in names] == [
        f"Model {i:04d}" for i in range(BIG)
    ]  # every product once, in rank order
    assert "Top picks" in first and "Top picks" not in second
    assert (
        '<link rel="canonical" href="https://example.com/category/inversion-tables/page/2/">'
        in second
    )
    assert "Ranks 101 to 200 of 230" in second
    nav = links(second.split('class="pagination"')[1])
    assert nav["Previous"] == "../../../../category/inversion-tables/"
    assert nav["Next"] == "../../../../category/inversion-tables/page/3/"
    assert '<span aria-current="page">2</span>' in second
    assert 'rel="next"' not in third
    sitemap = read(site, "sitemap.xml")
    assert "<loc>https://example.com/category/inversion-tables/page/3/</loc>" in sitemap
    small = read(site, "category/back-stretchers/index.html")
    assert len(row_names(small)) == SMALL and 'class="pagination"' not in small


def test_input_keys_follow_rows_offers_and_price_freshness() -> None:
    products, links, offers = frames(big=3, small=0)
    keys = product_input_keys(products, links, offers, NO_REVIEWS, NOW, 24)
    assert keys == product_input_keys(products, links, offers, NO_REVIEWS, NOW, 24)  # stable
    assert len(set(keys.values())) == 3
    moved = products.assign(composite_score=[9.0, 1.0, 8.98])
    changed = product_input_keys(moved, links, offers, NO_REVIEWS, NOW, 24)
    assert [pid for pid in keys if keys[pid] != changed[pid]] == ["p0001"]
    cheaper = offers.assign(price=[offers["price"][0], offers["price"][1], Decimal("1.00")])
    changed = product_input_keys(products, links, cheaper, NO_REVIEWS, NOW, 24)
    assert [pid for pid in keys if keys[pid] != changed[pid]] == ["p0002"]
    # a day later every price is stale: the pages must say so, so every key changes
    later = product_input_keys(products, links, offers, NO_REVIEWS, NOW + timedelta(hours=24), 24)
    assert all(later[pid] != keys[pid] for pid in keys)


def test_incremental_build_renders_only_what_changed_and_matches_a_full_build(
    tmp_path: Path,
) -> None:
    products, links, offers = frames()
    out = tmp_path / "site"
    build(out, products, links, offers)
    inodes = {p: p.stat().st_ino for p in out.rglob("*") if p.is_file()}
    moved = products.copy()
    moved.loc[moved["product_id"] == "p0150", "composite_score"] = 1.23
    context, result = build(out, moved, links, offers)
    # the other products were neither detailed nor rendered: their pages were carried over
    assert {p.path for p in context.pages if p.path.startswith(("products/", "embed/p"))} == {
        "products/p0150.html", "embed/p0150.html"}  # fmt: skip
    assert len(context.kept) == 2 * (BIG + SMALL - 1)
    # page 2 of the category (where p0150 is), the home page (it shows built_at) and the extras;
    # the home page comes out the same here (same time, p0150 not on it), so it is carried over
    assert result.rendered == 3 + 3
    rewritten = {p.relative_to(out).as_posix() for p in out.rglob("*")
                 if p.is_file() and inodes.get(out / p.relative_to(out)) != p.stat().st_ino}  # fmt: skip
    assert rewritten == {"products/p0150.html", "embed/p0150.html",
                         "category/inversion-tables/page/2/index.html", "api/products.json",
                         ".backrank-manifest.json"}  # fmt: skip
    assert "1.2/10" in read(out, "products/p0150.html")
    # the same files as a build from scratch, byte for byte
    fresh = tmp_path / "fresh"
    build(fresh, moved, links, offers, reuse=False)
    files = sorted(p.relative_to(fresh).as_posix() for p in fresh.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    for path in files:
        if path != ".backrank-manifest.json":
            assert (out / path).read_bytes() == (fresh / path).read_bytes(), path


def test_kept_pages_need_the_templates_they_were_planned_with(tmp_path: Path) -> None:
    products, links, offers = frames(big=3, small=0)
    out = tmp_path / "site"
    build(out, products, links, offers)
    stale = Reuse(
        previous=reuse_for(catalog(), out).previous, templates_fingerprint="other templates"
    )
    context = site_context(catalog(), products, links, offers, NO_REVIEWS, NOW, reuse=stale)
    assert context.kept == {}  # nothing matches keys made with other templates: all re-rendered
    assert len([p for p in context.pages if p.path.startswith("products/")]) == 3
    planned = site_context(
        catalog(), products, links, offers, NO_REVIEWS, NOW, reuse=reuse_for(catalog(), out)
    )
    assert len(planned.kept) == 6
    object.__setattr__(planned, "fingerprint", "other templates")
    with pytest.raises(ValueError, match="other templates"):
        write_context(planned, out)
