"""Published store links: only to the store's own hosts, and a store's values cannot rewrite the
owner's affiliate link. Built by the real CLI from a real SQLite store."""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from helpers import CATEGORIES_TOML, SITE_TOML, write_catalog
from test_site_build import anchors

from backrank.app.cli import main
from backrank.core.store import Store
from spiders.items import Listing, Review

CATALOG = (
    SITE_TOML
    + """
[affiliates.network]
url_template = "https://track.network.example/click?sku={sku}&mpn={mpn}&tag={tag}"
tag = "owner-20"

[[stores]]
name = "plain-shop"
platform = "generic"
start_urls = ["https://plain-shop.example/"]

[[stores]]
name = "partner-shop"
platform = "generic"
start_urls = ["https://partner-shop.example/"]
affiliate = "network"
"""
    + CATEGORIES_TOML
)


def listing(store: str, slug: str, title: str, **fields) -> dict:
    return asdict(
        Listing(
            store=store, url=f"https://{store}.example/p/{slug}", platform="generic",
            title=title, brand=title.split()[0], price=Decimal("199.00"), currency="USD",
            availability="in_stock", rating=4.5, review_count=2,
            fetched_at="2024-07-01T10:00:00+00:00", **fields,
        )
    )  # fmt: skip


def review(store: str, slug: str, n: int) -> dict:
    return asdict(
        Review(
            store=store, url=f"https://{store}.example/p/{slug}", review_id=f"{slug}-{n}",
            author=f"buyer {n}", rating=4.0, title="Good", body="Sturdy.", date="2024-06-10",
        )
    )  # fmt: skip


def build(tmp_path: Path, listings: list[dict], catalog_text: str = CATALOG) -> Path:
    """The listings (two reviews each) in a real SQLite store, built by `backrank build`."""
    db = tmp_path / "backrank.db"
    with Store.open(db) as store:
        run = store.start_run("catalog.toml")
        store.save_listings(run, listings)
        slugs = [(row["store"], row["url"].rsplit("/", 1)[1]) for row in listings]
        store.save_reviews(run, [review(s, slug, n) for s, slug in slugs for n in range(2)])
        store.finish_run(run, "ok", {})
    catalog = write_catalog(tmp_path, catalog_text)
    site = tmp_path / "site"
    assert main(["build", "--catalog", str(catalog), "--db", str(db), "--out", str(site)]) == 0
    return site


def store_hrefs(site: Path) -> set[str]:
    """Every link on the built pages that leaves the site."""
    found = set()
    for page in site.rglob("*.html"):
        for anchor in anchors(page.read_text(encoding="utf-8")):
            href = anchor.get("href") or ""
            if href.startswith("http") and "example.com" not in href:
                found.add(href)
    for redirects in site.rglob("_redirects"):
        found |= {line.split()[1] for line in redirects.read_text().splitlines() if line}
    return found


def test_a_canonical_url_on_another_host_is_not_published(tmp_path: Path, capsys) -> None:
    listings = [
        listing("plain-shop", "teeter", "Teeter X3 Inversion Table",
                canonical_url="https://evil.example/phish"),
        listing("plain-shop", "arch", "Chirp Back Stretcher Arch",
                canonical_url="https://plain-shop.example:8443/p/arch"),  # another port
        listing("plain-shop", "ironman", "Ironman Gravity Inversion Table",
                canonical_url="https://plain-shop.example/p/ironman-canonical"),
    ]  # fmt: skip
    site = build(tmp_path, listings)
    hrefs = store_hrefs(site)
    assert not any("evil.example" in h or ":8443" in h for h in hrefs), hrefs
    # the store's own URL stands in for the dropped canonical; an on-host canonical is kept
    assert "https://plain-shop.example/p/teeter" in hrefs
    assert "https://plain-shop.example/p/arch" in hrefs
    assert "https://plain-shop.example/p/ironman-canonical" in hrefs
    assert "2 store links to other hosts dropped" in capsys.readouterr().out


def test_hosts_the_owner_lists_are_published(tmp_path: Path) -> None:
    extra = CATALOG.replace(
        'start_urls = ["https://plain-shop.example/"]',
        'start_urls = ["https://plain-shop.example/"]\nlink_hosts = ["www.plain-shop.example"]',
    )
    listings = [
        listing("plain-shop", "teeter", "Teeter X3 Inversion Table",
                canonical_url="https://www.plain-shop.example/p/teeter"),
    ]  # fmt: skip
    site = build(tmp_path, listings, extra)
    assert "https://www.plain-shop.example/p/teeter" in store_hrefs(site)


@pytest.mark.parametrize(
    ("sku", "mpn"),
    [("X3&tag=thief-20", "M1"), ("X3", "M1#&tag=thief-20"), ("X3+4", "M1%26tag%3Dthief-20")],
)
def test_store_values_cannot_add_their_own_affiliate_parameter(
    tmp_path: Path, sku: str, mpn: str
) -> None:
    listings = [listing("partner-shop", "teeter", "Teeter X3 Inversion Table", sku=sku, mpn=mpn)]
    site = build(tmp_path, listings)
    [link] = [h for h in store_hrefs(site) if h.startswith("https://track.network.example/")]
    parts = urlsplit(link)
    assert parts.fragment == "" and parts.path == "/click"
    assert parse_qs(parts.query) == {"sku": [sku], "mpn": [mpn], "tag": ["owner-20"]}


def test_link_hosts_must_be_host_names(tmp_path: Path, capsys) -> None:
    bad = CATALOG.replace(
        'start_urls = ["https://plain-shop.example/"]',
        'start_urls = ["https://plain-shop.example/"]\nlink_hosts = ["https://evil.example/x"]',
    )
    assert main(["check", "--catalog", str(write_catalog(tmp_path, bad))]) == 2
    assert "stores[0].link_hosts: must be host names" in capsys.readouterr().err
