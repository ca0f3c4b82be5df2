"""Blocked-page detection, platform choice and robustness of the page parsers on odd input."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spiders import extract, sources

PRODUCT = (
    '<html><head><script type="application/ld+json">{"@type":"Product","name":"Back Brace",'
    '"offers":{"price":"20","priceCurrency":"USD"}}</script></head><body><h1>Back Brace</h1>'
    '<form class="newsletter"><div class="g-recaptcha" data-sitekey="x"></div></form></body></html>'
)


@pytest.mark.parametrize(
    "html",
    [
        "<html><head><title>Robot Check</title></head><body>Type the characters you see in this image:</body></html>",
        "<html><head><title>Just a moment...</title></head><body><div id='challenge-form'></div></body></html>",
        "<html><body><script src='https://geo.captcha-delivery.com/captcha/?initialCid=x'></script></body></html>",
        "<html><body><div id='px-captcha'></div></body></html>",
        "<html><body><h1>Please verify you are human</h1><div class='g-recaptcha'></div></body></html>",
    ],
)
def test_challenge_pages_are_blocked(html: str) -> None:
    assert extract.is_blocked(html)
    assert sources.parse_product_page(html, "https://shop.example/p/1").blocked


def test_a_shop_page_with_a_newsletter_captcha_is_not_blocked() -> None:
    padded = PRODUCT.replace(
        "</body>", "<p>" + "Lumbar support for long drives. " * 800 + "</p></body>"
    )
    assert not extract.is_blocked(padded)
    assert (
        sources.parse_product_page(padded, "https://shop.example/p/1").listing.title == "Back Brace"
    )


def test_domain_does_not_decide_the_platform() -> None:
    assert sources.detect(PRODUCT).name == "generic"
    assert sources.detect(PRODUCT).name == "generic"


def test_unknown_platform_name_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown platform"):
        sources.parse_product_page(PRODUCT, "https://shop.example/p/1", platform="ebay")


def test_forced_platform_is_used() -> None:
    page = sources.parse_product_page(PRODUCT, "https://shop.example/p/1", platform="woocommerce")
    assert page.listing.platform == "woocommerce" and page.listing.title == "Back Brace"


def test_latin1_bytes_with_declared_charset_decode() -> None:
    html = (
        '<html><head><meta charset="iso-8859-1"></head><body>'
        '<script type="application/ld+json">{"@type":"Product","name":"Rückenstrecker"}</script>'
        "</body></html>"
    ).encode("iso-8859-1")
    assert (
        sources.parse_product_page(html, "https://shop.example/p").listing.title == "Rückenstrecker"
    )


fragments = st.lists(
    st.sampled_from(
        [
            "<html>",
            "<body>",
            "<div itemscope itemtype='https://schema.org/Product'>",
            "<span itemprop='name'>",
            "<script type='application/ld+json'>",
            "</script>",
            '{"@type": "Product", "offers": [',
            "]}",
            "</div>",
            '<div data-hook="review" id="R1">',
            '<span data-hook="review-date">',
            "<li class='a-last'><a href='?p=2'>",
            "<div class='jdgm-rev' data-review-id='1'>",
            "<script id='__NEXT_DATA__'>",
            '{"props": null}',
        ]
    )
    | st.text(max_size=20),
    max_size=25,
).map("".join)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fragments)
def test_parsers_never_crash_on_broken_markup(html: str) -> None:
    product = sources.parse_product_page(html, "https://shop.example/p/1")
    assert product.blocked or product.listing is not None
    sources.parse_review_page(html, "https://shop.example/p/1/reviews")
    assert sources.detect(html).name in sources.PLATFORMS
