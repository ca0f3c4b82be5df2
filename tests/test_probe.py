"""`backrank probe URL` on each demo store prints the path backrank would take there."""

from __future__ import annotations

import tomllib

import pytest

from backrank.app.cli import main
from backrank.marketplace import Marketplace
from spiders.probe import rules_for


@pytest.fixture(scope="module")
def marketplace():
    with Marketplace(seed=7, review_apps=("judgeme", "yotpo")) as running:
        yield running


@pytest.fixture(scope="module")
def closed_api_marketplace():
    with Marketplace(seed=7, woo_store_api=False) as running:
        yield running


def probe(capsys, url: str) -> str:
    assert main(["probe", url]) == 0
    return capsys.readouterr().out


def entry(output: str) -> dict:
    """The suggested [[stores]] entry, parsed as the catalog would parse it."""
    return tomllib.loads(output.split("Suggested catalog entry:", 1)[1])["stores"][0]


@pytest.mark.parametrize(
    ("store", "platform", "path"),
    [
        ("shopify", "shopify", "products_json"),
        ("woocommerce", "woocommerce", "store_api"),
        ("walmart", "walmart", "pages"),
        ("amazon", "amazon", "creators_api"),
    ],
)
def test_probe_names_each_demo_stores_platform_and_path(
    capsys, marketplace, store, platform, path
) -> None:
    output = probe(capsys, marketplace.store_urls[store] + "/")
    assert f"Platform:  {platform}\n" in output
    assert f"Path:      {path} " in output
    assert entry(output)["platform"] == platform


def test_probe_shows_the_robots_rules_for_the_crawlers_user_agent(capsys, marketplace) -> None:
    output = probe(capsys, marketplace.store_urls["shopify"])
    assert "robots.txt for backrank/0.1:" in output
    assert "    Disallow: /cart\n" in output
    assert "    /products.json?page=1: allowed\n" in output
    assert entry(output)["sitemap_urls"] == [marketplace.store_urls["shopify"] + "/sitemap.xml"]


def test_probe_finds_each_shopify_review_app_on_its_product_page(capsys, marketplace) -> None:
    truth = marketplace.truth()
    for app in ("judgeme", "yotpo"):
        listing = next(
            row
            for row in truth["listings"]
            if row["store"] == "shopify" and row["review_app"] == app
        )
        output = probe(capsys, listing["url"])
        assert f"review app      yes  {app}: reviews from its public endpoint" in output
        assert f"reviews from {app}'s endpoint" in output
        assert str(listing["shopify_id"]) in output or listing["handle"] in output


def test_probe_of_a_store_api_that_is_off_takes_the_html_path(
    capsys, closed_api_marketplace
) -> None:
    output = probe(capsys, closed_api_marketplace.store_urls["woocommerce"])
    assert "Platform:  woocommerce\n" in output
    assert (
        "Path:      pages — woocommerce: its pages from the sitemaps (its store_api: answered 401)"
        in output
    )
    assert "feed            no   store_api: answered 401" in output
    assert "structured data yes  schema.org Product with offers" in output


def test_probe_of_a_store_api_that_is_on_counts_its_products(capsys, marketplace) -> None:
    output = probe(capsys, marketplace.store_urls["woocommerce"])
    woo = [row for row in marketplace.truth()["listings"] if row["store"] == "woocommerce"]
    assert f"feed            yes  store_api: served ({len(woo)} products)" in output
    assert "review app" not in output  # its reviews come from the Store API too


def test_probe_of_nothing_listening_fails_cleanly(capsys) -> None:
    assert main(["probe", "http://127.0.0.1:9/"]) == 1
    output = capsys.readouterr().out
    assert "robots.txt      no   none (no answer" in output
    assert "Platform:  generic" in output


ROBOTS = """User-agent: *
Disallow: /cart
Crawl-delay: 5

User-agent: backrank
User-agent: otherbot
Disallow: /private  # ours
Allow: /private/ok

Sitemap: https://shop.example/sitemap.xml
"""


@pytest.mark.parametrize(
    ("agent", "rules"),
    [
        ("backrank/0.1", ["Disallow: /private", "Allow: /private/ok"]),
        ("somebot/2", ["Disallow: /cart", "Crawl-delay: 5"]),
    ],
)
def test_the_group_for_the_user_agent_is_shown(agent, rules) -> None:
    assert rules_for(ROBOTS, agent) == rules


@pytest.mark.parametrize("url", ["https://www.amazon.de/dp/B07YFVP6LZ", "https://amzn.to/3abcDEF"])
def test_an_amazon_shop_is_known_by_its_host_and_none_of_its_pages_is_read(url: str) -> None:
    """Amazon by the catalog's own host rule (``is_amazon_host``): only robots.txt is asked."""
    from spiders.probe import Fetched, probe_store

    asked: list[str] = []

    def fetch(address: str) -> Fetched:
        asked.append(address)
        return Fetched(404)

    found = probe_store(url, fetch, "backrank/0.1")
    assert (found.platform, found.path, found.not_crawled) == ("amazon", "creators_api", True)
    assert [address.rsplit("/", 1)[1] for address in asked] == ["robots.txt"]
