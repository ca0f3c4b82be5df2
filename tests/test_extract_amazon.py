"""Amazon product and review pages (hand-written in Amazon's markup shapes, several locales)."""

from __future__ import annotations

from decimal import Decimal

from spiders import sources
from spiders.normalise import normalise_listing, normalise_review

PRODUCT_DE = """<!doctype html><html lang="de-de"><head>
<meta charset="utf-8"><meta http-equiv="content-type" content="text/html;charset=iso-8859-15">
<link rel="canonical" href="https://www.amazon.de/Inversionsbank-Klappbar/dp/B0TESTASIN"></head><body>
<span id="productTitle" class="a-size-large">   Inversionsbank klappbar für Rückenschmerzen   </span>
<a id="bylineInfo" href="/stores/Gorilla">Besuche den GORILLA SPORTS-Store</a>
<div id="averageCustomerReviews"><span id="acrPopover" title="4,3 von 5 Sternen">
<i class="a-icon a-icon-star"><span class="a-icon-alt">4,3 von 5 Sternen</span></i></span>
<span id="acrCustomerReviewText">1.204 Sternebewertungen</span></div>
<div id="corePrice_feature_div"><span class="a-price"><span class="a-offscreen">149,99 €</span>
<span aria-hidden="true">149,99€</span></span></div>
<div id="availability"><span>Nur noch 3 auf Lager</span><script>var x = "nicht verfügbar";</script></div>
<input type="hidden" id="ASIN" name="ASIN" value="B0TESTASIN">
<table id="productDetails_techSpec_section_1" class="prodDetTable">
<tr><th> Marke </th><td> Gorilla Sports </td></tr>
<tr><th> Modellnummer </th><td> &lrm;100876-00019 </td></tr></table>
<div data-hook="review" id="R3DE1" class="review"><span class="a-profile-name">Petra</span>
<a data-hook="review-title"><i data-hook="review-star-rating"><span class="a-icon-alt">5,0 von 5 Sternen</span></i>
<span>Endlich schmerzfrei</span></a>
<span data-hook="review-date">Rezension aus Deutschland vom 7. Juni 2018</span>
<span data-hook="avp-badge">Verifizierter Kauf</span>
<span data-hook="review-body"><span>Stabil und einfach.</span></span>
<span data-hook="helpful-vote-statement">Eine Person fand diese Informationen hilfreich</span></div>
<a data-hook="see-all-reviews-link-foot" href="/Inversionsbank/product-reviews/B0TESTASIN/ref=cm_cr_dp_d_show_all_btm">Alle Rezensionen</a>
</body></html>"""

REVIEWS_IT = """<html lang="it-it"><body>
<a data-hook="product-link" href="/Trazione-Cervicale/dp/B0ITALYXYZ">Dispositivo di trazione cervicale</a>
<span data-hook="rating-out-of-text">4,1 su 5</span>
<div data-hook="total-review-count">2.345 valutazioni globali</div>
<div data-hook="review" id="RIT0001"><span class="a-profile-name">Giulia</span>
<a data-hook="review-title"><i data-hook="review-star-rating"><span class="a-icon-alt">2,0 su 5 stelle</span></i>
<span>Non per me</span></a>
<span data-hook="review-date">Recensito in Italia il 3 marzo 2021</span>
<span data-hook="review-body"><span>Troppo rigido.</span></span>
<span data-hook="helpful-vote-statement">Una persona lo ha trovato utile</span></div>
<div data-hook="review" id="RIT0002"><span class="a-profile-name">Marco</span>
<a data-hook="review-title"><i data-hook="review-star-rating"><span class="a-icon-alt">5,0 su 5 stelle</span></i>
<span>Ottimo</span></a>
<span data-hook="review-date">Recensito in Italia il 15 gennaio 2022</span>
<span data-hook="avp-badge">Acquisto verificato</span>
<span data-hook="review-body"><span>Funziona.</span></span>
<span data-hook="helpful-vote-statement">12 persone l'hanno trovato utile</span></div>
<ul class="a-pagination"><li class="a-disabled">Precedente</li>
<li class="a-last"><a href="/product-reviews/B0ITALYXYZ/ref=cm_cr_arp_d_paging_btm_2?pageNumber=2">Avanti</a></li></ul>
</body></html>"""

UNAVAILABLE_US = """<html lang="en-us"><body><span id="productTitle">Back Stretcher Pro</span>
<a id="bylineInfo">Brand: ChiroFlex</a>
<div id="availability"><span class="a-color-price">Currently unavailable.</span>
<span>We don't know when or if this item will be back in stock.</span></div>
<input type="hidden" id="ASIN" value="B0UNAVAIL1"></body></html>"""


def test_german_product_page() -> None:
    page = sources.parse_product_page(
        PRODUCT_DE.encode("utf-8"), "https://www.amazon.de/dp/B0TESTASIN"
    )
    assert sources.detect(PRODUCT_DE).name == "amazon"
    listing = normalise_listing(page.listing)
    assert listing.platform == "amazon"
    assert listing.title == "Inversionsbank klappbar für Rückenschmerzen"
    assert listing.brand == "GORILLA SPORTS"
    assert (listing.price, listing.currency, listing.availability) == (
        Decimal("149.99"),
        "EUR",
        "in_stock",
    )
    assert (listing.rating, listing.review_count) == (4.3, 1204)
    assert (listing.asin, listing.mpn) == ("B0TESTASIN", "100876-00019")
    assert listing.canonical_url == "https://www.amazon.de/Inversionsbank-Klappbar/dp/B0TESTASIN"
    assert page.review_page_urls == [
        "https://www.amazon.de/Inversionsbank/product-reviews/B0TESTASIN/ref=cm_cr_dp_d_show_all_btm"
    ]
    [review] = [normalise_review(r) for r in page.reviews]
    assert (review.review_id, review.author, review.rating, review.title) == (
        "R3DE1",
        "Petra",
        5.0,
        "Endlich schmerzfrei",
    )
    assert (review.date, review.verified, review.helpful_votes, review.language) == (
        "2018-06-07",
        True,
        1,
        "de",
    )


def test_italian_review_page() -> None:
    page = sources.parse_review_page(REVIEWS_IT, "https://www.amazon.it/product-reviews/B0ITALYXYZ")
    reviews = [normalise_review(r) for r in page.reviews]
    assert [
        (r.review_id, r.author, r.rating, r.title, r.date, r.verified, r.helpful_votes)
        for r in reviews
    ] == [
        ("RIT0001", "Giulia", 2.0, "Non per me", "2021-03-03", False, 1),
        ("RIT0002", "Marco", 5.0, "Ottimo", "2022-01-15", True, 12),
    ]
    assert (
        page.next_url
        == "https://www.amazon.it/product-reviews/B0ITALYXYZ/ref=cm_cr_arp_d_paging_btm_2?pageNumber=2"
    )
    assert page.rating == "4,1 su 5" and page.total_ratings == "2.345 valutazioni globali"
    assert page.asin == "B0ITALYXYZ" and page.product_name == "Dispositivo di trazione cervicale"


def test_last_review_page_has_no_next_url() -> None:
    last = REVIEWS_IT.replace(
        '<li class="a-last"><a href="/product-reviews/B0ITALYXYZ/ref=cm_cr_arp_d_paging_btm_2?pageNumber=2">Avanti</a></li>',
        '<li class="a-disabled a-last">Avanti</li>',
    )
    assert (
        sources.parse_review_page(last, "https://www.amazon.it/product-reviews/B0ITALYXYZ").next_url
        is None
    )


def test_unavailable_item_has_no_price_and_builds_the_reviews_url() -> None:
    page = sources.parse_product_page(UNAVAILABLE_US, "https://www.amazon.com/dp/B0UNAVAIL1")
    listing = normalise_listing(page.listing)
    assert listing.availability == "out_of_stock"
    assert listing.price is None and listing.currency is None
    assert listing.brand == "ChiroFlex"
    assert listing.rating is None and listing.review_count is None
    assert page.review_page_urls == ["https://www.amazon.com/product-reviews/B0UNAVAIL1"]


def test_asin_from_url_when_the_hidden_input_is_missing() -> None:
    html = UNAVAILABLE_US.replace('<input type="hidden" id="ASIN" value="B0UNAVAIL1">', "")
    listing = sources.parse_product_page(
        html, "https://www.amazon.com/Back-Stretcher/dp/B0FROMURL1?th=1"
    ).listing
    assert normalise_listing(listing).asin == "B0FROMURL1"
