"""Static site build: escaping, affiliate links and disclosures, price freshness, atomic writes."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from helpers import CATEGORIES_TOML, SITE_TOML, load_catalog_text

from backrank.core.config import Catalog
from pipelines.run import score
from reports.build import build_site
from reports.context import product_slugs, safe_http_url, slugify
from reports.filters import money
from reports.write import UnsafePathError, write_site

NOW = datetime(2024, 7, 2, 12, 0, tzinfo=UTC)
FRESH = "2024-07-02T09:00:00Z"
STALE = "2024-06-20T09:00:00Z"
SCRIPT = "<script>alert(1)</script>"
SVG = '"><svg onload=alert(1)>'

CATALOG_TOML = (
    "\n"
    + SITE_TOML
    + """demo = true
max_price_age_hours = 24

[affiliates.amazon]
kind = "amazon"
url_template = "https://www.amazon.com/dp/{asin}?tag={tag}"
tag = "backrank-20"

[affiliates.shop_ref]
url_template = "{url}?ref={ref}"
ref = "backrank"

[[stores]]
name = "amazon"
platform = "amazon"
product_urls = ["https://www.amazon.com/dp/B000000001"]
affiliate = "amazon"

[[stores]]
name = "spine-shop"
platform = "shopify"
product_urls = ["https://spine-shop.example/products/a"]
affiliate = "shop_ref"

[[stores]]
name = "plain-store"
platform = "generic"
product_urls = ["https://plain.example/p/1"]
"""
    + CATEGORIES_TOML
    + """
[scoring]
prior_strength = 10
"""
)


def offer(listing_id: int, store: str, url: str, **fields: object) -> dict[str, object]:
    row: dict[str, object] = dict.fromkeys(
        ["canonical_url", "brand", "rating", "review_count", "gtin", "mpn", "sku", "asin"]
        + ["category", "image_url", "run_id"]
    )
    row.update(
        listing_id=listing_id,
        store=store,
        url=url,
        title=None,
        price=None,
        currency="USD",
        availability="in_stock",
        fetched_at=FRESH,
    )
    row.update(fields)
    return row


def demo_offers() -> pd.DataFrame:
    """Three products: a table sold by all three stores, an XSS-laden stretcher, a stale one."""
    gtin = "4006381333931"
    rows = [
        offer(1, "amazon", "https://www.amazon.com/dp/B000000001", asin="B000000001",
              gtin=gtin, title="Teeter EP-960 Inversion Table", brand="Teeter",
              price=Decimal("329.99"), rating=4.6, review_count=1200, source="api"),
        offer(2, "spine-shop", "https://spine-shop.example/products/ep-960", gtin=gtin,
              title="Teeter EP-960 Inversion Table", brand="Teeter", price=Decimal("299.00"),
              rating=4.4, review_count=80),
        offer(3, "plain-store", "javascript:alert(1)", gtin=gtin,
              title="Teeter EP-960 Inversion Table", price=Decimal("289.00")),
        offer(4, "spine-shop", "https://spine-shop.example/products/arc?color=blue",
              title=f"{SCRIPT} Back Stretcher", brand=SVG, mpn="ARC-1",
              price=Decimal("39.95"), rating=4.1, review_count=35),
        offer(5, "plain-store", "https://plain.example/p/old-table",
              title="Budget Inversion Table", brand="Acme", mpn="IT-2", price=Decimal("149.00"),
              rating=3.9, review_count=60, fetched_at=STALE),
    ]  # fmt: skip
    return pd.DataFrame(rows)


def no_reviews() -> pd.DataFrame:
    return pd.DataFrame(
        columns=["listing_id", "store", "url", "review_id", "author", "rating", "title", "body"]
        + ["date", "verified", "helpful_votes"]
    )


class FrameStore:
    """The store's read side over hand-made frames, scored by the real scoring chain with
    the catalog's settings (as ``backrank score`` leaves the store)."""

    def __init__(self, offers: pd.DataFrame, catalog: Catalog) -> None:
        self.offers = offers
        result = score(
            offers, no_reviews(), categories=catalog.categories, catalog_scoring=catalog.scoring
        )
        self.products, self.product_listings = result.products, result.product_listings

    def read_offers(self, latest: bool = True) -> pd.DataFrame:
        return self.offers

    def read_reviews(self) -> pd.DataFrame:
        return no_reviews()

    def read_products(self) -> pd.DataFrame:
        return self.products

    def read_product_listings(self) -> pd.DataFrame:
        return self.product_listings


def make_catalog(folder: Path, extra: str = "") -> Catalog:
    return load_catalog_text(folder, CATALOG_TOML + extra)


def build_demo_site(
    folder: Path, offers: pd.DataFrame | None = None, store: object | None = None, extra: str = ""
) -> dict[str, str]:
    """Build into ``folder/site``; return ``{relative path: text}`` of every file written."""
    out = folder / "site"
    catalog = make_catalog(folder, extra)
    store = store or FrameStore(demo_offers() if offers is None else offers, catalog)
    result = build_site(catalog, store, out, now=NOW)
    return {page: (result.out_dir / page).read_text(encoding="utf-8") for page in result.pages}


def documents(site: dict[str, str]) -> dict[str, str]:
    """The full HTML pages a reader opens (not embeds, redirects, or data files)."""
    return {
        path: html
        for path, html in site.items()
        if path.endswith(".html") and not path.startswith(("embed/", "go/"))
    }


def link_position(html: str, href: str) -> int:
    """Where an ``<a href>`` to ``href`` first appears in the markup."""
    return html.index(f'href="{href.replace("&", "&amp;")}')


class Anchors(HTMLParser):
    """Every ``<a>``'s attributes with its position in the page, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.anchors: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.anchors.append(dict(attrs))


def anchors(html: str) -> list[dict[str, str | None]]:
    parser = Anchors()
    parser.feed(html)
    return parser.anchors


def affiliate_hrefs(html: str) -> list[str]:
    return [a["href"] or "" for a in anchors(html) if "sponsored" in (a.get("rel") or "")]


def store_links(html: str) -> list[dict[str, str | None]]:
    return [a for a in anchors(html) if re.match(r"https?://", a.get("href") or "")
            and "example.com/" not in (a.get("href") or "")]  # fmt: skip


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return build_demo_site(tmp_path_factory.mktemp("site"))


def product_page(site: dict[str, str], needle: str) -> str:
    """The product page whose heading contains ``needle`` (escaped as the page shows it)."""
    (html,) = [
        html
        for path, html in site.items()
        if path.startswith("products/") and re.search(r"<h1>[^<]*" + re.escape(needle), html)
    ]
    return html


def test_site_has_every_page_type(site: dict[str, str]) -> None:
    products = sorted(p for p in site if p.startswith("products/"))
    assert len(products) == 3
    assert {"index.html", "disclosure.html", "404.html", "methodology.html", "changes.html",
            "category/inversion-tables/index.html", "category/back-stretchers/index.html", "sitemap.xml",
            "robots.txt", "_redirects", "api/products.json"} <= set(site)  # fmt: skip
    # One comparison for the two inversion tables; the stretcher has no rival.
    assert [p for p in site if p.startswith("compare/")] == [
        "compare/gtin-4006381333931-vs-mpn-acme-it2.html"
    ]
    assert {f"embed/{p.removeprefix('products/')}" for p in products} < set(site)
    assert "embed/inversion-tables.html" in site
    assert all(re.fullmatch(r"products/[a-z0-9-]+\.html", p) for p in products)


def test_planted_markup_is_escaped_on_every_page(site: dict[str, str]) -> None:
    for path, html in site.items():
        assert SCRIPT not in html, path
        assert "<svg" not in html, path
        assert "javascript:" not in html, path
    stretcher = product_page(site, "Back Stretcher")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Back Stretcher" in stretcher
    assert "&#34;&gt;&lt;svg onload=alert(1)&gt;" in stretcher
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Back Stretcher" in site["index.html"]


def test_store_links_are_rel_nofollow_and_affiliate_ones_sponsored(site: dict[str, str]) -> None:
    table = product_page(site, "Teeter EP-960")
    links = store_links(table)
    hrefs = [a["href"] for a in links]
    # The plain store's javascript: URL is gone; the other two stores link, tagged.
    assert hrefs == [
        "https://spine-shop.example/products/ep-960?ref=backrank",
        "https://www.amazon.com/dp/B000000001?tag=backrank-20",
    ]
    for html in site.values():
        for link in store_links(html):
            rel = (link.get("rel") or "").split()
            assert "nofollow" in rel and "noopener" in rel
            # Only the store without an affiliate program links without "sponsored".
            assert ("sponsored" in rel) == ("plain.example" not in (link["href"] or "")), link
    # A query string already on the URL gets the ref appended with "&".
    assert affiliate_hrefs(product_page(site, "Back Stretcher")) == [
        "https://spine-shop.example/products/arc?color=blue&ref=backrank"
    ]


def test_disclosure_is_on_every_page_above_the_first_affiliate_link(site: dict[str, str]) -> None:
    catalog_disclosure = "We may earn a commission when you buy through links on this site."
    for path, html in site.items():
        if not path.endswith(".html"):
            continue
        assert catalog_disclosure in html, path
        hrefs = affiliate_hrefs(html)
        if hrefs:
            assert html.index(catalog_disclosure) < link_position(html, hrefs[0]), path


def test_amazon_sentence_where_amazon_links_are(site: dict[str, str]) -> None:
    amazon = "As an Amazon Associate I earn from qualifying purchases."
    for path, html in site.items():
        has_amazon_link = any("amazon.com" in href for href in affiliate_hrefs(html))
        if has_amazon_link:
            assert html.index(amazon) < link_position(html, "https://www.amazon.com/dp/"), path
            # Every Amazon link says it is paid, right beside it.
            assert html.count("(paid link)") == html.count('href="https://www.amazon.com/'), path
        elif path != "disclosure.html" and not path.startswith("go/"):
            assert amazon not in html, path
    assert amazon in site["disclosure.html"]


def test_home_has_top_picks_and_the_full_ranking(site: dict[str, str]) -> None:
    home = site["index.html"]
    picks = home.index('id="inversion-tables"'), home.index('id="back-stretchers"')
    assert picks[0] < picks[1]  # catalog order
    assert "Teeter EP-960" in home[picks[0] : picks[1]]
    table = home[home.index('id="ranking-all"') :]
    assert table.index("Teeter EP-960") < table.index("Budget Inversion Table")
    assert table.index("Budget Inversion Table") < table.index("Back Stretcher")
    assert '$289.00 <span class="store">at plain-store</span>' in table  # lowest in stock
    assert "$329.99" not in home
    assert "Top picks" in home
    assert "Demo data." in home
    category = site["category/inversion-tables/index.html"]
    assert category.index("Teeter EP-960") < category.index("Budget Inversion Table")
    assert "Back Stretcher" not in category


def test_stale_prices_are_not_shown_as_current(site: dict[str, str]) -> None:
    page = product_page(site, "Budget Inversion Table")
    # Only the labelled history (low / median / high seen) may show the old price.
    current = page.split('<table class="price-summary">')[0]
    assert "$149.00" not in current
    assert "Price not current" in page
    assert (
        "$149.00" not in page.split('<table class="price-summary">')[1].split("</td>")[0]
    )  # "Now"
    assert "$149.00" not in site["index.html"]
    assert "2024-06-20 09:00 UTC" in page  # when the price was seen


def test_money_never_shows_zero_for_unknown() -> None:
    assert money(Decimal("1299.5"), "USD") == "$1,299.50"
    assert money(Decimal("8.33"), "EUR") == "€8.33"
    assert money(Decimal("19.90"), "CHF") == "19.90 CHF"
    assert money(None, "USD") == "—"
    assert money(Decimal("0"), "USD") == "—"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://shop.example/p?a=1", "https://shop.example/p?a=1"),
        ("javascript:alert(1)", None),
        (" JavaScript:alert(1)", None),
        ("java\nscript:alert(1)", None),
        ("data:text/html,<script>alert(1)</script>", None),
        ("//shop.example/p", None),
        ("http:///nohost", None),
        (None, None),
    ],
)
def test_only_http_urls_are_linked(url: str | None, expected: str | None) -> None:
    assert safe_http_url(url) == expected


def test_slugs_are_safe_unique_and_stable() -> None:
    ids = ["gtin-4006381333931", "../../etc/passwd", "GTIN-4006381333931", "x" * 200, "ü"]
    slugs = product_slugs(ids)
    assert len(set(slugs.values())) == len(ids)
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", s) and len(s) <= 80 for s in slugs.values())
    assert slugs == product_slugs(reversed(ids))
    assert slugify("../../etc/passwd") == "etc-passwd"


def test_writer_rejects_paths_escaping_the_site(tmp_path: Path) -> None:
    for bad in ["../evil.html", "/etc/evil.html", "a/../../evil.html", "C:/evil.html", "a\\b.html"]:
        with pytest.raises(UnsafePathError):
            write_site({bad: "x"}, tmp_path / "site")
    assert not (tmp_path / "evil.html").exists()
    assert not (tmp_path / "site").exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # no temp folder left behind


def test_failed_build_leaves_the_previous_site_intact(tmp_path: Path) -> None:
    site = build_demo_site(tmp_path)
    before = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert before == site["index.html"]

    # A theme whose product template is broken: rendering fails before anything is written.
    theme = tmp_path / "theme"
    theme.mkdir()
    (theme / "product.html").write_text("{{ product.no_such_field }}", encoding="utf-8")
    catalog = make_catalog(tmp_path)
    broken = replace(catalog, site=replace(catalog.site, theme_dir=theme))
    with pytest.raises(Exception, match="no_such_field"):
        build_site(broken, FrameStore(demo_offers(), broken), tmp_path / "site", now=NOW)
    assert (tmp_path / "site" / "index.html").read_text(encoding="utf-8") == before

    # A write that fails half way (an unsafe path after good ones) also leaves it intact.
    with pytest.raises(UnsafePathError):
        write_site({"index.html": "new", "../escape.html": "x"}, tmp_path / "site")
    assert (tmp_path / "site" / "index.html").read_text(encoding="utf-8") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["catalog.toml", "site", "theme"]


def test_rebuild_replaces_the_site_and_drops_removed_pages(tmp_path: Path) -> None:
    first = build_demo_site(tmp_path)
    second = build_demo_site(tmp_path, demo_offers().iloc[:3])
    assert len([p for p in first if p.startswith("products/")]) == 3
    assert len([p for p in second if p.startswith("products/")]) == 1
    root = tmp_path / "site"
    on_disk = {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and not p.relative_to(root).as_posix().startswith(("static/", "."))
    }
    assert on_disk == set(second)
    assert (tmp_path / "site" / "static" / "site.css").is_file()


def test_pages_declare_language_charset_viewport_and_csp(site: dict[str, str]) -> None:
    for path, html in documents(site).items():
        assert html.startswith('<!doctype html>\n<html lang="en">'), path
        assert '<meta charset="utf-8">' in html
        assert 'name="viewport"' in html
        assert "default-src 'self'" in html
        outside = r"<(link|script|img)[^>]+(src|href)=\"https?://(?!example\.com)"
        assert re.search(outside, html) is None
        assert all(tag in html for tag in ("<header", "<nav", "<main", "<footer"))
