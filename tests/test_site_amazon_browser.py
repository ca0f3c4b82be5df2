"""Amazon's Associates rules on the built demo site, read in Chromium, on every page type.

The demo marketplace is crawled twice: with the demo Creators API's credentials (Amazon's
listings from the API) and without (link-only). Three sites are built and served: fresh API
data, the same store scored and built 25 hours later (every Amazon price stale), and the
link-only store. On every page (home, categories, products, comparisons, embeds, the JSON
feed): an Amazon price only from the API, under 24 hours, with its date/time stamp and Amazon's
disclaimer beside it; otherwise "Check the price on Amazon"; Amazon links direct and tagged
with "(paid link)" beside them and the Associates sentence on the page; no Amazon image, star
rating or review text; the product page says its grade and ratings come from the other
stores; a product known only from Amazon is listed, not ranked.
"""

from __future__ import annotations

import json
import math
import re
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
from browser import chromium, served

from backrank.app.demo import amazon_credentials_env
from backrank.core import amazon_rules
from backrank.core.config import is_amazon_host, load_catalog
from backrank.core.store import Store
from backrank.marketplace import Marketplace
from pipelines.rescore import current_reviews, live_offers, score_store
from pipelines.run import score
from reports.build import build_site
from spiders.crawl import run_crawl_subprocess

pytestmark = pytest.mark.browser

SEED, SCALE = 7, 6
AMAZON_STORE = "demo-amazon"
TAG = "backrank-demo-20"
ASSOCIATES = "As an Amazon Associate I earn from qualifying purchases."
LATER = timedelta(hours=25)  # past Amazon's 24 hours
# What a page shows of Amazon, as the browser laid it out.
PROBE = """() => {
  const amazonHost = h => /(^|\\.)amazon\\.[a-z.]+$|(^|\\.)amzn\\.(to|com)$/.test(h);
  const links = [];
  for (const a of document.querySelectorAll('a[href]')) {
    if (!amazonHost(new URL(a.href, location.href).hostname)) continue;
    let after = '', node = a.nextSibling;
    while (node && !after.trim()) { after += node.textContent; node = node.nextSibling; }
    links.push({href: a.getAttribute('href'), text: a.innerText.trim(), after: after.trim(),
                rel: a.rel});
  }
  // Amazon's disclaimer beside each price: in the same element, or in the table row right
  // below the price's row (the where-to-buy table)
  const disclaimerOf = el => {
    const inside = el.querySelector('.amazon-disclaimer');
    if (inside) return inside.innerText;
    const row = el.closest('tr'), next = row && row.nextElementSibling;
    const below = next && next.querySelector('.amazon-disclaimer');
    return below ? below.innerText : null;
  };
  const prices = [...document.querySelectorAll('.amazon-price')].map(el => ({
    text: el.innerText,
    stamp: (el.querySelector('.amazon-stamp') || {}).innerText || null,
    disclaimer: disclaimerOf(el),
  }));
  const rows = [...document.querySelectorAll('.offers-table tbody tr:not(.amazon-disclaimer-row)')].map(tr => ({
    store: tr.querySelector('th').innerText.trim(),
    cells: [...tr.querySelectorAll('td')].map(td => td.innerText.trim()),
  }));
  const images = [...document.querySelectorAll('[src],[srcset],[poster]')]
    .map(el => el.getAttribute('src') || el.getAttribute('srcset') || el.getAttribute('poster'));
  const section = sel => [...document.querySelectorAll(sel)].map(e => e.innerText).join('\\n');
  return {links, prices, rows, images, text: document.body ? document.body.innerText : '',
          quotes: section('.reviews, .review, blockquote'), glance: section('.rating-summary'),
          charts: section('.charts') + [...document.querySelectorAll('.charts svg')]
            .map(svg => svg.outerHTML).join('')};
}"""
STAMP = re.compile(r"as of (\d{4}-\d{2}-\d{2} \d{2}:\d{2}) UTC")


@dataclass(frozen=True)
class BuiltSite:
    mode: str  # fresh | stale | link-only
    folder: Path
    built_at: datetime
    db: Path


def crawl(folder: Path, mode: str) -> tuple[Path, Path]:
    """Crawl the demo marketplace with the Creators API ("api") or without ("link-only");
    returns the catalog and the store."""
    db, catalog = folder / f"{mode}.db", folder / f"{mode}.toml"
    with Marketplace(seed=SEED, scale=SCALE).start(port=0) as market:
        catalog.write_text(market.demo_catalog_text(db=str(db)), encoding="utf-8")
        with amazon_credentials_env(mode):
            result = run_crawl_subprocess(catalog, db, quiet=True, timeout=180)
    assert result.status == "ok" and result.errors == 0, result
    return catalog, db


def build(catalog_path: Path, db: Path, out: Path, now: datetime, mode: str) -> BuiltSite:
    """Score and build the store as a refresh at ``now`` would."""
    catalog = load_catalog(catalog_path)
    with Store.open(db) as store:
        score_store(store, catalog, now=now, full=True)
        build_site(catalog, store, out, now=now)
    return BuiltSite(mode, out, now, db)


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> dict[str, BuiltSite]:
    folder = tmp_path_factory.mktemp("amazon-site")
    api_catalog, api_db = crawl(folder, "api")
    link_catalog, link_db = crawl(folder, "link-only")
    now = datetime.now(UTC)
    built = {
        "fresh": build(api_catalog, api_db, folder / "fresh", now, "fresh"),
        "link-only": build(link_catalog, link_db, folder / "link-only", now, "link-only"),
    }
    # the stale site last: its scoring at now + 25 h rewrites the API store's products
    built["stale"] = build(api_catalog, api_db, folder / "stale", now + LATER, "stale")
    return built


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as launched:
        yield launched


def pages_of(site: Path) -> list[str]:
    """Every page type: home, categories, products, comparisons, embeds (not /go/ redirects)."""
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    return [p for p in pages if not p.startswith("go/")]


def visit_all(browser, site: BuiltSite) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    """Each page's probe, loaded in Chromium; the browser may ask nothing of other hosts."""
    seen: dict[str, dict] = {}
    requested: list[str] = []
    with served(site.folder) as origin:
        page = browser.new_page()
        page.on("request", lambda r: requested.append(r.url))
        page.route(lambda url: urlsplit(url).hostname != "127.0.0.1", lambda r: r.abort())
        for path in pages_of(site.folder):
            page.goto(f"{origin}/{path}")
            page.wait_for_load_state("load")
            seen[path] = page.evaluate(PROBE)
        with urllib.request.urlopen(f"{origin}/api/products.json") as response:
            seen["api/products.json"] = json.loads(response.read())
        page.close()
    assert {urlsplit(url).hostname for url in requested} == {"127.0.0.1"}, site.mode
    return seen


@pytest.fixture(scope="module")
def probes(browser, sites: dict[str, BuiltSite]) -> dict[str, dict[str, dict]]:  # type: ignore[no-untyped-def]
    return {mode: visit_all(browser, site) for mode, site in sites.items()}


def html_pages(probes: dict[str, dict]) -> dict[str, dict]:
    return {path: probe for path, probe in probes.items() if path.endswith(".html")}


def kinds(paths: list[str]) -> set[str]:
    return {p.split("/")[0] if "/" in p else p for p in paths}


@pytest.mark.parametrize("mode", ["fresh", "stale", "link-only"])
def test_every_page_type_is_checked(probes: dict[str, dict[str, dict]], mode: str) -> None:
    pages = list(probes[mode])
    assert {"index.html", "category", "products", "compare", "embed", "api"} <= kinds(pages)
    linked = [p for p, probe in html_pages(probes[mode]).items() if probe["links"]]
    # Amazon links stand on product pages, comparisons or embeds of every site
    assert {"products", "embed"} <= kinds(linked), linked


@pytest.mark.parametrize("mode", ["fresh", "stale", "link-only"])
def test_amazon_links_are_direct_tagged_and_paid(
    probes: dict[str, dict[str, dict]], mode: str
) -> None:
    for path, probe in html_pages(probes[mode]).items():
        for link in probe["links"]:
            url = urlsplit(link["href"])
            assert url.scheme == "https" and is_amazon_host(url.hostname or ""), (path, link)
            assert parse_qs(url.query).get("tag") == [TAG], (path, link)  # direct, no /go/
            assert link["after"].startswith("(paid link)"), (path, link)
            assert "sponsored" in link["rel"], (path, link)
        if probe["links"]:
            assert ASSOCIATES in probe["text"], path


def amazon_offer_rows(probe: dict) -> list[dict]:
    return [row for row in probe["rows"] if row["store"] == AMAZON_STORE]


def test_fresh_amazon_prices_carry_their_stamp_and_disclaimer(
    probes: dict[str, dict[str, dict]], sites: dict[str, BuiltSite]
) -> None:
    built_at = sites["fresh"].built_at
    shown = 0
    for path, probe in html_pages(probes["fresh"]).items():
        for price in probe["prices"]:
            shown += 1
            assert price["stamp"] and price["disclaimer"], (path, price)
            assert price["disclaimer"].endswith(amazon_rules.PRICE_DISCLAIMER), price
            stamp = STAMP.search(price["stamp"])
            assert stamp, price
            moment = datetime.strptime(stamp.group(1), "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
            assert timedelta(0) <= built_at - moment < timedelta(hours=24), (path, price)
            assert re.match(r"\$\d", price["text"]), price
        for row in amazon_offer_rows(probe):
            # the where-to-buy row: the price with its stamp (its disclaimer right below)
            assert "$" in row["cells"][0] and STAMP.search(row["cells"][0]), row
    assert shown >= 3  # the demo's three Amazon listings, each on its product page


@pytest.mark.parametrize("mode", ["stale", "link-only"])
def test_stale_or_link_only_amazon_offers_show_no_price(
    probes: dict[str, dict[str, dict]], mode: str
) -> None:
    rows = 0
    for path, probe in html_pages(probes[mode]).items():
        assert probe["prices"] == [], path
        assert amazon_rules.PRICE_DISCLAIMER not in probe["text"], path
        for row in amazon_offer_rows(probe):
            rows += 1
            price, stock, as_of, link = row["cells"]
            assert "$" not in price and "$" not in as_of, (path, row)
            assert stock == "Stock unknown", (path, row)  # no Amazon availability either
            assert link.startswith(amazon_rules.LINK_ONLY_LABEL), (path, row)
        for link in probe["links"]:
            assert "$" not in link["text"], (path, link)
    assert rows >= 3


def test_feed_publishes_amazon_prices_only_fresh_and_disclaimed(
    probes: dict[str, dict[str, dict]], sites: dict[str, BuiltSite]
) -> None:
    for mode, site in sites.items():
        feed = probes[mode]["api/products.json"]
        amazon = [o for p in feed["products"] for o in p["offers"] if o["store"] == AMAZON_STORE]
        assert len(amazon) >= 3, mode
        for offer in amazon:
            url = urlsplit(offer["url"])
            assert is_amazon_host(url.hostname or "") and parse_qs(url.query)["tag"] == [TAG]
            if mode != "fresh":
                assert offer["link_only"] and offer["price"] is None, (mode, offer)
                assert offer["price_as_of"] is None and offer["availability"] == "unknown"
                continue
            assert offer["price"] and not offer["link_only"], offer
            assert offer["price_disclaimer"] == amazon_rules.PRICE_DISCLAIMER
            stamp = datetime.fromisoformat(offer["price_as_of"].replace("Z", "+00:00"))
            assert timedelta(0) <= site.built_at - stamp < timedelta(hours=24)
        # Amazon's price never becomes a product's best price (shown, not analysed)
        for product in feed["products"]:
            others = {o["price"] for o in product["offers"] if o["store"] != AMAZON_STORE}
            assert product["best_price"] is None or product["best_price"] in others, product


def test_no_amazon_image_is_stored_or_shown(
    probes: dict[str, dict[str, dict]], sites: dict[str, BuiltSite]
) -> None:
    for mode, site in sites.items():
        stored = [p for p in site.folder.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg",
                  ".png", ".webp", ".gif", ".avif")]  # fmt: skip
        assert stored == [], mode
        for path, probe in html_pages(probes[mode]).items():
            assert [s for s in probe["images"] if "/images/I/" in s or "amazon" in s] == [], path
        assert "/images/I/" not in json.dumps(probes[mode]["api/products.json"])
    # scored 25 hours later, the store keeps no Amazon price, stock or image link
    with Store.open(sites["stale"].db) as store:
        history = store.read_offer_history()
    amazon = history[history["store"] == AMAZON_STORE]
    assert len(amazon) >= 3
    assert amazon[["price", "availability", "image_url"]].isna().all().all()


def test_no_amazon_stars_or_quotes_and_product_pages_say_so(
    probes: dict[str, dict[str, dict]], sites: dict[str, BuiltSite]
) -> None:
    with Store.open(sites["fresh"].db) as store:
        reviews = store.read_reviews()
        offers = store.read_offers()
    assert reviews[reviews["store"] == AMAZON_STORE].empty  # never collected
    amazon = offers[offers["store"] == AMAZON_STORE]
    assert amazon["rating"].isna().all() and amazon["review_count"].isna().all()
    for mode in sites:
        for path, probe in html_pages(probes[mode]).items():
            assert AMAZON_STORE not in probe["quotes"], path
            # no Amazon price line, summary row or badge from Amazon's prices
            assert AMAZON_STORE not in probe["charts"], path
            if path.startswith("products/") and amazon_offer_rows(probe):
                assert amazon_rules.RATINGS_NOTE in probe["glance"], path
                assert "Best price at other stores" in probe["glance"], path


def plain(value: object) -> object:
    """A stored or scored value in one comparable form (missing: None; numbers rounded)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return round(float(value), 6)
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def test_trust_and_ratings_come_from_other_stores_only(sites: dict[str, BuiltSite]) -> None:
    """Scoring the fresh store's inputs without its Amazon listings gives every product sold
    on Amazon and elsewhere the rating, review count, trust grade, pros and cons and best
    price the site published."""
    site = sites["fresh"]  # its store, as last scored (25 hours later: same reviews)
    catalog = load_catalog(site.db.with_suffix(".toml"))
    with Store.open(site.db) as store:
        published = store.read_products().set_index("product_id")
        offers = live_offers(store.read_offers(latest=True))
        offers = offers.merge(store.read_listings()[["listing_id", "description"]],
                              on="listing_id", how="left")  # fmt: skip
        stored_reviews = store.read_reviews()
        membership = store.read_product_listings()
    others = offers[offers["store"] != AMAZON_STORE].reset_index(drop=True)
    alone = score(
        others, current_reviews(others, stored_reviews), categories=catalog.categories,
        catalog_scoring=catalog.scoring, previous_reviews=stored_reviews,
        now=site.built_at + LATER,
    ).products.set_index("product_id")  # fmt: skip
    amazon_listings = set(offers.loc[offers["store"] == AMAZON_STORE, "listing_id"])
    amazon_products = set(
        membership.loc[membership["listing_id"].isin(amazon_listings), "product_id"].astype(str)
    )
    mixed = sorted(set(alone.index) & set(published.index) & amazon_products)
    assert len(mixed) >= 3, mixed
    for column in ("rating", "review_count", "adjusted_rating", "trust_grade", "pros", "cons",
                   "best_price", "best_store"):  # fmt: skip
        assert [plain(published.loc[pid, column]) for pid in mixed] == [
            plain(alone.loc[pid, column]) for pid in mixed
        ], column


def test_product_known_only_from_amazon_is_listed_unranked(
    probes: dict[str, dict[str, dict]],
) -> None:
    pages = html_pages(probes["link-only"])
    alone = [
        path
        for path, probe in pages.items()
        if path.startswith("products/")
        and probe["rows"]
        and all(row["store"] == AMAZON_STORE for row in probe["rows"])
    ]
    assert alone, "the link-only demo has an Amazon listing no other store matched"
    for path in alone:
        assert amazon_rules.UNRANKED_NOTE in pages[path]["glance"], path
        assert "Not ranked" in pages[path]["glance"], path
    home = pages["index.html"]["text"]
    assert "Not ranked" in home
