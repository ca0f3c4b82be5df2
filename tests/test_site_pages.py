"""Site pages with the scoring columns present and absent: content, SEO, links, embeds, theme."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import extruct
import pandas as pd
import pytest
from helpers import load_catalog_text
from test_site_build import (
    CATALOG_TOML,
    NOW,
    FrameStore,
    anchors,
    demo_offers,
    documents,
    make_catalog,
    product_page,
)

from backrank.core.config import AffiliateProgram, Catalog
from pipelines.scoring_config import ScoringSettings
from reports.build import build_site

# Payloads that set a flag if they ever run (the browser test checks it) and show a dialog.
PAYLOADS = {
    "script": "<script>window.__xss=1;alert(1)</script>",
    "img": '<img src=x onerror="window.__xss=1;alert(1)">',
    "js_url": "javascript:window.__xss=1;alert(1)",
    "svg": '"><svg onload="window.__xss=1;alert(1)">',
}
EVIL_TITLE = f"{PAYLOADS['script']} Arc </script> {PAYLOADS['svg']} Stretcher"
EVIL_BRAND = f"{PAYLOADS['img']} {PAYLOADS['js_url']}"
EVIL_STORE_NAME = "<b>shop</b>"
TEETER = "gtin-4006381333931"
BUDGET = "mpn-acme-it2"
ARC = "mpn-arc1"
RUN_1 = "2024-06-25T09:00:00Z"


@dataclass(frozen=True, kw_only=True)
class CloakedProgram(AffiliateProgram):
    """A program with the ``cloak`` flag the catalog is about to gain (read with getattr)."""

    cloak: bool = True


def scored_products(with_scores: bool = True) -> pd.DataFrame:
    """Three products as ``pipelines.run.score`` returns them; the budget table has no extras."""
    teeter: dict[str, Any] = {
        "product_id": TEETER, "name": "Teeter EP-960 Inversion Table", "brand": "Teeter",
        "category": "inversion-tables", "subcategory": "inversion-tables", "listings": 3,
        "best_price": Decimal("289.00"), "currency": "USD", "best_store": "plain-store",
        "in_stock": True, "rating": 4.58, "review_count": 1280, "adjusted_rating": 4.52, "rank": 1,
    }  # fmt: skip
    budget: dict[str, Any] = {
        "product_id": BUDGET, "name": "Acme Budget Inversion Table", "brand": "Acme",
        "category": "inversion-tables", "subcategory": "inversion-tables", "listings": 1,
        "best_price": Decimal("149.00"), "currency": "USD", "best_store": "plain-store",
        "in_stock": True, "rating": 3.9, "review_count": 60, "adjusted_rating": 4.0, "rank": 2,
    }  # fmt: skip
    arc: dict[str, Any] = {
        "product_id": ARC, "name": EVIL_TITLE, "brand": EVIL_BRAND,
        "category": "back-stretchers", "subcategory": "back-stretchers", "listings": 1,
        "best_price": Decimal("39.95"), "currency": "USD", "best_store": "spine-shop",
        "in_stock": True, "rating": 4.1, "review_count": 35, "adjusted_rating": 4.05, "rank": 1,
    }  # fmt: skip
    if with_scores:
        teeter.update(
            trust_grade="A", trust_adjusted_rating=4.47, wilson_lower=0.87, value_score=7.1,
            composite_score=8.4,
            score_breakdown=[
                {"component": "rating", "label": "Trusted rating", "weight": 0.5, "value": 9.0,
                 "contribution": 4.5},
                {"component": "wilson", "label": "Share of happy buyers", "weight": 0.3,
                 "value": 8.7, "contribution": 2.61},
                {"component": "value", "label": "Value for money", "weight": 0.2, "value": 6.45,
                 "contribution": 1.29},
            ],
            report_card=[
                {"test": "Unverified buyers", "status": "Pass", "description": "Reviews by "
                 "people the store did not see buy it", "subset_size": 40, "share": 0.031,
                 "subset_mean": 4.6, "rest_mean": 4.58, "p_value": 0.71},
                {"test": "Burst days", "status": "Warn", "description": "Days with a rush of "
                 "reviews", "subset_size": 55, "share": 0.043, "subset_mean": 4.9,
                 "rest_mean": 4.55, "p_value": 0.03},
            ],
            store_ratings=[
                {"store": "plain-store", "reviews": 310, "rating": 4.31, "low_share": 0.152,
                 "others_rating": 4.66},
                {"store": "spine-shop", "reviews": 970, "rating": 4.9, "low_share": 0.0,
                 "others_rating": 4.31},
                {"store": EVIL_STORE_NAME, "reviews": None, "rating": None, "low_share": None,
                 "others_rating": None},
            ],
            badges=["best-overall", "best-in-inversion-tables"],
            pros=[{"aspect": "sturdiness", "label": "Sturdy frame", "count": 212, "quotes": [
                {"text": "Rock solid, no wobble at all.", "store": "spine-shop", "review_id": "s1"},
                {"text": "AMAZON QUOTE MUST NOT SHOW", "store": "amazon", "review_id": "a1"},
            ]}],
            cons=[{"aspect": "assembly", "label": "Slow assembly", "count": 41, "quotes": []}],
            specs={"max_user_weight_lb": {"value": 300, "unit": "lb", "source": "amazon"},
                   "warranty_years": {"value": 5, "unit": "years", "source": "spine-shop"}},
            rating_histogram={"1": 20, "2": 15, "3": 60, "4": 300, "5": 885},
            price_summary=[
                {"store": "spine-shop", "observed_since": RUN_1, "low": "289.00", "high": "319.00",
                 "median": "299.00", "current": "299.00", "current_at": "2024-07-02T09:00:00Z",
                 "is_current": True, "good_price": True},
            ],
        )  # fmt: skip
        arc.update(trust_grade="C", composite_score=6.2, badges=["best-in-back-stretchers"])
        budget.update(  # present but null: a product the new stages could not score
            trust_grade=None, trust_adjusted_rating=float("nan"), composite_score=float("nan"),
            score_breakdown=None, report_card=None, store_ratings=None, badges=None, pros=None,
            cons=None,
            specs=None, rating_histogram=None, price_summary=None,
        )  # fmt: skip
    return pd.DataFrame([teeter, budget, arc])


def offers_frame() -> pd.DataFrame:
    offers = demo_offers()
    offers.loc[offers["listing_id"] == 4, "title"] = EVIL_TITLE
    offers.loc[offers["listing_id"] == 4, "brand"] = EVIL_BRAND
    return offers


def offer_history() -> pd.DataFrame:
    """Two runs: last week's prices, then today's."""
    today = offers_frame()
    earlier = today.assign(fetched_at=RUN_1, run_id=1)
    earlier.loc[earlier["listing_id"] == 1, "price"] = Decimal("349.99")
    earlier.loc[earlier["listing_id"] == 2, "price"] = Decimal("319.00")
    return pd.concat([earlier, today.assign(run_id=2)], ignore_index=True)


def reviews_frame() -> pd.DataFrame:
    rows = [
        ("spine-shop", 2, "s1", 5.0, PAYLOADS["svg"], f"Great table {PAYLOADS['script']}", 12),
        ("spine-shop", 4, "s2", 4.0, PAYLOADS["img"], f"Arc works {PAYLOADS['js_url']}", 3),
        ("amazon", 1, "a1", 5.0, "Amazon title", "AMAZON REVIEW MUST NOT SHOW", 99),
    ]
    return pd.DataFrame(
        [
            {"store": s, "url": None, "review_id": r, "author": "x", "rating": rating,
             "title": title, "body": body, "date": "2024-06-30", "verified": True,
             "helpful_votes": votes, "listing_id": lid}
            for s, lid, r, rating, title, body, votes in rows
        ]
    )  # fmt: skip


def snapshots() -> pd.DataFrame:
    run1 = [
        (TEETER, "Teeter EP-960 Inversion Table", "inversion-tables", 2, "309.00"),
        (BUDGET, "Acme Budget Inversion Table", "inversion-tables", 1, "149.00"),
        ("gtin-gone", "Discontinued Hang Bar", "hanging-bars", 1, "59.00"),
    ]
    run2 = [
        (TEETER, "Teeter EP-960 Inversion Table", "inversion-tables", 1, "289.00"),
        (BUDGET, "Acme Budget Inversion Table", "inversion-tables", 2, "149.00"),
        (ARC, EVIL_TITLE, "back-stretchers", 1, "39.95"),
    ]
    return pd.DataFrame(
        [
            {"run_id": run, "product_id": p, "name": n, "subcategory": c, "rank": r,
             "composite_score": None, "best_price": price, "currency": "USD", "in_stock": True}
            for run, rows in ((1, run1), (2, run2))
            for p, n, c, r, price in rows
        ]
    )  # fmt: skip


SUMMARY = {
    "run_id": 2,
    "weights": {"rating": 0.5, "wilson": 0.3, "value": 0.2},
    "sensitivity": {"kendall_tau_min": 0.8, "kendall_tau_mean": 0.93},
}


class ScoredStore:
    """The store's read side after ``backrank score`` (with every optional read)."""

    def __init__(self, products: pd.DataFrame, *, extras: bool = True) -> None:
        self.products = products
        if extras:
            self.read_offer_history = offer_history
            self.read_scoring_summary = lambda: SUMMARY
            self.read_product_snapshots = snapshots

    def read_offers(self, latest: bool = True) -> pd.DataFrame:
        return offers_frame()

    def read_reviews(self) -> pd.DataFrame:
        return reviews_frame()

    def read_products(self) -> pd.DataFrame:
        return self.products

    def read_product_listings(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"product_id": [TEETER, TEETER, TEETER, ARC, BUDGET], "listing_id": [1, 2, 3, 4, 5]}
        )


def rich_catalog(folder: Path, extra: str = "") -> Catalog:
    """The test catalog, with the shop's program cloaking its links through /go/."""
    catalog = make_catalog(folder, "\n[scoring.trust]\nwarn_p = 0.04\n" + extra)
    shop = catalog.affiliates["shop_ref"]
    cloaked = CloakedProgram(name=shop.name, kind=shop.kind, url_template=shop.url_template,
                             params=shop.params)  # fmt: skip
    return replace(catalog, affiliates={**catalog.affiliates, "shop_ref": cloaked})


def scoring_settings(catalog: Catalog) -> ScoringSettings:
    """The settings ``pipelines.run.score`` builds from the catalog."""
    return ScoringSettings.from_scoring(catalog.scoring, categories=catalog.categories)


def build_rich_site(folder: Path, with_scores: bool = True, extras: bool = True) -> dict[str, str]:
    result = build_site(
        rich_catalog(folder), ScoredStore(scored_products(with_scores), extras=extras),
        folder / "site", now=NOW,
    )  # fmt: skip
    return {page: (result.out_dir / page).read_text(encoding="utf-8") for page in result.pages}


@pytest.fixture(scope="module")
def rich(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return build_rich_site(tmp_path_factory.mktemp("rich"))


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Before the scoring columns and the optional store reads exist."""
    return build_rich_site(tmp_path_factory.mktemp("bare"), with_scores=False, extras=False)


def visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_product_page_shows_every_scoring_part(rich: dict[str, str]) -> None:
    page = product_page(rich, "Teeter EP-960")
    text = visible_text(page)
    assert "Our score 8.4/10" in text
    assert "Review trust grade A" in text
    assert "Best overall" in text and "Best in Inversion tables" in text
    # breakdown: weights, part scores and points that add up to the score
    assert "Trusted rating 50% 9.0 4.50" in text
    assert "Value for money 20% 6.5 1.29" in text
    # report card
    assert "Burst days Days with a rush of reviews Warn 55 (4%) 4.90 4.55 p = 0.030" in text
    # each store's rating beside the others', the busiest store first; a store name is escaped
    assert "Ratings by store" in text
    assert "spine-shop 970 reviews 4.90 0% 4.31 +0.59" in text
    assert "plain-store 310 reviews 4.31 15% 4.66 −0.35" in text
    assert "&lt;b&gt;shop&lt;/b&gt;" in page and "<b>shop" not in page
    assert "&lt;b&gt;shop&lt;/b&gt; — — — — —" in text  # unknown figures as dashes, never 0
    # pros and cons; the Amazon quote is withheld (quote_reviews is off for Amazon)
    assert "Sturdy frame (212 mentions)" in text and "Rock solid, no wobble at all." in text
    assert "Slow assembly (41 mentions)" in text
    assert "AMAZON" not in text
    # specs, price summary, charts
    assert "Maximum user weight 300 lb" in text and "Warranty 5 years" in text
    assert "spine-shop $299.00 Good price $289.00 $299.00 $319.00 2024-06-25" in text
    assert page.count('<svg class="chart') == 2
    assert "885 (69%)" in page  # the 5-star bar's count
    # each store's price line: spine-shop and plain-store over the two runs; Amazon's prices
    # are shown in the offers table but never charted
    assert page.count("<polyline") == 2
    assert "Price history of Teeter EP-960 Inversion Table by store" in page
    chart = page[page.index('<svg class="chart price-history"') :].split("</svg>")[0]
    assert "spine-shop" in chart and "amazon" not in chart
    # reviews from quotable stores, escaped
    assert "Great table &lt;script&gt;window.__xss=1;alert(1)&lt;/script&gt;" in page


def test_absent_and_null_scoring_columns_degrade_cleanly(
    rich: dict[str, str], bare: dict[str, str]
) -> None:
    budget = product_page(rich, "Acme Budget")
    for heading in ("How the score adds up", "report card", "Specifications", "Our score",
                    "Ratings by store",
                    "What reviewers like", "Review trust grade"):  # fmt: skip
        assert heading not in budget
    for site in (rich, bare):
        for path, html in documents(site).items():
            text = visible_text(html)
            for junk in (r"\bnan\b", r"\bNone\b", r"\bNaN\b", r"\$0\.00", r"(?<![\d,])0 reviews",
                         r"\[\]", r"\{\}"):  # fmt: skip
                assert not re.search(junk, text), (path, junk)
    teeter = product_page(bare, "Teeter EP-960")
    assert "Our score" not in teeter and "<svg" not in teeter
    assert "4.5 out of 5" in visible_text(teeter)
    # without a summary or snapshots the pages say so instead of failing
    assert "only one refresh so far" in bare["changes.html"]
    assert "No composite weights are configured yet" in bare["methodology.html"]
    assert (
        "Trust"
        not in visible_text(bare["index.html"])
        .split("Top 10 of every ranking")[1]
        .split("Stock")[0]
    )


def test_charts_hold_only_numbers_and_escaped_labels(rich: dict[str, str]) -> None:
    for html in documents(rich).values():
        for svg in re.findall(r"<svg class=\"chart.*?</svg>", html, flags=re.S):
            for name, value in re.findall(r'\s([a-z-]+)="([^"]*)"', svg):
                if name in ("x", "y", "x1", "x2", "y1", "y2", "cx", "cy", "r", "width", "height"):
                    assert re.fullmatch(r"-?\d+(\.\d+)?", value), (name, value)
                if name == "points":
                    assert re.fullmatch(r"[\d., -]+", value)
            assert not re.search(r"<[^>]*\son\w+=", svg)  # no event handler attributes


def jsonld_items(html: str, url: str) -> list[dict[str, Any]]:
    return extruct.extract(html, base_url=url, syntaxes=["json-ld"], errors="strict")["json-ld"]


def test_json_ld_product_offers_editorial_review_and_breadcrumbs(rich: dict[str, str]) -> None:
    page = product_page(rich, "Teeter EP-960")
    items = jsonld_items(page, "https://example.com/products/x.html")
    product = next(i for i in items if i["@type"] == "Product")
    assert product["name"] == "Teeter EP-960 Inversion Table"
    # Amazon's price is shown only with its stamp and disclaimer, which structured data lacks
    assert {o["seller"]["name"] for o in product["offers"]} == {"spine-shop"}
    assert {o["price"] for o in product["offers"]} == {"299.00"}
    assert all(o["priceCurrency"] == "USD" for o in product["offers"])
    review = product["review"]
    assert review["author"] == {"@type": "Organization", "name": "Back Pain Picks",
                                "url": "https://example.com/"}  # fmt: skip
    assert review["reviewRating"]["ratingValue"] == "8.4"
    assert "aggregateRating" not in json.dumps(items)
    crumbs = next(i for i in items if i["@type"] == "BreadcrumbList")
    assert [c["item"] for c in crumbs["itemListElement"]] == [
        "https://example.com/", "https://example.com/category/inversion-tables/",
        f"https://example.com/products/{TEETER}.html",
    ]  # fmt: skip


def test_json_ld_survives_a_closing_script_tag_in_a_title(rich: dict[str, str]) -> None:
    page = product_page(rich, "&lt;script&gt;window")
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    assert len(blocks) == 2  # the title's "</script>" did not end a block early
    assert all("<" not in block and ">" not in block for block in blocks)
    product = next(i for i in jsonld_items(page, "https://example.com/") if i["@type"] == "Product")
    assert product["name"] == EVIL_TITLE  # escaped for HTML, exact as data


def test_canonical_opengraph_sitemap_and_robots(rich: dict[str, str]) -> None:
    sitemap = re.findall(r"<loc>(.*?)</loc>", rich["sitemap.xml"])
    pages = documents(rich)
    for path, html in pages.items():
        canonical = re.search(r'<link rel="canonical" href="([^"]+)"', html)
        if path == "404.html":
            assert canonical is None and 'content="noindex"' in html
            continue
        assert canonical is not None, path
        url = "https://example.com/" + path.removesuffix("index.html")  # folders served as ``x/``
        assert canonical.group(1) == url and url in sitemap, path
        assert f'<meta property="og:url" content="{url}">' in html
        assert '<meta property="og:title"' in html and 'name="description"' in html
    assert len(sitemap) == len(pages) - 1
    assert not any("/go/" in u or "/embed/" in u for u in sitemap)
    assert "Sitemap: https://example.com/sitemap.xml" in rich["robots.txt"]
    assert "Disallow: /go/" in rich["robots.txt"]


def test_cloaked_links_go_through_static_redirects(rich: dict[str, str]) -> None:
    teeter = product_page(rich, "Teeter EP-960")
    hrefs = [a["href"] for a in anchors(teeter) if "sponsored" in (a.get("rel") or "")]
    go = f"../go/{TEETER}-spine-shop/"
    assert hrefs == [go, "https://www.amazon.com/dp/B000000001?tag=backrank-20"]  # no Amazon cloak
    target = "https://spine-shop.example/products/ep-960?ref=backrank"
    redirect = rich[f"go/{TEETER}-spine-shop/index.html"]
    assert f'<meta http-equiv="refresh" content="0; url={target}">' in redirect
    assert f'<link rel="canonical" href="{target}">' in redirect
    assert 'name="robots" content="noindex, nofollow"' in redirect
    assert f"/go/{TEETER}-spine-shop/ {target} 302" in rich["_redirects"].splitlines()
    assert len(rich["_redirects"].splitlines()) == 2  # the table and the stretcher at spine-shop


def test_methodology_comes_from_the_config_and_summary(
    rich: dict[str, str], tmp_path: Path
) -> None:
    text = visible_text(rich["methodology.html"])
    assert "as if it had 10 extra reviews" in text
    assert "rating 0.5" in text and "wilson 0.3" in text and "value 0.2" in text
    assert "kendall_tau_min 0.8" in text
    assert "p-value below which a test warns 0.04" in text  # the catalog's [scoring.trust]
    assert "p-value below which a test fails 0.01" in text  # the default
    assert "A at least 95% of reviews kept" in text
    assert "trust.warn_p" not in text  # shown once, labelled, not again as a raw key
    # an Amazon program is configured: the page says Amazon's data is shown, not analysed
    assert "Amazon's star ratings and reviews are not collected" in text
    assert "feed no score, badge, price summary or chart" in text
    other = build_site(
        replace(rich_catalog(tmp_path), scoring=replace(rich_catalog(tmp_path).scoring,
                prior_strength=25.0)),
        ScoredStore(scored_products()), tmp_path / "site", now=NOW,
    )  # fmt: skip
    changed = (other.out_dir / "methodology.html").read_text(encoding="utf-8")
    assert "as if it had 25 extra reviews" in changed


STRICT_GRADES = (
    '[scoring.trust]\ngrade_bounds = [["A", 0.99], ["B", 0.9], ["C", 0.75], ["D", 0.6]]\n'
)


@pytest.mark.parametrize(
    ("scoring", "min_reviews"),
    [
        ("[scoring]\nprior_strength = 10\n", 10),  # the badges' default
        ("[scoring]\nprior_strength = 10\nmin_reviews = 25\n", 25),
    ],
)
def test_methodology_states_the_figures_scoring_uses(
    tmp_path: Path, scoring: str, min_reviews: int
) -> None:
    """Regression (#11): the page said min_reviews 0 while badges used 10, and "A at least
    95%" while the catalog's own grade_bounds made scoring grade A at 99%."""
    text = CATALOG_TOML.replace("[scoring]\nprior_strength = 10\n", scoring) + STRICT_GRADES
    catalog = load_catalog_text(tmp_path, text)
    result = build_site(catalog, FrameStore(demo_offers(), catalog), tmp_path / "site", now=NOW)
    page = visible_text((result.out_dir / "methodology.html").read_text(encoding="utf-8"))
    assert "A at least 99% of reviews kept" in page
    assert "D at least 60% of reviews kept" in page and "F under 60% kept" in page
    assert "95%" not in page
    assert f"at least {min_reviews} reviews to win a badge" in page
    # ... and those are the figures the scorer reads from the same catalog
    settings = scoring_settings(catalog)
    assert settings.trust.grade_bounds[0] == ("A", 0.99)
    assert settings.badges.min_reviews == min_reviews


def test_methodology_before_any_run_shows_the_weights_scoring_will_use(tmp_path: Path) -> None:
    weights = "[scoring.weights]\nrating = 2\nwilson = 1\nvalue = 1\nvolume = 0\ntrust = 0\n"
    catalog = load_catalog_text(tmp_path, CATALOG_TOML + weights)
    result = build_site(catalog, FrameStore(demo_offers(), catalog), tmp_path / "site", now=NOW)
    page = visible_text((result.out_dir / "methodology.html").read_text(encoding="utf-8"))
    assert "rating 0.5 trust 0 value 0.25 volume 0 wilson 0.25" in page  # not "rating 2"
    assert scoring_settings(catalog).weights["rating"] == 0.5


def test_what_changed_lists_new_gone_price_and_rank_moves(rich: dict[str, str]) -> None:
    text = visible_text(rich["changes.html"])
    assert "New products (1)" in text and "&lt;script&gt;" in rich["changes.html"]
    assert "No longer found (1) No longer found Product Rank before Rank now Price before " \
           "Price now Discontinued Hang Bar 1 — $59.00 —" in text  # fmt: skip
    assert "Price moves (1)" in text and "Teeter EP-960 Inversion Table 2 1 $309.00 $289.00" in text
    assert "Rank moves (2)" in text


def test_feed_lists_products_and_offers(rich: dict[str, str]) -> None:
    feed = json.loads(rich["api/products.json"])
    assert [p["id"] for p in feed["products"]] == [TEETER, BUDGET, ARC]
    teeter = feed["products"][0]
    assert teeter["best_price"] == "289.00" and teeter["trust_grade"] == "A"
    assert {o["store"]: o["price"] for o in teeter["offers"]} == {
        "plain-store": "289.00", "spine-shop": "299.00", "amazon": "329.99"}  # fmt: skip
    assert feed["products"][1]["best_price"] is None  # stale: not published as current
    assert feed["products"][2]["name"] == EVIL_TITLE
    assert "<" not in rich["api/products.json"]


def test_embeds_are_scoped_script_free_and_disclosed(rich: dict[str, str]) -> None:
    embeds = {p: h for p, h in rich.items() if p.startswith("embed/")}
    assert set(embeds) == {"embed/inversion-tables.html", "embed/back-stretchers.html",
                           f"embed/{TEETER}.html", f"embed/{BUDGET}.html", f"embed/{ARC}.html"}  # fmt: skip
    for path, html in embeds.items():
        assert html.startswith('<div class="brk-embed">') and "<script" not in html, path
        css = re.search(r"<style>(.*?)</style>", html, re.S).group(1)  # type: ignore[union-attr]
        selectors = [s.strip() for rule in re.findall(r"([^{}]+)\{", css) for s in rule.split(",")]
        assert selectors and all(s.startswith(".brk-embed") for s in selectors), path
        assert "We may earn a commission" in html
        assert not re.search(r'(src|href)="(?!https?://)', html)  # absolute links only
        assert not re.search(r"<(img|link|iframe)", html)
        for link in anchors(html):
            href = link["href"] or ""
            if "spine-shop" in href or "amazon" in href or "/go/" in href:
                assert link["rel"] == "sponsored nofollow noopener", link
            elif "example.com" not in href:
                assert link["rel"] == "nofollow noopener", link
    teeter = embeds[f"embed/{TEETER}.html"]
    assert "$289.00 at plain-store" not in teeter  # plain-store's javascript: URL gave no link
    assert "$299.00 at spine-shop" in teeter and "Price as of 2024-07-02 09:00 UTC" in teeter
    assert "(paid link)" in teeter and "As an Amazon Associate" in teeter
    assert 'Trust grade <span class="brk-grade">A</span>' in teeter


def test_theme_templates_and_static_files_take_precedence(tmp_path: Path) -> None:
    theme = tmp_path / "theme"
    (theme / "static").mkdir(parents=True)
    (theme / "_pick_card.html").write_text(
        '<p class="themed-pick">Themed: {{ product.name }}</p>\n', encoding="utf-8"
    )
    (theme / "static" / "site.css").write_text("body { color: #123456; }\n", encoding="utf-8")
    catalog = rich_catalog(tmp_path)
    themed = replace(catalog, site=replace(catalog.site, theme_dir=theme))
    result = build_site(themed, ScoredStore(scored_products()), tmp_path / "site", now=NOW)
    home = (result.out_dir / "index.html").read_text(encoding="utf-8")
    assert '<p class="themed-pick">Themed: Teeter EP-960 Inversion Table</p>' in home
    assert (result.out_dir / "static" / "site.css").read_text() == "body { color: #123456; }\n"
    assert (result.out_dir / "static" / "site.js").is_file()  # bundled files still there


def test_incremental_rebuild_keeps_unchanged_files(tmp_path: Path) -> None:
    catalog = rich_catalog(tmp_path)
    first = build_site(catalog, ScoredStore(scored_products()), tmp_path / "site", now=NOW)
    root = first.out_dir
    before = {p: os.stat(root / p) for p in first.pages}
    # the same data an hour later: nothing to re-render but the pages that show the build time
    later = NOW.replace(hour=13)
    same = build_site(catalog, ScoredStore(scored_products()), root, now=later)
    assert same.rendered <= 2 + 3  # home, changes; robots, _redirects, feed
    after = {p: os.stat(root / p) for p in same.pages}
    unchanged = [
        p for p in same.pages if p not in ("index.html", "changes.html", "api/products.json")
    ]
    for path in unchanged:
        assert after[path].st_ino == before[path].st_ino, path
        assert after[path].st_mtime_ns == before[path].st_mtime_ns, path
    # one product's score moves: its page, its embed and the listings that show it change
    products = scored_products()
    products.loc[products["product_id"] == ARC, "composite_score"] = 6.9
    moved = build_site(catalog, ScoredStore(products), root, now=later)
    changed = {p for p in moved.pages if os.stat(root / p).st_ino != after[p].st_ino}
    assert {f"products/{ARC}.html", "index.html", "category/back-stretchers/index.html"} <= changed
    assert f"products/{TEETER}.html" not in changed and f"embed/{TEETER}.html" not in changed
    assert "6.9/10" in (root / "category/back-stretchers/index.html").read_text(encoding="utf-8")
    assert f"embed/{ARC}.html" in changed


def test_slugs_stay_put_when_other_products_come_and_go() -> None:
    from reports.context import product_slugs

    alone = product_slugs(["gtin-1", "mpn-x"])
    crowded = product_slugs(["gtin-1", "mpn-x", "GTIN-1", "gtin:1", "inversion-tables"],
                            reserved=["inversion-tables"])  # fmt: skip
    assert crowded["mpn-x"] == alone["mpn-x"]
    assert len(set(crowded.values())) == 5 and crowded["inversion-tables"] != "inversion-tables"
    assert crowded == product_slugs(reversed(list(crowded)), reserved=["inversion-tables"])


def test_generated_at_does_not_leak_into_product_pages(rich: dict[str, str]) -> None:
    stamp = NOW.strftime("%Y-%m-%d %H:%M UTC")
    assert stamp in rich["index.html"]
    assert stamp not in product_page(rich, "Teeter EP-960")
