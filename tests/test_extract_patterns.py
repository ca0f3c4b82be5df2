"""General markup patterns of store pages, each on hand-written HTML: shown price, stock, currency."""

from __future__ import annotations

from decimal import Decimal

import pytest
from lxml import html as lxml_html
from parsel import Selector

from spiders import sources
from spiders.currency import code_for_symbol, symbol_in, symbol_means
from spiders.extract.generic import merge
from spiders.extract.markup import page_country, selector
from spiders.extract.shown_price import shown_price
from spiders.extract.site_name import site_names, without_site_name
from spiders.extract.stock import buy_button_state, shown_availability, stock_wording
from spiders.items import Listing
from spiders.normalise import normalise_listing, parse_currency

URL = "https://shop.example/p/lamp-123"


def root(body: str):
    return lxml_html.fromstring(f"<html><body>{body}</body></html>")


def listing_of(body: str, url: str = URL, head: str = "", lang: str = "en"):
    html = f"<html lang='{lang}'><head>{head}</head><body>{body}</body></html>"
    return normalise_listing(sources.parse_product_page(html, url).listing)


# --- the price a page shows -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "price"),
    [
        ('<h1>Lamp</h1><span class="price">€ 49,90</span>', "€ 49,90"),
        ('<h1>Lamp</h1><div class="product-price"><span>1 759,99 zł</span></div>', "1 759,99 zł"),
        ('<h1>Lamp</h1><span itemprop="price" content="19.99">19,99 €</span>', "19.99"),
        # the struck-through list price beside the sale price
        ('<h1>Lamp</h1><div class="price"><del>£60.00</del> <ins>£45.00</ins></div>', "£45.00"),
        (
            '<h1>Lamp</h1><div class="price-box"><span class="old-price">$80</span>'
            '<span class="special-price">$59.99</span></div>',
            "$59.99",
        ),
        # two current amounts in one block: the lower is the sale price
        (
            '<h1>Lamp</h1><p class="prices"><span class="price">30 €</span> <span class="price">25 €</span></p>',
            "25 €",
        ),  # fmt: skip
        # the mini cart before the heading and related products after the product's price
        (
            '<div class="cart-price">€0.00</div><div class="price">€9.99</div><h1>Lamp</h1>'
            '<span class="price">€24.00</span><ul><li class="price">€5.00</li></ul>',
            "€24.00",
        ),
        # other products' prices after the heading: recommendations, related items
        (
            '<h1>Jerky</h1><div id="recommend_tag"><div class="item"><div class="sale_price">'
            "$129</div></div></div>",
            None,
        ),
        (
            '<h1>Jerky</h1><ul class="related-products"><li class="price">$5</li></ul>'
            '<div class="product-price">$99</div>',
            "$99",
        ),
        # an amount saved is not a price
        ('<h1>Jerky</h1><div class="btn_price">現省$400</div>', None),
        ('<h1>Jerky</h1><div class="price">Save £20</div><div class="price">£80</div>', "£80"),
        # a price without tax is not the price a reader pays
        ('<h1>Lamp</h1><span class="price-tax">Excl. VAT: 36.53€</span>', None),
        ('<h1>Lamp</h1><p class="price">Call for a price</p>', None),
    ],
)
def test_shown_price(body: str, price: str | None) -> None:
    assert shown_price(root(body)) == price


def test_shown_price_fills_a_listing_without_structured_data() -> None:
    listing = listing_of(
        '<h1>Desk Lamp</h1><div class="product-price">44 890 тг.</div>',
        url="https://store.example.kz/p/1",
    )
    assert (listing.price, listing.currency) == (Decimal("44890.00"), "KZT")


def test_structured_price_wins_over_shown_price() -> None:
    head = '<script type="application/ld+json">{"@type":"Product","name":"Lamp","offers":{"price":"10.00","priceCurrency":"EUR"}}</script>'  # fmt: skip
    listing = listing_of('<h1>Lamp</h1><span class="price">€12.00</span>', head=head)
    assert listing.price == Decimal("10.00")


# --- currency from the symbol and the page's country -------------------------------------------


@pytest.mark.parametrize(
    ("symbol", "country", "code"),
    [
        ("$", None, "USD"),
        ("$", "ar", "ARS"),
        ("$", "tw", "TWD"),
        ("$", "de", "USD"),  # the euro area has no dollar: the common reading
        ("kr", "dk", "DKK"),
        ("kr", None, "SEK"),
        ("Rs", "pk", "PKR"),
        ("€", "gb", "EUR"),
        ("тг.", None, "KZT"),
        ("ر.س", None, "SAR"),
        ("Lei", None, "RON"),
        ("RUR", None, "RUB"),
        ("?", None, None),
    ],
)
def test_code_for_symbol(symbol: str, country: str | None, code: str | None) -> None:
    assert code_for_symbol(symbol, country) == code


@pytest.mark.parametrize(
    ("text", "symbol"),
    [("44 890 тг.", "тг."), ("Rs 23,450", "Rs"), ("199 kr", "kr"), ("Kroner 5", None), ("$3", "$")],
)
def test_symbol_in_price_text(text: str, symbol: str | None) -> None:
    assert symbol_in(text) == symbol


def test_symbol_means_each_code_it_is_written_for() -> None:
    assert symbol_means("$", "CAD") and symbol_means("€", "EUR") and symbol_means("EUR", "EUR")
    assert not symbol_means("£", "EUR") and not symbol_means("$", None)


def test_parse_currency_reads_local_symbols_and_old_codes() -> None:
    assert parse_currency("2,900원") == "KRW"
    assert parse_currency("RUR") == "RUB"
    assert parse_currency("$ 3.340", "ARS") == "ARS"


@pytest.mark.parametrize(
    ("head", "lang", "url", "country"),
    [
        ('<meta property="og:locale" content="de_AT">', "de", "https://x.example/p", "at"),
        ("", "en-GB", "https://x.example/p", "gb"),
        ("", "es", "https://tienda.example.com.ar/p", "ar"),
        ("", "en", "https://shop.example.co.uk/p", "gb"),
        ("", "en", "https://shop.example.com/p", None),
    ],
)
def test_page_country(head: str, lang: str, url: str, country: str | None) -> None:
    page = selector(f"<html lang='{lang}'><head>{head}</head><body></body></html>")
    assert page_country(page, url) == country


def test_dollar_price_on_an_argentine_page_is_pesos() -> None:
    listing = listing_of(
        '<h1>Remera</h1><span class="price">$ 2.449</span>', url="https://tienda.example.com.ar/p"
    )
    assert listing.currency == "ARS"


# --- stock: stock lines and buy buttons in many languages --------------------------------------


@pytest.mark.parametrize(
    ("body", "state"),
    [
        ('<p class="stock">In stock</p>', "in_stock"),
        ('<div id="availability">Non disponibile</div>', "out_of_stock"),
        ('<span class="product-availability">Нет в наличии</span>', "out_of_stock"),
        ('<span class="lagerstatus">Auf Lager</span>', "in_stock"),
        ('<div class="availability">售完</div>', "out_of_stock"),
        # a template for another state, and a hidden line, say nothing
        ('<div class="unavailable-alert">Produto esgotado</div>', None),
        ('<div class="availability" style="display:none">Sold out</div>', None),
        ('<div class="availability hidden">Sold out</div>', None),
        # a long text that mentions stock is prose, not a stock line
        ('<div class="stock-info">' + "We restock weekly and ship fast. " * 4 + "</div>", None),
    ],
)
def test_stock_wording(body: str, state: str | None) -> None:
    assert stock_wording(root(body)) == state


@pytest.mark.parametrize(
    ("body", "state"),
    [
        ("<button>Add to basket</button>", "in_stock"),
        ("<button>Add to your basket</button>", "in_stock"),
        ('<input type="submit" value="In den Warenkorb">', "in_stock"),
        ("<button><span>Ajouter au panier</span></button>", "in_stock"),
        ('<a class="btn-cart" href="#">加入購物車</a>', "in_stock"),
        ("<button>Do košíka</button>", "in_stock"),
        ('<button class="add-to-cart">Add</button>', "in_stock"),
        ("<button>Contact seller</button>", "in_stock"),
        # disabled until a size is chosen: no reading either way
        (
            "<select><option>S</option><option>M</option></select><button disabled>Add to cart</button>",
            None,
        ),  # fmt: skip
        (
            '<input type="radio" name="size"><button class="btn is-disabled">Add to cart</button>',
            None,
        ),  # fmt: skip
        # disabled with nothing to choose: it cannot be bought
        ("<button disabled>Add to cart</button>", "out_of_stock"),
        ("<button>Add to wish list</button><button>Search</button>", None),
    ],
)
def test_buy_button_state(body: str, state: str | None) -> None:
    assert buy_button_state(root(body)) == state


def test_stock_line_wins_over_buy_button() -> None:
    body = '<p class="stock-status">Out of stock</p><button>Add to cart</button>'
    assert shown_availability(root(body)) == "out_of_stock"


def test_enabled_buy_button_overrides_structured_sold_out() -> None:
    head = '<script type="application/ld+json">{"@type":"Product","name":"Boots","offers":{"price":"69.95","priceCurrency":"EUR","availability":"http://schema.org/OutOfStock"}}</script>'  # fmt: skip
    assert listing_of("<h1>Boots</h1><button>Add to bag</button>", head=head).availability == (
        "in_stock"
    )
    assert listing_of("<h1>Boots</h1>", head=head).availability == "out_of_stock"


def test_priced_page_that_says_nothing_about_stock_is_on_sale() -> None:
    assert listing_of('<h1>Lamp</h1><span class="price">€ 9,99</span>').availability == "in_stock"
    assert listing_of("<h1>Lamp</h1><p>Ask us</p>").availability is None


# --- identifiers: labelled codes in many languages, the item id in the product URL -----------


@pytest.mark.parametrize(
    ("body", "sku"),
    [
        ("<h1>Lamp</h1><div>Bestellnummer 79961</div>", "79961"),
        ('<h1>Lamp</h1><span class="art">Код: 01245</span>', "01245"),
        ("<h1>Lamp</h1><p>Código: AB-1234</p>", "AB-1234"),
        ("<h1>Lamp</h1><li>Ref. 48213</li>", "48213"),
        ("<h1>Lamp</h1><span>商品編號：</span>", None),  # a label without a code
        ("<h1>Lamp</h1><p>Artikelnummer: siehe unten</p>", None),  # prose, not a code
    ],
)
def test_labelled_code_is_the_sku(body: str, sku: str | None) -> None:
    assert listing_of(body, url="https://shop.example/lamp").sku == sku


@pytest.mark.parametrize(
    ("url", "body", "sku"),
    [
        ("https://shop.example/itm/133588510845", "<p>Item 133588510845</p>", "133588510845"),
        ("https://shop.example/p/M67296549.htm", "<p>M67296549</p>", "M67296549"),
        ("https://shop.example/book-title-1589482272.html", "<b>1589482272</b>", "1589482272"),
        (
            "https://deals.example/store/1?pid=260591",
            '<script>var page = {"productId": "260591"};</script>',
            "260591",
        ),
        # a category code glued in front of the item id
        (
            "https://ads.example/boats/c5780a200532255/slatted-frame.html",
            '<script>dataLayer.push({"adId": 200532255});</script>',
            "200532255",
        ),
        # in the URL only: could be anything (a tracking number, a date)
        ("https://shop.example/itm/133588510845", "<p>Teddy bear</p>", None),
        # a slug is not an id
        ("https://shop.example/p/red-lamp", "<p>red-lamp</p>", None),
    ],
)
def test_item_id_in_the_url_is_the_sku_when_the_page_names_it(
    url: str, body: str, sku: str | None
) -> None:
    assert listing_of(f"<h1>Lamp</h1>{body}", url=url).sku == sku


def test_structured_sku_wins_over_the_url_id() -> None:
    head = '<script type="application/ld+json">{"@type":"Product","name":"Lamp","sku":"LMP-1"}</script>'  # fmt: skip
    listing = listing_of("<h1>Lamp</h1><p>LMP-1 · 133588510845</p>", url="https://s.example/itm/133588510845", head=head)  # fmt: skip
    assert listing.sku == "LMP-1"


@pytest.mark.parametrize(
    ("body", "price"),
    [
        # whole amounts written with a dash for the cents
        (
            '<h1>Slats</h1><div class="price"><strong>€&nbsp;<span>20,-</span></strong></div>',
            "€ 20,-",
        ),  # fmt: skip
        ('<h1>Slats</h1><span class="price">CHF 19.–</span>', "CHF 19.–"),
        # a price block that also holds a note: the child that is a price
        (
            '<h1>Slats</h1><div class="price"><strong>€ 206,-</strong>'
            '<div class="type">Verhandlungsbasis</div></div>',
            "€ 206,-",
        ),
        ('<h1>Slats</h1><div class="price"><span>Price:</span> <b>$15.00</b></div>', "$15.00"),
    ],
)
def test_shown_price_in_a_block_with_notes(body: str, price: str) -> None:
    assert shown_price(root(body)) == price
    assert listing_of(body).price is not None


def test_a_structured_price_of_zero_is_no_price_and_no_shown_price_is_taken() -> None:
    head = '<script type="application/ld+json">{"@type":"Product","name":"Perfume","offers":{"price":"0","priceCurrency":"ILS"}}</script>'  # fmt: skip
    body = '<h1>Perfume</h1><span class="price">149 ₪</span>'
    assert listing_of(body, head=head).price is None


@pytest.mark.parametrize(
    ("body", "price"),
    [
        # the sale price after the struck list price, a discount figure between them
        (
            "<h1>Goose floss</h1><p>List <del>$420</del> 元</p>"
            "<p>Sale <b>7 折</b> <span style='font-size:27px'>294</span> 元</p>",
            "294",
        ),
        ("<h1>Lamp</h1><s>€ 80,00</s> <strong>€ 59,90</strong>", "€ 59,90"),
        # nothing below the list price: no sale price to read
        ("<h1>Lamp</h1><del>€ 80,00</del> <span>€ 95,00</span>", None),
        ("<h1>Lamp</h1><p>no struck price</p><span>€ 9,00</span>", None),
    ],
)
def test_sale_price_after_the_struck_list_price(body: str, price: str | None) -> None:
    assert shown_price(root(body)) == price


def test_disabled_buy_button_with_nothing_to_choose_overrides_structured_in_stock() -> None:
    head = '<script type="application/ld+json">{"@type":"Product","name":"Barometer","offers":{"price":"54.50","priceCurrency":"EUR","availability":"http://schema.org/InStock"}}</script>'  # fmt: skip
    sold_out = listing_of("<h1>Barometer</h1><button disabled>Do košíka</button>", head=head)
    assert sold_out.availability == "out_of_stock"
    assert listing_of("<h1>Barometer</h1><button>Do košíka</button>", head=head).availability == (
        "in_stock"
    )


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("0 reviews", 0),
        ("Be the first to review this item", 0),
        ("10 reviews", None),
        ("1,230 reviews", None),
    ],  # fmt: skip
)
def test_no_reviews_wording_is_a_zero_count_but_ten_reviews_is_not(
    text: str, count: int | None
) -> None:
    assert listing_of(f"<h1>Lamp</h1><p>{text}</p>").review_count == count


@pytest.mark.parametrize(
    ("body", "count"),
    [
        ("<p>No reviews\n   yet</p>", 0),
        ("<p>Aucun avis</p>", 0),
        ('<script>var t = "No reviews yet";</script><p>Great lamp</p>', None),
        ('<div data-empty="No reviews yet">4 reviews</div>', None),
        ("<!-- No reviews yet --><p>Great lamp</p>", None),
    ],
)
def test_no_reviews_wording_counts_only_in_the_page_text(body: str, count: int | None) -> None:
    assert listing_of(f"<h1>Lamp</h1>{body}").review_count == count


# --- plumbing the patterns rely on ------------------------------------------------------------


def test_stock_text_that_says_neither_does_not_hide_the_other_reading() -> None:
    platform = Listing(url=URL, availability="Ships from and sold by Example")
    page = Listing(url=URL, availability="in_stock")
    assert merge(page, platform, prefer_second=True).availability == "in_stock"
    platform_knows = Listing(url=URL, availability="Currently unavailable.")
    assert merge(page, platform_knows, prefer_second=True).availability == "Currently unavailable."


def test_css_id_selectors_on_the_page_read_the_same_as_a_scan() -> None:
    html = (
        "<html><body><div id='price'><span class='a-offscreen'>$5</span></div>"
        "<input id='ASIN' value='B000000001'><table id='specs'><tr><th>Brand</th>"
        "<td>Acme</td></tr></table></body></html>"
    )
    page, plain = selector(html), Selector(text=html, type="html")
    for query in ("#price .a-offscreen::text", "input#ASIN::attr(value)", "#specs tr td::text"):
        assert page.css(query).getall() == plain.css(query).getall()
    assert "id('price')" in page._css2xpath("#price .a-offscreen")
    # inside an element an id step stays relative: id() would look at the whole document
    table = page.css("#specs")[0]
    assert "id(" not in table._css2xpath("#price span")
    assert table.css("#price span").getall() == []


@pytest.mark.parametrize(
    ("url", "lang", "currency"),
    [
        ("https://negozio.example.it/p/1", "it", "EUR"),
        ("https://shop.example/p/1", "pl-PL", "PLN"),
        ("https://shop.example.com/p/1", "en", None),  # no country: no guess
    ],
)
def test_price_without_currency_is_in_the_page_countrys_currency(
    url: str, lang: str, currency: str | None
) -> None:
    head = '<script type="application/ld+json">{"@type":"Product","name":"Lamp","offers":{"price":"16.90"}}</script>'  # fmt: skip
    assert listing_of("<h1>Lamp</h1>", url=url, head=head, lang=lang).currency == currency


# --- the store's name around titles -------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "site", "url", "clean"),
    [
        ("Slim Chino | Example Store", "Example Store", "https://shop.example/p", "Slim Chino"),
        ("Hook, black - IKEA", None, "https://www.ikea.com/gb/en/p/x", "Hook, black"),
        ("IKEA | Hook", None, "https://www.ikea.com/p/x", "Hook"),
        (
            "Pizza voucher | GOMAJI夠麻吉",
            "GOMAJI夠麻吉",
            "https://www.gomaji.com/x",
            "Pizza voucher",
        ),
        # a dash inside the product's own name stays
        ("USB-C Cable - 2 m", "Cable Shop", "https://cables.example/p", "USB-C Cable - 2 m"),
        (
            "Wi-Fi Camera - Tapo C200 | Argos",
            "Argos",
            "https://www.argos.co.uk/p",
            "Wi-Fi Camera - Tapo C200",
        ),  # fmt: skip
        ("Argos", "Argos", "https://www.argos.co.uk/p", "Argos"),
    ],
)
def test_title_without_the_store_name(title: str, site: str | None, url: str, clean: str) -> None:
    names = site_names({"og:site_name": site} if site else {}, None, url)
    assert without_site_name(title, names) == clean


def test_og_title_loses_the_site_name_suffix() -> None:
    head = '<meta property="og:title" content="Desk Lamp | Lampshop"><meta property="og:site_name" content="Lampshop">'  # fmt: skip
    assert listing_of("<p>x</p>", head=head).title == "Desk Lamp"
