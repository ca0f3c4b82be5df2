"""WooCommerce (Yoast JSON-LD + comment reviews) and Walmart (__NEXT_DATA__ / saved fragment) pages."""

from __future__ import annotations

import json
from decimal import Decimal

from spiders import sources
from spiders.normalise import normalise_listing, normalise_review

WOO_URL = "https://backcare.example/product/inversion-table/"
WOO_PAGE = """<!doctype html><html lang="en-GB"><head>
<link rel='stylesheet' href='/wp-content/plugins/woocommerce/assets/css/woocommerce.css'>
<script type="application/ld+json" class="yoast-schema-graph">{"@context":"https://schema.org","@graph":[
{"@type":"WebPage","@id":"/product/inversion-table/","url":"/product/inversion-table/"},
{"@type":"Product","@id":"/product/inversion-table/#product","name":"Foldable Inversion Table","sku":127,
 "offers":[{"@type":"Offer","priceSpecification":[{"@type":"UnitPriceSpecification","price":"189.00",
 "priceCurrency":"GBP"}],"availability":"http://schema.org/InStock"}]}]}</script></head>
<body class="product-template-default single single-product woocommerce woocommerce-page">
<div class="product"><h1 class="product_title entry-title">Foldable Inversion Table</h1>
<p class="price"><del><span class="woocommerce-Price-amount amount"><bdi><span class="woocommerce-Price-currencySymbol">&pound;</span>219.00</bdi></span></del>
<ins><span class="woocommerce-Price-amount amount"><bdi><span class="woocommerce-Price-currencySymbol">&pound;</span>189.00</bdi></span></ins></p>
<div class="woocommerce-product-rating"><div class="star-rating" role="img" aria-label="Rated 4.50 out of 5"><span>Rated <strong class="rating">4.50</strong> out of 5 based on <span class="rating">2</span> customer ratings</span></div>
<a href="#reviews" class="woocommerce-review-link">(<span class="count">2</span> customer reviews)</a></div>
<p class="stock in-stock">3 in stock</p>
<div class="product_meta"><span class="sku_wrapper">SKU: <span class="sku">127</span></span></div></div>
<div id="reviews" class="woocommerce-Reviews"><ol class="commentlist">
<li class="review even thread-even depth-1" id="li-comment-41"><div id="comment-41" class="comment_container">
<div class="comment-text"><div class="star-rating" role="img" aria-label="Rated 5 out of 5"><span>Rated <strong class="rating">5</strong> out of 5</span></div>
<p class="meta"><strong class="woocommerce-review__author">Alex P.</strong> <em class="woocommerce-review__verified verified">(verified owner)</em>
<span class="woocommerce-review__dash">&ndash;</span> <time class="woocommerce-review__published-date" datetime="2024-02-11T09:15:00+00:00">11 February 2024</time></p>
<div class="description"><p>Sturdy and easy to fold.</p></div></div></div></li>
<li class="review odd" id="li-comment-42"><div id="comment-42" class="comment_container"><div class="comment-text">
<div class="star-rating" role="img" aria-label="Rated 4 out of 5"></div>
<p class="meta"><strong class="woocommerce-review__author">Jo</strong> <time class="woocommerce-review__published-date" datetime="2023-10-01T18:00:00+00:00">1 October 2023</time></p>
<div class="description"><p>Good, but heavy.</p></div></div></div></li></ol>
<nav class="woocommerce-pagination"><a class="next page-numbers" href="comment-page-2/#comments">&rarr;</a></nav></div>
</body></html>"""


def test_woocommerce_product_and_reviews() -> None:
    assert sources.detect(WOO_PAGE).name == "woocommerce"
    page = sources.parse_product_page(WOO_PAGE, WOO_URL)
    listing = normalise_listing(page.listing)
    assert (listing.platform, listing.title, listing.sku) == (
        "woocommerce",
        "Foldable Inversion Table",
        "127",
    )
    assert (listing.price, listing.currency, listing.availability) == (
        Decimal("189.00"),
        "GBP",
        "in_stock",
    )
    assert listing.list_price == Decimal("219.00")
    assert (listing.rating, listing.review_count) == (4.5, 2)
    reviews = [normalise_review(r) for r in page.reviews]
    assert [(r.review_id, r.author, r.rating, r.date, r.verified, r.body) for r in reviews] == [
        ("41", "Alex P.", 5.0, "2024-02-11", True, "Sturdy and easy to fold."),
        ("42", "Jo", 4.0, "2023-10-01", False, "Good, but heavy."),
    ]
    assert page.review_page_urls == [
        "https://backcare.example/product/inversion-table/comment-page-2/#comments"
    ]


def test_woocommerce_visible_template_fills_a_page_without_json_ld() -> None:
    bare = (
        WOO_PAGE.split('<script type="application/ld+json"')[0]
        + WOO_PAGE.split("</script></head>")[1]
    )
    listing = normalise_listing(sources.parse_product_page(bare, WOO_URL).listing)
    assert (listing.title, listing.price, listing.currency, listing.availability, listing.sku) == (
        "Foldable Inversion Table",
        Decimal("189.00"),
        "GBP",
        "in_stock",
        "127",
    )


def test_woocommerce_review_page() -> None:
    page = sources.parse_review_page(WOO_PAGE, WOO_URL)
    assert len(page.reviews) == 2
    assert (
        page.next_url == "https://backcare.example/product/inversion-table/comment-page-2/#comments"
    )


NEXT_DATA = {
    "props": {
        "pageProps": {
            "initialData": {
                "data": {
                    "product": {
                        "usItemId": "5129928603",
                        "name": "Back Decompression Stretcher",
                        "brand": "Relief Co",
                        "model": "RC-200",
                        "upc": "810575035433",
                        "shortDescription": "<p>Gentle <b>stretch</b></p>",
                        "priceInfo": {
                            "currentPrice": {"price": 39.88, "currencyUnit": "USD"},
                            "wasPrice": {"price": 49.99, "currencyUnit": "USD"},
                        },
                        "availabilityStatus": "IN_STOCK",
                        "averageRating": 4.3,
                        "numberOfReviews": 212,
                        "category": {"path": [{"name": "Health"}, {"name": "Back Care"}]},
                    },
                    "reviews": {
                        "averageOverallRating": 4.3,
                        "totalReviewCount": 212,
                        "customerReviews": [
                            {
                                "reviewId": "287001",
                                "userNickname": "Kim",
                                "rating": 5,
                                "reviewTitle": "Relief",
                                "reviewText": "Works for my lower back.",
                                "reviewSubmissionTime": "7/1/2024",
                                "badges": [{"id": "VerifiedPurchaser"}],
                                "positiveFeedback": 3,
                            },
                            {
                                "reviewId": "287002",
                                "userNickname": "Lou",
                                "rating": 1,
                                "reviewTitle": None,
                                "reviewText": "Broke.",
                                "reviewSubmissionTime": "12/24/2023",
                                "badges": [],
                                "positiveFeedback": 0,
                            },
                        ],
                        "pagination": {"next": {"url": "/reviews/product/5129928603?page=2"}},
                    },
                }
            }
        }
    },
}
WALMART_PAGE = (
    '<html><head><title>Back Decompression Stretcher - Walmart.com</title></head><body><div id="__next"></div>'
    f'<script id="__NEXT_DATA__" type="application/json">{json.dumps(NEXT_DATA)}</script></body></html>'
)


def test_walmart_next_data_product_and_reviews() -> None:
    url = "https://www.walmart.com/ip/Back-Decompression-Stretcher/5129928603"
    assert sources.detect(WALMART_PAGE).name == "walmart"
    page = sources.parse_product_page(WALMART_PAGE, url)
    listing = normalise_listing(page.listing)
    assert (listing.title, listing.brand, listing.mpn, listing.gtin, listing.sku) == (
        "Back Decompression Stretcher",
        "Relief Co",
        "RC-200",
        "810575035433",
        "5129928603",
    )
    assert (listing.price, listing.list_price, listing.currency) == (
        Decimal("39.88"),
        Decimal("49.99"),
        "USD",
    )
    assert (listing.availability, listing.rating, listing.review_count) == ("in_stock", 4.3, 212)
    assert listing.category == "Health > Back Care"
    reviews = [normalise_review(r) for r in page.reviews]
    assert [
        (r.review_id, r.author, r.rating, r.title, r.date, r.verified, r.helpful_votes)
        for r in reviews
    ] == [
        ("287001", "Kim", 5.0, "Relief", "2024-07-01", True, 3),
        ("287002", "Lou", 1.0, None, "2023-12-24", False, 0),
    ]
    assert page.review_page_urls == ["https://www.walmart.com/reviews/product/5129928603?page=2"]
    review_page = sources.parse_review_page(
        WALMART_PAGE, "https://www.walmart.com/reviews/product/5129928603"
    )
    assert (review_page.rating, review_page.total_ratings, len(review_page.reviews)) == (
        4.3,
        212,
        2,
    )
    assert review_page.next_url == "https://www.walmart.com/reviews/product/5129928603?page=2"


def test_walmart_out_of_stock() -> None:
    sold_out = WALMART_PAGE.replace('"IN_STOCK"', '"OUT_OF_STOCK"')
    assert (
        normalise_listing(
            sources.parse_product_page(sold_out, "https://w.example/ip/1").listing
        ).availability
        == "out_of_stock"
    )


WALMART_FRAGMENT = """<div id="product-overview"><h1 class="prod-ProductTitle" itemprop="name">Lumbar Support Pillow</h1>
<span itemprop="sku" content="786104378"></span>
<div itemprop="aggregateRating" itemscope itemtype="//schema.org/AggregateRating">
<span itemprop="ratingValue">3.4</span><span itemprop="reviewCount">72</span></div>
<a class="prod-brandName"><span itemprop="brand">Comfort Co</span></a>
<div class="wm-item-number">Walmart #  575782833</div>
<div itemprop="offers" itemscope itemtype="//schema.org/Offer">
<meta itemprop="priceCurrency" content="USD"><span itemprop="price" content="19.94">$19.94</span>
<span class="price-ppu">($19.94/cu ft)</span><link itemprop="availability" href="//schema.org/InStock"></div></div>"""


def test_walmart_saved_fragment_without_next_data() -> None:
    assert sources.detect(WALMART_FRAGMENT).name == "walmart"
    listing = normalise_listing(
        sources.parse_product_page(WALMART_FRAGMENT, "https://www.walmart.com/ip/1").listing
    )
    assert (listing.title, listing.brand, listing.sku) == (
        "Lumbar Support Pillow",
        "Comfort Co",
        "575782833",
    )
    assert (listing.price, listing.currency, listing.availability) == (
        Decimal("19.94"),
        "USD",
        "in_stock",
    )
    assert (listing.rating, listing.review_count) == (3.4, 72)
