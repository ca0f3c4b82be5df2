"""The extraction shortcuts (one parse per page, syntaxes read only when present, substring
pre-checks before the marker regexes) read exactly what the full paths read."""

from __future__ import annotations

import gzip
from pathlib import Path

import extruct
import pytest
from parsel import Selector

from spiders import extract, sources
from spiders.extract.markup import decode_html
from spiders.extract.schemaorg import read_structured_data

REALPAGES = Path(__file__).resolve().parents[2] / "shared" / "realpages" / "pages"

MIXED_CASE = """<!DOCTYPE html><html lang="en"><head>
<META PROPERTY="og:title" CONTENT="Inversion Table Pro">
<META PROPERTY="product:price:amount" CONTENT="149.00">
<script TYPE="Application/LD+JSON">{"@context": "https://schema.org", "@type": "Product",
 "name": "Inversion Table Pro",
 "offers": {"@type": "Offer", "price": "149.00", "priceCurrency": "USD"}}</script>
</head><body>
<div ITEMSCOPE ITEMTYPE="https://schema.org/Review">
<span itemprop="reviewBody">Eased my back.</span>
<span itemprop="author">Dana</span></div>
</body></html>"""


def test_upper_case_markup_still_reads_every_syntax() -> None:
    data = read_structured_data(MIXED_CASE, "https://shop.example/p/1")
    types = [node.get("@type") for node in data.nodes]
    assert "Product" in types and "Review" in types  # JSON-LD and microdata
    assert data.opengraph["og:title"] == "Inversion Table Pro"
    page = sources.parse_product_page(MIXED_CASE, "https://shop.example/p/1", platform="generic")
    assert page.listing.title == "Inversion Table Pro" and page.listing.price == "149.00"
    assert [review.body for review in page.reviews] == ["Eased my back."]


def test_a_page_without_structured_data_gives_none() -> None:
    html = "<html><body><h1>Back stretcher</h1></body></html>"
    data = read_structured_data(html, "https://s.example/")
    assert data.nodes == [] and data.opengraph == {}


def test_a_page_that_is_json_is_read_as_html_not_an_error() -> None:
    page = sources.parse_product_page('{"props": null}', "https://s.example/p", platform="generic")
    assert page.listing.title is None and page.reviews == []
    reviews = sources.parse_review_page('{"a": 1}', "https://s.example/r", platform="generic")
    assert reviews.reviews == []


@pytest.mark.skipif(not REALPAGES.is_dir(), reason="shared real pages not present")
@pytest.mark.parametrize("path", sorted(REALPAGES.glob("*.gz")), ids=lambda p: p.name)
def test_extruct_reads_the_shared_tree_as_its_own_parse(path: Path) -> None:
    text = decode_html(gzip.decompress(path.read_bytes()))
    url = "https://shop.example/product"
    syntaxes = ["microdata", "opengraph"]  # RDFa is still parsed by extruct from the text
    own_parse = extruct.extract(text, base_url=url, syntaxes=syntaxes, uniform=True)
    shared = extruct.extract(
        Selector(text=text, type="html").root, base_url=url, syntaxes=syntaxes, uniform=True
    )
    assert shared == own_parse


@pytest.mark.parametrize(
    "html",
    [
        "<html><body><p>ENTER THE CHARACTERS YOU SEE BELOW</p></body></html>",
        "<html><body><form action='/Errors/ValidateCaptcha'></form></body></html>",
        "<html><head><TITLE> robot check</TITLE></head><body></body></html>",
        "<html><body><div ID='px-captcha'></div></body></html>",
        "<html><body><div class='G-RECAPTCHA'></div></body></html>",
    ],
)
def test_robot_checks_in_any_letter_case_are_blocked(html: str) -> None:
    assert extract.is_blocked(html)


@pytest.mark.parametrize(
    ("html", "platform"),
    [
        ('<span id="productTitle">Stretcher</span>', "amazon"),
        ('<span class="a-offscreen">$9</span><input id="ASIN" value="B000000001">', "amazon"),
        ('<script id="__NEXT_DATA__">{"props": {"initialData": {}}}</script>', "walmart"),
        ('<script src="//cdn.shopify.com/s/t.js"></script>', "shopify"),
        ('<body class="product-template-default single-product">', "woocommerce"),
        ("<p>a data-hook= that names nothing</p>", "generic"),
    ],
)
def test_platform_markers(html: str, platform: str) -> None:
    assert sources.detect(f"<html>{html}</html>").name == platform
