"""`backrank links` on a real WordPress seeded with posts that hold each kind of link problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from wordpress_helpers import Shop, copy_shop, crawl_hostile_store, create_post

from backrank.app.cli import main
from reports.wordpress.links import KINDS

TAG = "backrank-demo-20"  # the demo catalog's Amazon tag
DISCLOSURE = "<!-- wp:paragraph -->\n<p>As an Amazon Associate I earn from qualifying purchases.</p>\n<!-- /wp:paragraph -->\n"


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return crawl_hostile_store(tmp_path_factory.mktemp("links-crawled"))


def _amazon_listings(shop: Shop) -> list[tuple[int, str]]:
    """Ranked, in-stock demo-amazon listings with an ASIN: (listing id, ASIN)."""
    return shop.sql(
        "SELECT l.listing_id, l.asin FROM listings l"
        " JOIN product_listings pl ON pl.listing_id = l.listing_id"
        " JOIN offers o ON o.listing_id = l.listing_id"
        " WHERE l.store = 'demo-amazon' AND l.asin IS NOT NULL AND o.availability = 'in_stock'"
        " GROUP BY l.listing_id ORDER BY l.listing_id"
    )


def _store_listings(shop: Shop) -> list[tuple[int, str]]:
    """Ranked, in-stock listings of the other stores: (listing id, URL)."""
    return shop.sql(
        "SELECT l.listing_id, l.url FROM listings l"
        " JOIN product_listings pl ON pl.listing_id = l.listing_id"
        " JOIN offers o ON o.listing_id = l.listing_id"
        " WHERE l.store != 'demo-amazon' AND o.availability = 'in_stock'"
        " AND l.url NOT LIKE '%?%'"
        " GROUP BY l.listing_id ORDER BY l.listing_id"
    )


def amazon(asin: str, tag: str | None = TAG) -> str:
    return f"https://www.amazon.com/dp/{asin}" + (f"?tag={tag}" if tag else "")


def post_with(link: str, rel: str = "sponsored nofollow", disclosure_first: bool = True) -> str:
    paragraph = (
        f'<!-- wp:paragraph -->\n<p>My pick: <a href="{link}" rel="{rel}">this one</a>.</p>\n'
        "<!-- /wp:paragraph -->\n"
    )
    return DISCLOSURE + paragraph if disclosure_first else paragraph + DISCLOSURE


def test_links_finds_each_kind_of_problem_and_nothing_in_a_clean_post(
    crawled, tmp_path, wordpress, capsys
) -> None:
    shop = copy_shop(crawled, tmp_path, wordpress.url)
    (clean, clean_asin), *_ = _amazon_listings(shop)
    store_links = _store_listings(shop)
    (gone, gone_url), (stockout, stockout_url), (unranked, unranked_url), (_, plain_url) = (
        store_links[:4]
    )
    shop.sql(
        "UPDATE listings SET gone_run = (SELECT max(run_id) FROM runs) WHERE listing_id = ?", gone
    )
    shop.sql("UPDATE offers SET availability = 'out_of_stock' WHERE listing_id = ?", stockout)
    shop.sql("DELETE FROM product_listings WHERE listing_id = ?", unranked)

    owner = ("admin", wordpress.passwords["admin"])
    seeded = {
        "clean": post_with(amazon(clean_asin))
        + '<p><a href="https://en.wikipedia.org/wiki/Back">back</a></p>',
        "gone": post_with(gone_url),
        "out_of_stock": post_with(stockout_url),
        "not_ranked": post_with(unranked_url),
        "amazon_no_tag": post_with(amazon(clean_asin, tag=None)),
        "amazon_other_tag": post_with(amazon(clean_asin, tag="someoneelse-20")),
        "no_sponsored": post_with(plain_url, rel="nofollow"),
        "link_before_disclosure": post_with(amazon(clean_asin), disclosure_first=False),
        "not_in_catalog": post_with(amazon("B0NOTHERE1")),
    }
    links = {kind: create_post(wordpress.url, owner, f"Post {kind}", html)["link"]
             for kind, html in seeded.items()}  # fmt: skip

    # then a security plugin closes the REST API (an HTML 404; a 401 unless logged in): the
    # sitemap still lists the posts
    for source, closed in (("rest", None), ("sitemap", "1"), ("sitemap", "login")):
        if closed:
            wordpress.php(f"update_option('backrank_test_rest_closed', '{closed}');")
        capsys.readouterr()
        assert main(["links", *shop.args()]) == 1
        out = capsys.readouterr().out
        assert "to fix" in out
        report = json.loads((shop.folder / "backrank.db.reports" / "links.json").read_text())
        assert report["source"] == source
        found = {(f["post_url"], f["kind"]) for f in report["findings"]}
        expected = {(links[kind], kind) for kind in seeded if kind != "clean"}
        assert found == expected, sorted(found ^ expected)
        assert report["clean_posts"] == [links["clean"]]
        (missing,) = [f for f in report["findings"] if f["kind"] == "not_in_catalog"]
        assert missing["fix"] == (
            'product_urls = ["https://www.amazon.com/dp/B0NOTHERE1"]'
            '  # add to [[stores]] name = "demo-amazon"'
        )
    html = (shop.folder / "backrank.db.reports" / "links.html").read_text(encoding="utf-8")
    assert all(kind in html for kind in KINDS)


def test_links_on_a_clean_site_exits_zero(crawled, tmp_path, wordpress, capsys) -> None:
    shop = copy_shop(crawled, tmp_path, wordpress.url)
    (_, asin), *_ = _amazon_listings(shop)
    create_post(
        wordpress.url, ("admin", wordpress.passwords["admin"]), "Clean", post_with(amazon(asin))
    )
    assert main(["links", *shop.args()]) == 0
    assert "1 affiliate links, 0 to fix" in capsys.readouterr().out
