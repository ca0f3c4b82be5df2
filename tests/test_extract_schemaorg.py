"""schema.org extraction on hand-written pages in the shapes real stores publish."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from spiders import sources
from spiders.extract.schemaorg import main_product, read_structured_data
from spiders.normalise import normalise_listing, normalise_review

URL = "https://shop.example/products/inversion-table"


def page(*blocks: object, head: str = "", body: str = "") -> str:
    scripts = "".join(
        f'<script type="application/ld+json">{json.dumps(b) if not isinstance(b, str) else b}</script>'
        for b in blocks
    )
    return f"<!doctype html><html lang='en'><head>{head}{scripts}</head><body>{body}</body></html>"


def listing_of(html: str, url: str = URL):
    return normalise_listing(sources.parse_product_page(html, url).listing)


def test_full_product_with_reviews() -> None:
    html = page(
        {
            "@context": "https://schema.org",
            "@type": "Product",
            "name": "Teeter FitSpine X3 Inversion Table",
            "brand": {"@type": "Brand", "name": "Teeter"},
            "sku": 1234,
            "gtin13": "5901885533094",
            "mpn": "X3-01",
            "offers": {
                "@type": "Offer",
                "price": "449.00",
                "priceCurrency": "USD",
                "availability": "https://schema.org/InStock",
            },
            "aggregateRating": {
                "@type": "AggregateRating",
                "ratingValue": "4.6",
                "reviewCount": "1,204",
            },
            "review": [
                {
                    "@type": "Review",
                    "author": {"@type": "Person", "name": "Dana"},
                    "reviewRating": {"@type": "Rating", "ratingValue": 5},
                    "datePublished": "2024-03-02",
                    "name": "Back pain gone",
                    "reviewBody": "Ten minutes a day and my back is fine.",
                },
                {
                    "@type": "Review",
                    "author": "Lee",
                    "reviewRating": {"ratingValue": "2"},
                    "datePublished": "2024-01-15",
                    "description": "Wobbly frame.",
                },
            ],
        }
    )
    result = sources.parse_product_page(html, URL)
    listing = normalise_listing(result.listing)
    assert listing.title == "Teeter FitSpine X3 Inversion Table"
    assert (listing.brand, listing.sku, listing.gtin, listing.mpn) == (
        "Teeter",
        "1234",
        "5901885533094",
        "X3-01",
    )
    assert (listing.price, listing.currency, listing.availability) == (
        Decimal("449.00"),
        "USD",
        "in_stock",
    )
    assert listing.rating == 4.6 and listing.review_count == 1204
    reviews = [normalise_review(r) for r in result.reviews]
    assert [(r.author, r.rating, r.date, r.title) for r in reviews] == [
        ("Dana", 5.0, "2024-03-02", "Back pain gone"),
        ("Lee", 2.0, "2024-01-15", None),
    ]
    assert reviews[1].body == "Wobbly frame."


def test_graph_lowercase_type_bare_instock_and_escaped_name() -> None:
    html = page(
        {
            "@context": "https://schema.org",
            "@graph": [
                {"@type": "WebPage", "name": "Shop"},
                {
                    "@type": ["product", "Thing"],
                    "name": "11&quot; Back Stretcher",
                    "brand": ["Chirp", "Other"],
                    "offers": {"price": "39.5", "priceCurrency": "GBP", "availability": "InStock"},
                },
            ],
        }
    )
    listing = listing_of(html)
    assert listing.title == '11" Back Stretcher'
    assert listing.brand == "Chirp"
    assert (listing.price, listing.currency, listing.availability) == (
        Decimal("39.50"),
        "GBP",
        "in_stock",
    )


def test_offer_list_per_size_takes_cheapest_in_stock_and_product_sku() -> None:
    html = page(
        {
            "@context": "http://schema.org",
            "@type": "Product",
            "name": "Posture Corrector",
            "sku": "PC-1",
            "offers": [
                {
                    "@type": "Offer",
                    "sku": "PC-1-S",
                    "price": "19.99",
                    "priceCurrency": "EUR",
                    "availability": "http://schema.org/OutOfStock",
                },
                {
                    "@type": "Offer",
                    "sku": "PC-1-M",
                    "price": "24.99",
                    "priceCurrency": "EUR",
                    "availability": "http://schema.org/InStock",
                },
                {
                    "@type": "Offer",
                    "sku": "PC-1-L",
                    "price": "29.99",
                    "priceCurrency": "EUR",
                    "availability": "http://schema.org/InStock",
                },
            ],
        }
    )
    listing = listing_of(html)
    assert (listing.price, listing.availability, listing.sku) == (
        Decimal("24.99"),
        "in_stock",
        "PC-1",
    )


def test_all_offers_sold_out_is_out_of_stock() -> None:
    html = page(
        {
            "@type": "Product",
            "name": "Lumbar Roll",
            "offers": [
                {
                    "price": "12",
                    "priceCurrency": "USD",
                    "availability": "https://schema.org/SoldOut",
                }
            ],
        }
    )
    assert listing_of(html).availability == "out_of_stock"


def test_aggregate_offer_and_price_specification() -> None:
    aggregate = page(
        {
            "@type": "Product",
            "name": "Traction Belt",
            "offers": {
                "@type": "AggregateOffer",
                "lowPrice": "59.00",
                "highPrice": "79.00",
                "priceCurrency": "USD",
                "offerCount": 3,
            },
        }
    )
    assert listing_of(aggregate).price == Decimal("59.00")
    spec = page(
        {
            "@type": "Product",
            "name": "AV Backpack",
            "sku": 127,
            "offers": [
                {
                    "@type": "Offer",
                    "priceSpecification": [
                        {
                            "@type": "UnitPriceSpecification",
                            "price": "35.00",
                            "priceCurrency": "USD",
                            "valueAddedTaxIncluded": "false",
                        }
                    ],
                    "availability": "http://schema.org/InStock",
                }
            ],
        }
    )
    listing = listing_of(spec)
    assert (listing.price, listing.currency, listing.sku) == (Decimal("35.00"), "USD", "127")


def test_microdata_with_scheme_less_context_and_count_in_words() -> None:
    html = """<html><body><div itemscope itemtype="://schema.org/Product">
      <h1 itemprop="name">Neck Traction Device</h1>
      <span itemprop="brand">Vive</span>
      <div itemprop="aggregateRating" itemscope itemtype="://schema.org/AggregateRating">
        <span itemprop="ratingValue">4.72</span> <span itemprop="ratingCount">(36 Reviews)</span></div>
      <div itemprop="offers" itemscope itemtype="://schema.org/Offer">
        <meta itemprop="priceCurrency" content="pln"><span itemprop="price">32 zł/ szt.</span>
        <link itemprop="availability" href="//schema.org/InStock"></div>
    </div></body></html>"""
    listing = listing_of(html)
    assert listing.title == "Neck Traction Device" and listing.brand == "Vive"
    assert (listing.price, listing.currency, listing.availability) == (
        Decimal("32.00"),
        "PLN",
        "in_stock",
    )
    assert listing.rating == pytest.approx(4.72) and listing.review_count == 36


def test_template_placeholder_brand_is_dropped() -> None:
    html = page({"@type": "Product", "name": "Sports bra", "brand": {"name": "$metabrand"}})
    assert listing_of(html).brand is None


def test_opengraph_price_fills_a_page_without_offers() -> None:
    head = (
        '<meta property="og:title" content="Back Stretcher">'
        '<meta property="product:price:amount" content="29.00">'
        '<meta property="product:price:currency" content="EUR">'
    )
    listing = listing_of(page(head=head))
    assert (listing.title, listing.price, listing.currency) == (
        "Back Stretcher",
        Decimal("29.00"),
        "EUR",
    )


def test_no_structured_price_means_none_not_a_guess() -> None:
    html = page(
        {"@type": "Product", "name": "Foam Roller"}, body="<p>Call us for a quote: 0800 123 456</p>"
    )
    listing = listing_of(html)
    assert listing.price is None and listing.currency is None and listing.rating is None


def test_no_reviews_wording_is_a_count_of_zero() -> None:
    html = page(
        {
            "@type": "Product",
            "name": "Foam Roller",
            "offers": {"price": "9", "priceCurrency": "USD"},
        },
        body="<div class='reviews'>Be the first to review this product</div>",
    )
    listing = listing_of(html)
    assert listing.review_count == 0 and listing.rating is None


def test_top_level_review_objects_and_canonical_url() -> None:
    html = page(
        {
            "@context": "http://schema.org",
            "@type": "Review",
            "author": {"name": "Sam"},
            "reviewRating": {"ratingValue": 4},
            "reviewBody": "Solid.",
            "datePublished": "2020-11-03",
        },
        head='<link rel="canonical" href="/p/123">',
    )
    result = sources.parse_product_page(html, "https://www.bigbox.example/site/p/123?skuId=9")
    assert result.listing.canonical_url == "https://www.bigbox.example/p/123"
    assert [(r.author, r.body) for r in result.reviews] == [("Sam", "Solid.")]


def test_broken_json_ld_is_ignored_not_fatal() -> None:
    html = page('{"@type": "Product", "name": "Broken', {"@type": "Product", "name": "Fine"})
    assert listing_of(html).title == "Fine"


def test_empty_and_garbage_input_give_an_empty_listing() -> None:
    for html in ("", b"", "not html at all", b"\xff\xfe\x00garbage"):
        page_ = sources.parse_product_page(html, URL)
        assert (
            page_.listing is not None
            and page_.listing.title is None
            and page_.listing.price is None
        )


def test_labelled_spec_cells_fill_missing_sku_and_brand_only() -> None:
    html = page(
        {"@type": "Product", "name": "Hoodie", "offers": {"price": "25", "priceCurrency": "EUR"}},
        body="<table><tr><td class='attrLabels'>Brand: </td><td><span>Fruit of the Loom</span></td></tr>"
        "<tr><td>Material:</td><td>Cotton</td></tr></table>"
        "<div class='itm-num'>eBay item number:</div><div>223820586800</div>"
        "<p>Our brand: we write long prose here that is not a value.</p>",
    )
    listing = listing_of(html)
    assert (listing.brand, listing.sku) == ("Fruit of the Loom", "223820586800")
    declared = html.replace('"name": "Hoodie"', '"name": "Hoodie", "sku": "H-1", "brand": "Gildan"')
    assert (listing_of(declared).brand, listing_of(declared).sku) == ("Gildan", "H-1")


def test_microdata_product_id_is_the_sku_unless_it_names_a_scheme() -> None:
    html = """<div itemscope itemtype="https://schema.org/Product"><h1 itemprop="name">Sports bra</h1>
    <p>Ref : <span itemprop="productID">VE900</span></p></div>"""
    assert listing_of(html).sku == "VE900"
    assert listing_of(html.replace("VE900", "isbn:9780306406157")).sku is None


def test_a_syntax_extruct_fails_on_hides_neither_the_others_nor_json_ld():
    # extruct's uniform mode raised KeyError('microdata') on this microdata, errors="ignore"
    # or not (hypothesis found it); the page's JSON-LD and OpenGraph must still be read, and
    # the empty microdata item must not become the page's product.
    html = (
        "<html><head><meta property='og:title' content='Spine Stretcher'>"
        "<script type='application/ld+json'>"
        '{"@context": "https://schema.org", "@type": "Product", "name": "Lumbar Traction Belt"}'
        "</script></head><body>"
        "<div itemscope itemtype='https://schema.org/Product'>"
        "<script id='__NEXT_DATA__'></script>\x08</div></body></html>"
    )
    data = read_structured_data(html, "https://shop.example/p/1")
    assert "Lumbar Traction Belt" in [node.get("name") for node in data.nodes]
    assert main_product(data)["name"] == "Lumbar Traction Belt"
    assert data.opengraph["og:title"] == "Spine Stretcher"


@pytest.mark.parametrize(
    ("opening", "closing"),
    [("/*<![CDATA[*/", "/*]]>*/"), ("//<![CDATA[", "//]]>"), ("<!--", "-->"), ("", ";")],
)
def test_json_ld_wrapped_in_comments_or_cdata_is_read(opening: str, closing: str) -> None:
    body = json.dumps({"@type": "Product", "name": "Desk Lamp", "offers": {"price": "19.90"}})
    listing = listing_of(page(f"\n{opening}\n{body}\n{closing}\n"))
    assert (listing.title, listing.price) == ("Desk Lamp", Decimal("19.90"))


def test_priced_offer_nested_in_a_condition_only_offer() -> None:
    # A marketplace listing: the outer Offer holds condition and seller, the inner one the price.
    html = page(
        {
            "@type": "Product",
            "name": "Teddy Bear",
            "offers": {
                "@type": "Offer",
                "itemCondition": "New",
                "offers": {
                    "@type": "Offer",
                    "price": "12.99",
                    "priceCurrency": "GBP",
                    "availability": "https://schema.org/InStock",
                },
            },
        }
    )
    listing = listing_of(html)
    assert (listing.price, listing.currency, listing.availability) == (
        Decimal("12.99"),
        "GBP",
        "in_stock",
    )


def test_data_vocabulary_offer_details_are_the_offer() -> None:
    html = page(
        {
            "@context": "http://data-vocabulary.org",
            "@type": "Product",
            "name": "Slatted Frame",
            "offerDetails": {"@type": "Offer", "price": "206", "currency": "EUR"},
        }
    )
    assert listing_of(html).price == Decimal("206.00")


def test_bare_og_price_meta_fills_a_missing_price() -> None:
    listing = listing_of(page(head='<meta property="og:price" content="2,900원~">'))
    assert listing.price == Decimal("2900.00")
