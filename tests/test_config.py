"""Catalog loading: defaults, affiliate links, categories and file:line error messages."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import SITE_TOML, write_catalog

from backrank.core.config import (
    AffiliateProgram,
    CatalogError,
    load_catalog,
    validate_catalog,
)
from backrank.core.settings import TrustConfig, parse_scoring
from spiders.sources import PLATFORMS

MINIMAL = (
    SITE_TOML
    + """
[[stores]]
product_urls = ["https://www.shop.example/products/inversion-table"]
"""
)

FULL = """\
[site]
name = "Back Pain Picks"
base_url = "https://example.com/"
disclosure = "We earn commissions."
max_price_age_hours = 12
theme_dir = "theme"
db = "picks.db"
demo = true

[crawl]
polite = false
http_cache = true
concurrency = 4
max_review_pages = 3

[affiliates.amazon]
kind = "amazon"
url_template = "https://www.amazon.com/dp/{asin}?tag={tag}"
tag = "backrank-20"

[affiliates.shopify_ref]
url_template = "{url}?ref={ref}"
ref = "backrank"

[[stores]]
name = "demo-amazon"
platform = "amazon"
sitemap_urls = ["http://127.0.0.1:8101/sitemap.xml"]
include = ["traction", "inversion"]
affiliate = "amazon"
currency = "USD"

[[stores]]
name = "demo-shopify"
platform = "shopify"
start_urls = ["http://127.0.0.1:8102/collections/all"]
affiliate = "shopify_ref"

[[categories]]
name = "Belts"
slug = "belts"
keywords = ["decompression belt"]

[[categories]]
name = "Traction"
slug = "traction"
keywords = ["traction"]

[scoring]
prior_strength = 5
min_reviews = 3
trust_weight = 0.5
"""


def test_minimal_catalog_loads_with_defaults(tmp_path: Path) -> None:
    catalog = load_catalog(write_catalog(tmp_path, MINIMAL))
    assert catalog.site.name == "Back Pain Picks"
    assert catalog.site.max_price_age_hours == 24
    assert catalog.site.demo is False
    assert "commission" in catalog.site.disclosure
    assert catalog.site.amazon_disclosure.startswith("As an Amazon Associate")
    assert catalog.crawl.polite is True
    assert catalog.crawl.concurrency == 8
    assert catalog.crawl.max_review_pages == 50
    (store,) = catalog.stores
    assert store.name == "shop.example"
    assert store.platform == "auto"
    assert store.quote_reviews is True
    assert store.currency is None
    assert store.allowed_domains == ("www.shop.example",)
    assert catalog.affiliates == {}
    assert [c.slug for c in catalog.categories] == [
        "inversion-tables",
        "decompression-belts",
        "cervical-traction",
        "lumbar-traction",
        "back-stretchers",
        "back-wheels",
        "hanging-bars",
        "other",
    ]
    assert catalog.scoring.prior_strength == 10.0
    assert catalog.scoring.min_reviews == 10  # the figure badges use (#11: the page said 0)


def test_full_catalog_reads_every_section(tmp_path: Path) -> None:
    catalog = load_catalog(write_catalog(tmp_path, FULL))
    assert catalog.site.base_url == "https://example.com"
    assert catalog.site.theme_dir == (tmp_path / "theme").resolve()
    assert catalog.site.db == "picks.db"
    assert catalog.site.demo is True
    assert catalog.site.max_price_age_hours == 12
    assert (catalog.crawl.polite, catalog.crawl.http_cache, catalog.crawl.concurrency) == (
        False,
        True,
        4,
    )
    amazon, shopify = catalog.stores
    assert amazon.quote_reviews is False  # Amazon's terms: no quoting reviews
    assert shopify.quote_reviews is True
    assert amazon.allowed_domains == ("127.0.0.1",)
    assert amazon.allowed_hosts == ("127.0.0.1:8101",)
    assert shopify.allowed_hosts == ("127.0.0.1:8102",)
    assert amazon.include == ("traction", "inversion")
    assert catalog.affiliates["amazon"].params == {"tag": "backrank-20"}
    assert catalog.affiliates["shopify_ref"].kind == "generic"
    assert [c.slug for c in catalog.categories] == ["belts", "traction", "other"]
    assert catalog.scoring.prior_strength == 5.0
    assert catalog.scoring.min_reviews == 3
    assert catalog.scoring.raw["trust_weight"] == 0.5
    assert catalog.store("demo-shopify") is shopify


def test_affiliate_store_of_amazon_kind_does_not_quote_reviews(tmp_path: Path) -> None:
    text = FULL.replace('platform = "amazon"\n', "")
    assert load_catalog(write_catalog(tmp_path, text)).stores[0].quote_reviews is False


def test_affiliate_links(tmp_path: Path) -> None:
    catalog = load_catalog(write_catalog(tmp_path, FULL))
    amazon = catalog.affiliates["amazon"]
    assert amazon.link_for(
        {"url": "https://www.amazon.com/x/dp/B0TEST1234", "asin": "B0TEST1234"}
    ) == ("https://www.amazon.com/dp/B0TEST1234?tag=backrank-20")
    assert amazon.link_for({"url": "https://www.amazon.com/x", "asin": None}) is None
    ref = catalog.affiliates["shopify_ref"]
    assert (
        ref.link_for({"url": "https://shop.example/p/1"}) == "https://shop.example/p/1?ref=backrank"
    )
    assert ref.link_for({"url": "https://shop.example/p/1?variant=2"}) == (
        "https://shop.example/p/1?variant=2&ref=backrank"
    )
    assert ref.link_for({"url": "javascript:alert(1)"}) is None
    network = AffiliateProgram(
        name="net", url_template="https://go.example/c?u={url_quoted}&id={pub}", params={"pub": "7"}
    )
    assert network.link_for({"url": "https://shop.example/p?a=1&b=2"}) == (
        "https://go.example/c?u=https%3A%2F%2Fshop.example%2Fp%3Fa%3D1%26b%3D2&id=7"
    )
    assert network.link_for({}) is None


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Teeter FitSpine X3 Inversion Table", "inversion-tables"),
        ("Lumbar Decompression Belt with Traction Pads", "decompression-belts"),
        ("Cervical Neck Traction Device, Over Door", "cervical-traction"),
        ("Home Lumbar Traction Device", "lumbar-traction"),
        ("Multi-Level Back Stretcher for Lower Back Pain", "back-stretchers"),
        ("Yoga Wheel for Back Pain", "back-wheels"),
        ("Doorway Pull-Up Bar", "hanging-bars"),
        ("Massage Gun", "other"),
        ("Attractions guide", "other"),  # "traction" only as a whole word
    ],
)
def test_default_categories_first_match_wins(tmp_path: Path, title: str, slug: str) -> None:
    catalog = load_catalog(write_catalog(tmp_path, MINIMAL))
    assert catalog.category_for(title).slug == slug


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(CatalogError) as caught:
        load_catalog(write_catalog(tmp_path, text), PLATFORMS)
    return str(caught.value)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda t: t.replace('platform = "shopify"', 'platform = "ebay"'),
            "catalog.toml:35: stores[1].platform: must be one of auto, amazon, walmart, shopify, "
            'woocommerce, generic (got "ebay")',
        ),
        (
            lambda t: t.replace("sitemap_urls = [", "sitemap_url = ["),
            "catalog.toml:25: stores[0]: needs at least one of sitemap_urls, start_urls, product_urls",
        ),
        (
            lambda t: t.replace("max_review_pages = 3", "max_review_page = 3"),
            "catalog.toml:14: crawl.max_review_page: unknown key (did you mean max_review_pages?)",
        ),
        (
            lambda t: t.replace("concurrency = 4", 'concurrency = "4"'),
            "catalog.toml:13: crawl.concurrency: must be an integer (got a string)",
        ),
        (
            lambda t: t.replace("max_price_age_hours = 12", "max_price_age_hours = -1"),
            "catalog.toml:5: site.max_price_age_hours: must not be negative (got -1)",
        ),
        (
            lambda t: t.replace('base_url = "https://example.com/"', 'base_url = "example.com"'),
            'catalog.toml:3: site.base_url: must be an http(s) URL (got "example.com")',
        ),
        (
            lambda t: t.replace("http://127.0.0.1:8102/collections/all", "file:///etc/passwd"),
            'catalog.toml:36: stores[1].start_urls: must hold http(s) URLs (got "file:///etc/passwd")',
        ),
        (
            lambda t: t.replace('name = "demo-shopify"', 'name = "demo-amazon"'),
            'catalog.toml:34: stores[1].name: duplicate store name "demo-amazon"',
        ),
        (
            lambda t: t.replace('affiliate = "shopify_ref"', 'affiliate = "awin"'),
            'catalog.toml:37: stores[1].affiliate: "awin" is not defined in [affiliates] '
            "(amazon, shopify_ref)",
        ),
        (
            lambda t: t.replace("?tag={tag}", "?tag={tracking}"),
            "catalog.toml:18: affiliates.amazon.url_template: unknown placeholder {tracking} "
            "(known: asin, gtin, mpn, sku, tag, url, url_quoted)",
        ),
        (
            lambda t: t.replace('"{url}?ref={ref}"', '"ftp://x/{sku}"'),
            "catalog.toml:22: affiliates.shopify_ref.url_template: must give an http(s) URL "
            '(got "ftp://x/{sku}")',
        ),
        (
            lambda t: t.replace("demo = true", "demo = 1"),
            "catalog.toml:8: site.demo: must be true or false (got an integer)",
        ),
        (
            lambda t: t.replace("[scoring]\nprior_strength = 5", "[scoring]\nprior_strength = -5"),
            "catalog.toml:50: scoring.prior_strength: must not be negative (got -5)",
        ),
        (
            lambda t: t.replace('slug = "traction"', 'slug = "belts"'),
            'catalog.toml:46: categories[1].slug: duplicate category slug "belts"',
        ),
        (
            lambda t: t + "\n[sites]\nname = 1\n",
            "catalog.toml:54: sites: unknown key (did you mean site?)",
        ),
        (
            lambda t: t.replace('currency = "USD"', 'currency = "$"'),
            'catalog.toml:31: stores[0].currency: must be a three-letter ISO 4217 code like "USD" '
            '(got "$")',
        ),
    ],
)
def test_error_names_file_line_and_key(tmp_path: Path, edit, expected: str) -> None:
    assert error_of(tmp_path, edit(FULL)) == expected


def test_toml_syntax_error_gives_its_line(tmp_path: Path) -> None:
    text = MINIMAL.replace('name = "Back Pain Picks"', 'name = "Back Pain Picks')
    message = error_of(tmp_path, text)
    assert message.startswith("catalog.toml:2: toml: ")


def test_missing_site_and_urls_are_reported(tmp_path: Path) -> None:
    errors = validate_catalog(write_catalog(tmp_path, "[[stores]]\nname = 'x'\n", "shops.toml"))
    assert [str(e) for e in errors] == [
        "shops.toml:1: site: a [site] table is required",
        "shops.toml:1: stores[0]: needs at least one of sitemap_urls, start_urls, product_urls",
    ]


def test_validate_lists_every_error_in_line_order(tmp_path: Path) -> None:
    text = (
        FULL.replace('platform = "shopify"', 'platform = "ebay"')
        .replace("concurrency = 4", "concurrency = -4")
        .replace('base_url = "https://example.com/"', 'base_url = "nope"')
    )
    errors = validate_catalog(write_catalog(tmp_path, text), PLATFORMS)
    assert [(e.line, e.key) for e in errors] == [
        (3, "site.base_url"),
        (13, "crawl.concurrency"),
        (35, "stores[1].platform"),
    ]
    assert validate_catalog(write_catalog(tmp_path, FULL)) == []


def test_platform_names_come_from_the_crawl(tmp_path: Path) -> None:
    # The catalog (core) cannot know the crawl's sources: a caller that never crawls
    # loads any name, and the crawl's own list decides for those that do.
    text = FULL.replace('platform = "shopify"', 'platform = "ebay"')
    assert load_catalog(write_catalog(tmp_path, text)).stores[1].platform == "ebay"
    assert [
        e.key for e in validate_catalog(write_catalog(tmp_path, text), ("amazon", "shopify"))
    ] == ["stores[1].platform"]
    empty = FULL.replace('platform = "shopify"', 'platform = ""')
    assert [e.message for e in validate_catalog(write_catalog(tmp_path, empty))] == [
        "must not be empty"
    ]


def test_missing_file_is_a_catalog_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"^nowhere\.toml:1: catalog: cannot read"):
        load_catalog(tmp_path / "nowhere.toml")


DEMO_TEMPLATE = Path(__file__).resolve().parents[1] / "backrank" / "demo" / "catalog.toml"


@pytest.mark.skipif(not DEMO_TEMPLATE.exists(), reason="demo catalog template not written yet")
def test_demo_catalog_template_loads_after_substitution(tmp_path: Path) -> None:
    template = DEMO_TEMPLATE.read_text(encoding="utf-8")
    # The template's store placeholders ({amazon}, {shopify}, ...) stand for base URLs;
    # url_template placeholders ({asin}, {url}) sit inside url_template lines and stay.
    ports = iter(range(8101, 8200))
    filled_lines = []
    for line in template.splitlines():
        if line.lstrip().startswith("url_template"):
            filled_lines.append(line)
        else:
            filled_lines.append(
                re.sub(r"\{(\w+)\}", lambda m: f"http://127.0.0.1:{next(ports)}", line)
            )
    catalog = load_catalog(write_catalog(tmp_path, "\n".join(filled_lines) + "\n"))
    assert catalog.stores
    assert all(store.urls for store in catalog.stores)


def test_cloak_is_read_for_other_programs_and_refused_for_amazon(tmp_path: Path) -> None:
    text = MINIMAL + (
        '\n[affiliates.network]\nurl_template = "{url}?ref={ref}"\nref = "bpp"\ncloak = true\n'
    )
    assert load_catalog(write_catalog(tmp_path, text)).affiliates["network"].cloak is True
    amazon = MINIMAL + (
        '\n[affiliates.amazon]\nurl_template = "https://www.amazon.com/dp/{asin}?tag={tag}"\n'
        'tag = "x-20"\ncloak = true\n'
    )
    message = error_of(tmp_path, amazon)
    assert message.startswith("catalog.toml:")
    assert "affiliates.amazon.cloak: Amazon links must go straight to Amazon" in message


def test_loading_a_catalog_imports_no_stage_and_no_heavy_library(tmp_path: Path) -> None:
    """Core stands alone: `check` and every command start without pandas, scrapy and friends."""
    path = write_catalog(
        tmp_path, FULL + '\n[scoring.trust]\ngrade_bounds = [["A", 0.99], ["B", 0.5]]\n'
    )
    probe = (
        "import sys\n"
        "from backrank.core.config import load_catalog\n"
        f"catalog = load_catalog({str(path)!r})\n"
        "assert catalog.scoring.trust.grade_bounds[0] == ('A', 0.99)\n"
        "heavy = ('pandas', 'numpy', 'rapidfuzz', 'vaderSentiment', 'scrapy', 'twisted',\n"
        "         'pipelines', 'spiders', 'reports', 'backrank.app')\n"
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in heavy\n"
        "                      or m.startswith('backrank.app'))))\n"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_scoring_problems_are_key_paths() -> None:
    config, problems = parse_scoring(
        {"trust": {"grade_bounds": [["A", 2]]}, "badges": {"min_contender": 3}, "min_reviews": 5}
    )
    assert sorted(p.path for p in problems) == [
        ("scoring", "badges", "min_contender"),
        ("scoring", "trust", "grade_bounds"),
    ]
    assert config.trust.grade_bounds == TrustConfig().grade_bounds  # a bad key keeps its default
    assert config.min_reviews == config.badges.min_reviews == 5


@pytest.mark.parametrize(
    ("scoring", "line"),
    [
        ('[scoring]\nprior_strength = 5\ntrust.warn_p = "x"\n', 3),  # a dotted key
        ("[scoring]\n\ntrust = { warnp = 0.1 }\n", 3),  # an inline table: the key holding it
        ('[ "scoring" . trust ]\n\nwarn_p = "x"\n', 3),  # a quoted, spaced header
        # a table header inside a multi-line string is text, not a header
        (
            '[scoring]\nnote = """\n[scoring.trust]\nwarn_p = 1\n"""\n[scoring.trust]\nwarn_p = "x"\n',
            7,
        ),
    ],
)
def test_scoring_problem_lines(tmp_path: Path, scoring: str, line: int) -> None:
    offset = MINIMAL.count("\n")
    message = error_of(tmp_path, MINIMAL + scoring)
    assert message.startswith(f"catalog.toml:{offset + line}: scoring.trust.warn")


def test_wordpress_table_reads_its_keys_and_reports_unknown_ones(tmp_path: Path) -> None:
    path = write_catalog(
        tmp_path,
        SITE_TOML + '\n[wordpress]\nurl = "https://blog.example/"\ncredentials = "wp.toml"\n'
        "top = 3\npages = true\nparent_page = 'reviews'\n",
    )
    wordpress = load_catalog(path).wordpress
    assert wordpress.url == "https://blog.example"
    assert wordpress.credentials == (tmp_path / "wp.toml").resolve()
    assert (wordpress.top, wordpress.pages, wordpress.parent_page) == (3, True, "reviews")
    default = load_catalog(write_catalog(tmp_path, SITE_TOML, "plain.toml")).wordpress
    assert (default.url, default.credentials, default.top, default.pages) == (None, None, 5, False)
    bad = write_catalog(tmp_path, SITE_TOML + '\n[wordpress]\nurll = "x"\ntop = 0\n', "bad.toml")
    errors = [str(e) for e in validate_catalog(bad)]
    assert errors == [
        "bad.toml:6: wordpress.urll: unknown key (did you mean url?)",
        "bad.toml:7: wordpress.top: must be at least 1 (got 0)",
    ]
