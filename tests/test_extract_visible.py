"""What the page visibly shows beats structured identifiers and prices a reader never sees."""

from __future__ import annotations

import json
from decimal import Decimal

from spiders import sources
from spiders.normalise import normalise_listing


def _page(product: dict, body: str, canonical: str | None = None) -> str:
    data = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": "Teeter Inversion Table",
        **product,
    }
    link = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    return (
        f'<html lang="en"><head><title>t</title>{link}<script type="application/ld+json">{json.dumps(data)}'
        f"</script></head><body><h1>Teeter Inversion Table</h1>{body}</body></html>"
    )


def _listing(html: str, url: str = "https://shop.example/p/inversion-table"):
    return normalise_listing(sources.parse_product_page(html, url, platform="generic").listing)


IMAGE = "https://images.shop.example/is/image/Shop/238368885"
OFFER = {"@type": "Offer", "price": "49.00", "priceCurrency": "GBP", "availability": "InStock"}


def test_visible_product_code_replaces_a_structured_sku_the_page_never_shows() -> None:
    html = _page(
        {"sku": "10206131", "offers": OFFER}, '<p class="prd-code">Product code: 287807</p>'
    )
    assert _listing(html).sku == "287807"


def test_structured_sku_the_page_shows_is_kept_over_another_labelled_code() -> None:
    html = _page(
        {"sku": "10206131", "offers": OFFER},
        '<p>SKU 10206131</p><p class="code">Item code: 287807</p>',
    )
    assert _listing(html).sku == "10206131"


def test_structured_sku_kept_when_the_page_shows_no_labelled_code() -> None:
    # WooCommerce's JSON-LD sku (127) is nowhere in the text: nothing better to offer, so keep it.
    html = _page({"sku": "127", "offers": OFFER}, "<p>A roomy backpack.</p>")
    assert _listing(html).sku == "127"


def test_two_different_labelled_codes_are_ambiguous_and_change_nothing() -> None:
    html = _page(
        {"sku": "10206131", "offers": OFFER},
        "<ul><li>Product code: 287807</li><li>Product code: 555123</li></ul>",
    )
    assert _listing(html).sku == "10206131"


def test_a_label_followed_by_words_is_not_a_code() -> None:
    html = _page({"sku": "10206131", "offers": OFFER}, "<p>Product code: unavailable</p>")
    assert _listing(html).sku == "10206131"


def test_identifier_found_only_in_the_image_url_is_dropped() -> None:
    html = _page(
        {"sku": "238368885", "mpn": "238368885", "image": IMAGE, "offers": OFFER},
        "<p>Hands-free smart speaker.</p>",
    )
    listing = _listing(html)
    assert listing.sku is None and listing.mpn is None
    assert listing.image_url == IMAGE


def test_image_id_that_is_also_the_page_id_is_kept() -> None:
    # Argos: the catalogue number is in the image URL and in the product URL itself.
    html = _page(
        {
            "sku": "4667999",
            "image": "https://media.example/i/Argos/4667999_R_Z001A",
            "offers": OFFER,
        },
        "<p>466/7999</p>",
        canonical="https://www.argos.example/product/4667999",
    )
    assert _listing(html, "https://www.argos.example/product/4667999").sku == "4667999"


def test_spec_table_mpn_replaces_an_image_id_mpn() -> None:
    body = (
        '<p class="product-code">Product code: 83810610</p><dl>'
        "<dt>Colour</dt><dd>Chalk</dd>"
        "<dt>Manufacturer Part Number (MPN)\n  </dt><dd>GA00638-GB</dd>"
        "<dt>Model name / number</dt><dd>Google Nest Mini, 2nd Gen</dd></dl>"
    )
    html = _page({"sku": "238368885", "mpn": "238368885", "image": IMAGE, "offers": OFFER}, body)
    listing = _listing(html)
    assert (listing.sku, listing.mpn) == ("83810610", "GA00638-GB")


def test_visible_mpn_in_structured_data_is_untouched_even_with_other_cells() -> None:
    body = (
        "<table><tr><th>Model Number</th><td>ALI469</td></tr></table><p>Item# N82E16883360054</p>"
    )
    html = _page({"sku": "N82E16883360054", "mpn": "ALI469", "offers": OFFER}, body)
    listing = _listing(html)
    assert (listing.sku, listing.mpn) == ("N82E16883360054", "ALI469")


ETSY_OFFER = {
    "@type": "AggregateOffer",
    "priceCurrency": "EUR",
    "lowPrice": "43.90",
    "highPrice": "43.90",
    "availability": "https://schema.org/InStock",
}


def _buy_box(price_html: str) -> str:
    return (
        '<div id="listing-right-column" class="listing-buy-box-experiment"><div data-buy-box>'
        f'<div data-buy-box-region="price"><p class="wt-text-title-03">{price_html}</p></div>'
        '<div data-buy-box-region="klarna">3 pagos de 17,70 €</div>'
        "<button>Añadir a la cesta</button></div></div>"
    )


def test_buy_box_price_wins_over_a_disagreeing_structured_price() -> None:
    listing = _listing(_page({"offers": ETSY_OFFER}, _buy_box("53,11 €")))
    assert (listing.price, listing.currency) == (Decimal("53.11"), "EUR")


def test_struck_through_was_price_in_the_buy_box_is_not_the_price() -> None:
    listing = _listing(_page({"offers": ETSY_OFFER}, _buy_box("<del>59,00 €</del> 43,90 €")))
    assert listing.price == Decimal("43.90")


def test_buy_box_price_in_another_currency_leaves_the_structured_price() -> None:
    for shown in ("US$ 57.40", "57.40 USD", "£45.00"):
        listing = _listing(_page({"offers": ETSY_OFFER}, _buy_box(shown)))
        assert (listing.price, listing.currency) == (Decimal("43.90"), "EUR"), shown


def test_price_outside_any_buy_box_does_not_override_structured_data() -> None:
    body = '<div class="price">53,11 €</div><aside class="related"><span class="price">12,00 €</span></aside>'
    assert _listing(_page({"offers": ETSY_OFFER}, body)).price == Decimal("43.90")


def test_buy_box_price_never_fills_a_missing_price() -> None:
    listing = _listing(_page({"brand": "Teeter"}, _buy_box("53,11 €")))
    assert listing.price is None
