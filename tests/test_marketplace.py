"""The demo marketplace over real HTTP: platform markup, truth, robots, sitemaps, reviews, scale."""

from __future__ import annotations

import http.client
import json
import statistics
import time
import tomllib
import tracemalloc
import urllib.error
import urllib.request
import urllib.robotparser
from decimal import Decimal
from urllib.parse import quote_plus, urljoin, urlsplit

import extruct
import pytest
from lxml import etree
from parsel import Selector

from backrank.core.identifiers import is_gtin
from backrank.marketplace import Marketplace
from backrank.marketplace.catalog import BRANDS, KINDS
from backrank.marketplace.response import DEMO_NOTE

STORES = ("amazon", "shopify", "woocommerce", "walmart")
REAL_BRANDS = {
    "teeter",
    "innova",
    "yoleo",
    "chirp",
    "body vision",
    "ironman",
    "stamina",
    "health mate",
    "harison",
    "relax the back",
    "posture pump",
    "ameri",
}
CATEGORIES = {
    "inversion-tables",
    "lumbar-traction",
    "cervical-traction",
    "back-stretchers",
    "decompression-belts",
    "back-wheels",
    "hanging-bars",
}
SITEMAP_NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}


@pytest.fixture(scope="module")
def market():
    with Marketplace(seed=7).start() as started:
        yield started


@pytest.fixture(scope="module")
def truth(market):
    return market.truth()


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.headers.get_content_charset() == "utf-8"
        return response.read().decode("utf-8")


def listings_of(truth: dict, store: str) -> list[dict]:
    return [row for row in truth["listings"] if row["store"] == store]


def without_ports(truth: dict) -> str:
    text = json.dumps(truth, sort_keys=True)
    for url in (*truth["store_urls"].values(), truth["creators_api_url"]):
        text = text.replace(url, "")
    return text


def test_same_seed_same_catalog_other_seed_another(truth):
    with Marketplace(seed=7).start() as again, Marketplace(seed=8).start() as other:
        assert without_ports(again.truth()) == without_ports(truth)
        other_truth = other.truth()
    assert other_truth["products"] != truth["products"]
    assert {row["title"] for row in other_truth["listings"]} != {
        row["title"] for row in truth["listings"]
    }


def test_demo_size_and_spread(truth):
    products = truth["products"]
    assert len(products) >= 30
    assert truth["review_total"] >= 5000
    assert truth["review_total"] == sum(row["review_count"] for row in truth["listings"])
    assert {p["category"] for p in products} == CATEGORIES
    for product in products:
        stores = [
            row["store"] for row in truth["listings"] if row["product_id"] == product["product_id"]
        ]
        assert 2 <= len(stores) <= 4 and len(set(stores)) == len(stores)
    assert len({p["gtin"] for p in products}) == len(products)
    assert all(is_gtin(p["gtin"]) and len(p["gtin"]) == 13 for p in products)
    shown = [row["gtin"] for row in truth["listings"] if row["gtin"]]
    assert shown and all(is_gtin(code) for code in shown)


def test_brands_are_fictional(truth):
    brands = {p["brand"] for p in truth["products"]}
    assert brands <= set(BRANDS) and len(brands) >= 6
    assert not {b.lower() for b in brands} & REAL_BRANDS


def test_each_store_words_the_same_product_differently(truth):
    by_product: dict[str, list[str]] = {}
    for row in truth["listings"]:
        by_product.setdefault(row["product_id"], []).append(row["title"])
    for titles in by_product.values():
        assert len(set(titles)) == len(titles), titles


def test_offers_vary_like_real_stores(truth):
    rows = truth["listings"]
    no_price = [r for r in rows if r["price"] is None]
    on_sale = [r for r in rows if r["list_price"] is not None]
    assert no_price and on_sale
    assert any(r["availability"] == "out_of_stock" and r["price"] for r in rows)
    assert all(r["availability"] == "out_of_stock" for r in no_price)
    assert all(Decimal(r["list_price"]) > Decimal(r["price"]) for r in on_sale)
    assert {r["store"] for r in no_price} >= {"amazon"}
    prices = {r["product_id"]: set() for r in rows}
    for r in rows:
        if r["price"]:
            prices[r["product_id"]].add(r["price"])
    assert sum(len(p) > 1 for p in prices.values()) > len(prices) // 2  # stores price apart


@pytest.mark.parametrize("store", STORES)
def test_robots_disallow_a_path_that_pages_link_to(market, truth, store):
    base = market.store_urls[store]
    robots = urllib.robotparser.RobotFileParser()
    robots.parse(fetch(base + "/robots.txt").splitlines())
    assert robots.site_maps()
    disallowed = truth["disallowed"][store]
    in_stock = next(r for r in listings_of(truth, store) if r["availability"] == "in_stock")
    page = Selector(fetch(in_stock["url"]))
    links = [urljoin(in_stock["url"], href) for href in page.css("a::attr(href)").getall()]
    trap = [link for link in links if urlsplit(link).path.startswith(disallowed)]
    assert trap, f"no link to {disallowed} on {in_stock['url']}"
    assert not robots.can_fetch("backrank", trap[0])
    assert robots.can_fetch("backrank", in_stock["url"])
    before = len(market.requested_paths)
    fetch(trap[0])  # a naive crawler gets a page there, and the request is on record
    assert market.requested_paths[before:] == [(store, trap[0][len(base) :])]


def sitemap_locs(url: str) -> list[str]:
    root = etree.fromstring(fetch(url).encode())
    if root.tag.endswith("sitemapindex"):
        return [
            loc
            for child in root.xpath("//sm:sitemap/sm:loc/text()", namespaces=SITEMAP_NS)
            for loc in sitemap_locs(child)
        ]
    return root.xpath("//sm:url/sm:loc/text()", namespaces=SITEMAP_NS)


@pytest.mark.parametrize(
    "store,path",
    [
        ("amazon", "/sitemap.xml"),
        ("shopify", "/sitemap.xml"),
        ("woocommerce", "/sitemap_index.xml"),
        ("walmart", "/sitemap.xml"),
    ],
)
def test_sitemaps_list_exactly_the_listings(market, truth, store, path):
    base = market.store_urls[store]
    robots = fetch(base + "/robots.txt")
    assert f"Sitemap: {base}{path}" in robots
    locs = sitemap_locs(base + path)
    if store == "shopify":
        assert locs[0] == base + "/"  # as real Shopify: the shop root comes first
        locs = locs[1:]
    assert sorted(locs) == sorted(r["url"] for r in listings_of(truth, store))


def money_text(value: str | None) -> str | None:
    return None if value is None else f"${Decimal(value):,.2f}"


def test_amazon_pages_carry_amazon_markup_and_truth(truth):
    for row in listings_of(truth, "amazon"):
        page = Selector(fetch(row["url"]))
        assert not page.css('script[type="application/ld+json"]')
        assert page.css("#productTitle::text").get() == row["title"]
        assert page.css("#ASIN::attr(value)").get() == row["asin"]
        assert page.css("#bylineInfo::text").re_first(r"Visit the (.+) Store")
        assert page.css(
            "#corePrice_feature_div .priceToPay .a-offscreen::text"
        ).get() == money_text(row["price"])
        was = page.css("#corePrice_feature_div .a-text-price .a-offscreen::text").get()
        assert was == money_text(row["list_price"])
        availability = page.css("#availability span::text").get()
        expected = (
            "Currently unavailable."
            if row["price"] is None
            else "In Stock"
            if row["availability"] == "in_stock"
            else "Temporarily out of stock."
        )
        assert availability == expected
        model = page.xpath('//th[contains(., "Item model number")]/following-sibling::td/text()')
        assert model.get() == row["mpn"]
        if row["review_count"]:
            assert page.css("#acrPopover::attr(title)").get() == f"{row['rating']} out of 5 stars"
            assert page.css("#acrCustomerReviewText::text").get().replace(",", "").split()[
                0
            ] == str(row["review_count"])
        link = page.css('a[data-hook="see-all-reviews-link-foot"]::attr(href)').get()
        assert link == f"/product-reviews/{row['asin']}?pageNumber=1"
        assert DEMO_NOTE in page.get()


def json_ld_product(page: Selector) -> dict | None:
    for block in page.css('script[type="application/ld+json"]::text').getall():
        data = json.loads(block)
        for node in data.get("@graph", [data]):
            if node.get("@type") == "Product":
                return node
    return None


def test_shopify_pages_and_json_agree_with_truth(market, truth):
    base = market.store_urls["shopify"]
    catalog = json.loads(fetch(base + "/products.json?limit=250"))["products"]
    assert json.loads(fetch(base + "/products.json?limit=250&page=2"))["products"] == []
    by_handle = {p["handle"]: p for p in catalog}
    rows = listings_of(truth, "shopify")
    assert set(by_handle) == {r["handle"] for r in rows}
    for row in rows:
        html = fetch(row["url"])
        page = Selector(html)
        ld = json_ld_product(page)
        offer = ld["offers"][0]
        assert ld["name"] == row["title"] and offer["priceCurrency"] == "USD"
        assert offer["price"] == row["price"]
        assert offer["availability"] == (
            "https://schema.org/InStock"
            if row["availability"] == "in_stock"
            else "https://schema.org/OutOfStock"
        )
        assert offer.get("gtin13") == row["gtin"]
        assert page.css('meta[property="og:price:amount"]::attr(content)').get() == row["price"]
        assert page.css('link[rel="canonical"]::attr(href)').get() == row["url"]
        variant = by_handle[row["handle"]]["variants"][0]
        assert variant["price"] == row["price"] and variant["compare_at_price"] == row["list_price"]
        assert (variant["barcode"] is not None) == (row["gtin"] is not None)
        js = json.loads(fetch(row["url"] + ".js"))
        assert js["price"] == int(Decimal(row["price"]) * 100)
        if row["review_app"] == "yotpo":  # only the mount point: reviews load from Yotpo
            mount = page.css("div.yotpo-widget-instance")
            assert mount.attrib["data-yotpo-product-id"] == str(row["shopify_id"])
            assert not page.css("div.jdgm-rev")
            continue
        widget = page.css("div.jdgm-rev-widg")
        assert widget.attrib["data-number-of-reviews"] == str(row["review_count"])
        assert len(widget.css("div.jdgm-rev")) == min(5, row["review_count"])
    variant_url = rows[0]["url"].replace("/products/", "/collections/all/products/")
    assert (
        Selector(fetch(variant_url)).css('link[rel="canonical"]::attr(href)').get()
        == rows[0]["url"]
    )


def test_woocommerce_pages_carry_json_ld_graph_or_microdata(truth):
    rows = listings_of(truth, "woocommerce")
    assert any(r["microdata"] for r in rows) and not all(r["microdata"] for r in rows)
    for row in rows:
        html = fetch(row["url"])
        page = Selector(html)
        if row["microdata"]:
            assert json_ld_product(page) is None
            items = extruct.extract(
                html, base_url=row["url"], syntaxes=["microdata"], uniform=True
            )["microdata"]
            product = next(i for i in items if i["@type"] == "Product")
            assert product["name"] == row["title"]
            offer = product["offers"]
            price = offer.get("price")
            availability = offer["availability"]
        else:
            product = json_ld_product(page)
            assert product["name"] == row["title"]
            assert isinstance(product["sku"], str if row["mpn"] else int)
            assert str(product["sku"]) == row["sku"]
            offers = product.get("offers", [{}])
            assert isinstance(offers, list)
            price = offers[0].get("priceSpecification", {}).get("price")
            availability = offers[0].get("availability", "OutOfStock")
            shown = page.css("ol.commentlist li.review")
            assert len(product.get("review", [])) == len(shown)
        assert price == row["price"]
        assert availability.endswith(
            "InStock" if row["availability"] == "in_stock" else "OutOfStock"
        )
        count = len(page.css("#reviews ol.commentlist li.review"))
        assert count == min(10, row["review_count"])


def next_data(html: str) -> dict:
    raw = Selector(html).css("script#__NEXT_DATA__::text").get()
    return json.loads(raw)["props"]["pageProps"]["initialData"]["data"]


def test_walmart_data_only_in_next_data(truth):
    for row in listings_of(truth, "walmart"):
        html = fetch(row["url"])
        assert "application/ld+json" not in html and "itemprop" not in html
        product = next_data(html)["product"]
        assert product["usItemId"] == row["item_id"] and product["name"] == row["title"]
        current = product["priceInfo"]["currentPrice"]
        if row["price"] is None:
            assert current is None
        else:
            assert Decimal(str(current["price"])) == Decimal(row["price"])
            assert current["priceString"] == money_text(row["price"])
        was = product["priceInfo"]["wasPrice"]
        assert (was and Decimal(str(was["price"]))) == (
            row["list_price"] and Decimal(row["list_price"])
        )
        assert product["availabilityStatus"] == row["availability"].upper()
        assert product.get("upc") == row["gtin"] and product.get("model") == row["mpn"]
        assert product["numberOfReviews"] == row["review_count"]


def busy_listing(truth: dict, store: str, per_page: int) -> dict:
    """A listing whose reviews span a few pages, so pagination is exercised."""
    return min(
        (r for r in listings_of(truth, store) if r["review_count"] > 2 * per_page + 1),
        key=lambda r: r["review_count"],
    )


def crawl_reviews(url: str, parse) -> list[tuple[str, int, bool]]:
    """Follow 'next' links from url; parse(html) -> (reviews, next_href)."""
    seen: list[tuple[str, int, bool]] = []
    for _ in range(100):
        reviews, next_href = parse(fetch(url))
        seen += reviews
        if not next_href:
            return seen
        url = urljoin(url, next_href)
    raise AssertionError("pagination never ended")


def parse_amazon(html: str):
    page = Selector(html)
    reviews = []
    for block in page.css('div[data-hook="review"]'):
        stars = block.css('i[data-hook="review-star-rating"] span.a-icon-alt::text').get()
        title = block.css('a[data-hook="review-title"] > span:last-child::text').get()
        date = block.css('span[data-hook="review-date"]::text').get()
        assert title and date.startswith("Reviewed in the United States on ")
        assert block.css('span[data-hook="review-body"] span::text').get()
        assert block.css("span.a-profile-name::text").get()
        reviews.append(
            (
                block.attrib["id"],
                int(float(stars.split()[0])),
                bool(block.css('span[data-hook="avp-badge"]')),
            )
        )
    return reviews, page.css("ul.a-pagination li.a-last a::attr(href)").get()


def parse_shopify(html: str):
    page = Selector(html)
    reviews = [
        (
            r.attrib["data-review-id"],
            int(r.css("span.jdgm-rev__rating::attr(data-score)").get()),
            r.attrib["data-verified-buyer"] == "true",
        )
        for r in page.css("div.jdgm-rev")
    ]
    return reviews, page.css("a.jdgm-paginate__next-page::attr(href)").get()


def parse_woocommerce(html: str):
    page = Selector(html)
    reviews = []
    for item in page.css("#reviews ol.commentlist li.review"):
        label = item.css(".star-rating::attr(aria-label)").get()
        assert item.css("time.woocommerce-review__published-date::attr(datetime)").get()
        reviews.append(
            (
                item.attrib["id"],
                int(label.split()[1]),
                bool(item.css("em.woocommerce-review__verified")),
            )
        )
    return reviews, page.css("a.next.page-numbers::attr(href)").get()


def parse_walmart(html: str):
    data = next_data(html)["reviews"]
    reviews = [
        (
            r["reviewId"],
            r["rating"],
            r["badges"] == [{"id": "VerifiedPurchaser", "text": "Verified Purchase"}],
        )
        for r in data["customerReviews"]
    ]
    return reviews, (data["pagination"]["next"] or {}).get("url")


@pytest.mark.parametrize(
    "store,per_page,first_page,parse",
    [
        ("amazon", 10, "/product-reviews/{asin}?pageNumber=1", parse_amazon),
        ("shopify", 5, None, parse_shopify),
        ("woocommerce", 10, None, parse_woocommerce),
        ("walmart", 10, "/reviews/product/{item_id}?page=1", parse_walmart),
    ],
)
def test_reviews_paginate_to_the_declared_count(market, truth, store, per_page, first_page, parse):
    row = busy_listing(truth, store, per_page)
    start = (market.store_urls[store] + first_page.format(**row)) if first_page else row["url"]
    reviews = crawl_reviews(start, parse)
    assert len(reviews) == row["review_count"]
    assert len({review_id for review_id, _, _ in reviews}) == len(reviews)
    mean = statistics.fmean(stars for _, stars, _ in reviews)
    assert round(mean + 1e-9, 1) == row["rating"]
    assert any(verified for *_, verified in reviews) and len({s for _, s, _ in reviews}) >= 2
    assert crawl_reviews(start, parse) == reviews  # stable across visits


def test_amazon_review_page_summary_and_last_page(market, truth):
    row = busy_listing(truth, "amazon", 10)
    base = market.store_urls["amazon"]
    first = Selector(fetch(f"{base}/product-reviews/{row['asin']}?pageNumber=1"))
    assert first.css('[data-hook="rating-out-of-text"]::text').get() == f"{row['rating']} out of 5"
    assert (
        first.css('[data-hook="total-review-count"] span::text').get()
        == f"{row['review_count']:,} global ratings"
    )
    last_number = -(-row["review_count"] // 10)
    last = Selector(fetch(f"{base}/product-reviews/{row['asin']}?pageNumber={last_number}"))
    assert last.css("ul.a-pagination li.a-disabled.a-last")
    assert len(last.css('div[data-hook="review"]')) == row["review_count"] - 10 * (last_number - 1)


def test_amazon_search_pages_reach_every_listing(market, truth):
    # The Amazon-style store still serves its pages (backrank reads them only with
    # allow_amazon_scraping; the demo catalog lists its ASINs for the Creators API instead).
    base = market.store_urls["amazon"]
    found: set[str] = set()
    for kind in KINDS:
        url = f"{base}/s?k={quote_plus(kind.keyword)}"
        while url:
            page = Selector(fetch(url))
            for result in page.css('div[data-component-type="s-search-result"]'):
                href = result.css("h2 a::attr(href)").get()
                assert href.endswith("/dp/" + result.attrib["data-asin"])
                found.add(urljoin(url, href))
            next_href = page.css("a.s-pagination-next::attr(href)").get()
            url = next_href and urljoin(url, next_href)
    assert found == {r["url"] for r in listings_of(truth, "amazon")}


def test_demo_catalog_points_at_the_live_stores(market):
    catalog = tomllib.loads(market.demo_catalog_text(db="demo.db"))
    assert catalog["site"] == {
        "name": "Back Pain Picks (demo)",
        "base_url": "https://backpainpicks.example",
        "demo": True,
        "db": "demo.db",
    }
    assert catalog["crawl"]["polite"] is False
    assert catalog["crawl"]["allow_private_hosts"] is True  # `check` passes without warnings
    stores = {s["name"]: s for s in catalog["stores"]}
    assert {s["platform"] for s in stores.values()} == {
        "amazon", "shopify", "woocommerce", "walmart"
    }  # fmt: skip
    assert stores["demo-amazon"]["quote_reviews"] is False
    assert all(stores[f"demo-{s}"]["quote_reviews"] for s in ("shopify", "woocommerce", "walmart"))
    for store, url in market.store_urls.items():
        for sitemap in stores[f"demo-{store}"].get("sitemap_urls", []):
            assert sitemap.startswith(url + "/")
            fetch(sitemap)
    # Amazon: the store's ASINs (with their titles), read through the demo Creators API
    amazon = stores["demo-amazon"]
    assert set(amazon) & {"sitemap_urls", "start_urls", "product_urls"} == set()
    assert amazon["asins"] == {row.key: row.title for row in market.catalog.listings["amazon"]}
    assert amazon["api_host"] == market.api_url
    assert catalog["affiliates"]["amazon"]["tag"] == "backrank-demo-20"
    assert "db" not in tomllib.loads(market.demo_catalog_text())["site"]


@pytest.mark.parametrize(
    "store,path",
    [
        ("amazon", "/nope"),
        ("amazon", "/dp/B000000000"),
        ("amazon", "/product-reviews/B000000000"),
        ("shopify", "/products/no-such-thing"),
        ("shopify", "/apps/judgeme/reviews/nope?page=1"),
        ("woocommerce", "/product/no-such-thing/"),
        ("woocommerce", "/product-category/nope/"),
        ("walmart", "/ip/x/1"),
        ("walmart", "/reviews/product/1?page=1"),
        ("walmart", "/sitemap_ip_9.xml"),
    ],
)
def test_unknown_paths_are_404(market, store, path):
    with pytest.raises(urllib.error.HTTPError) as error:
        fetch(market.store_urls[store] + path)
    assert error.value.code == 404
    error.value.close()


def test_keep_alive_and_content_length(market, truth):
    row = listings_of(truth, "woocommerce")[0]
    parts = urlsplit(row["url"])
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        for path in (parts.path, "/robots.txt", parts.path):
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
            assert response.status == 200
            assert int(response.headers["Content-Length"]) == len(body)
            assert "charset=utf-8" in response.headers["Content-Type"]
        assert connection.sock is not None  # one connection served all three
    finally:
        connection.close()


def test_large_scale_is_lazy():
    started = time.perf_counter()
    big = Marketplace(seed=3, scale=10_000)
    assert time.perf_counter() - started < 5
    assert big.catalog.review_total > 500_000
    with big.start():
        row = big.catalog.listings["amazon"][-1]
        base = big.store_urls["amazon"]
        deepest = max(big.catalog.listings["amazon"], key=lambda r: r.review_count)
        last_page = -(-deepest.review_count // 10)
        tracemalloc.start()
        try:
            assert row.title in fetch(f"{base}/dp/{row.key}")
            page = Selector(fetch(f"{base}/product-reviews/{deepest.key}?pageNumber={last_page}"))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert len(page.css('div[data-hook="review"]')) == deepest.review_count - 10 * (
            last_page - 1
        )
        assert peak < 5_000_000  # serving pages never materialises the million reviews
