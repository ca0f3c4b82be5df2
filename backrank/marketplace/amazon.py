"""The Amazon-style demo store: no structured data, only Amazon's ids, data-hooks and classes."""

from __future__ import annotations

import re
from html import escape
from urllib.parse import quote_plus

from backrank.marketplace.catalog import KINDS, StoreListing, money
from backrank.marketplace.response import (
    Response,
    html_page,
    not_found,
    rendered_once,
    sitemap_index,
    text_response,
    xml_response,
)
from backrank.marketplace.reviews import page_count, reviews_page
from backrank.marketplace.storefront import StoreFront, page_number

STORE = "amazon"
DISALLOWED = "/gp/cart/"
REVIEWS_PER_PAGE = 10
RESULTS_PER_PAGE = 24
SITEMAP_CHUNK = 5000
PRODUCT_PATH = re.compile(r"^/(?:[^/]+/)?dp/([A-Z0-9]{10})/?$")
REVIEWS_PATH = re.compile(r"^/product-reviews/([A-Z0-9]{10})/?$")


def listing_path(listing: StoreListing) -> str:
    return f"/{listing.slug}/dp/{listing.key}"


def stars_text(rating: float) -> str:
    return f"{rating:.1f} out of 5 stars"


def count_text(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


class AmazonStore(StoreFront):
    """Routes Amazon-style paths to pages."""

    store = STORE
    listing_path = staticmethod(listing_path)
    sitemap_size = SITEMAP_CHUNK

    def route(self, path: str, query: dict[str, str]) -> Response:
        if match := PRODUCT_PATH.match(path):
            listing = self.by_key.get(match.group(1))
            return self.product_page(listing) if listing else not_found()
        if match := REVIEWS_PATH.match(path):
            listing = self.by_key.get(match.group(1))
            page = page_number(query.get("pageNumber", "1"))
            return self.reviews_page(listing, page) if listing and page else not_found()
        if path == "/s":
            page = page_number(query.get("page", "1"))
            return self.search_page(query.get("k", ""), page) if page else not_found()
        if path == "/robots.txt":
            return text_response(self.robots())
        if path == "/sitemap.xml":
            return xml_response(self.sitemap())
        if match := re.match(r"^/sitemaps/dp_(\d+)\.xml$", path):
            text = self.sitemap_chunk(int(match.group(1)))
            return xml_response(text) if text else not_found()
        if path.startswith(DISALLOWED):
            return html_page("Shopping Cart", "<h1>Shopping Cart</h1><p>Your cart is empty.</p>")
        if path == "/":
            links = "".join(
                f'<li><a href="/s?k={quote_plus(k.keyword)}">{escape(k.keyword)}</a></li>'
                for k in KINDS
            )
            return html_page("Amazon demo store", f"<h1>Back care</h1><ul>{links}</ul>")
        return not_found()

    def robots(self) -> str:
        return (
            f"User-agent: *\nDisallow: {DISALLOWED}\nDisallow: /gp/customer-reviews/\n\n"
            f"Sitemap: {self.base_url}/sitemap.xml\n"
        )

    @rendered_once
    def sitemap(self) -> str:
        chunks = self.sitemap_count()
        return sitemap_index([f"{self.base_url}/sitemaps/dp_{n}.xml" for n in range(1, chunks + 1)])

    @rendered_once
    def _matches(self, keyword: str) -> tuple[StoreListing, ...]:
        words = keyword.lower().split()
        kinds = {kind.category: kind.keyword for kind in KINDS}
        return tuple(
            row
            for row in self.listings
            if words
            and all(
                w.rstrip("s") in f"{row.title} {kinds[row.product.category]}".lower() for w in words
            )
        )

    def search_page(self, keyword: str, page: int) -> Response:
        matches = self._matches(keyword.strip())
        rows = matches[(page - 1) * RESULTS_PER_PAGE : page * RESULTS_PER_PAGE]
        results = "".join(self._search_result(row, n) for n, row in enumerate(rows))
        pages = -(-len(matches) // RESULTS_PER_PAGE)
        next_link = (
            f'<a class="s-pagination-item s-pagination-next" '
            f'href="/s?k={quote_plus(keyword)}&amp;page={page + 1}">Next</a>'
            if page < pages
            else '<span class="s-pagination-item s-pagination-next s-pagination-disabled">Next</span>'
        )
        body = (
            f'<div class="s-result-info-bar"><span>{len(matches):,} results for '
            f'"{escape(keyword)}"</span></div><div class="s-main-slot s-result-list">{results}'
            f'</div><div class="s-pagination-strip">{next_link}</div>'
        )
        return html_page(f"Amazon.com : {keyword}", body)

    def _search_result(self, row: StoreListing, position: int) -> str:
        price = (
            f'<span class="a-price"><span class="a-offscreen">{money(row.price_cents)}</span>'
            "</span>"
            if row.price_cents is not None
            else ""
        )
        return (
            f'<div data-component-type="s-search-result" data-asin="{row.key}" '
            f'data-index="{position}" class="s-result-item"><h2><a class="a-link-normal" '
            f'href="{listing_path(row)}"><span>{escape(row.title)}</span></a></h2>{price}</div>'
        )

    def product_page(self, row: StoreListing) -> Response:
        product = row.product
        body = [
            f'<div id="dp" class="{product.category}"><div id="centerCol">',
            (
                f'<h1 id="title"><span id="productTitle" class="a-size-large">{escape(row.title)}'
                "</span></h1>"
            ),
            (
                f'<a id="bylineInfo" class="a-link-normal" href="/stores/{quote_plus(product.brand)}">'
                f"Visit the {escape(product.brand)} Store</a>"
            ),
        ]
        if row.review_count:
            rating = stars_text(row.rating)
            body.append(
                f'<div id="averageCustomerReviews"><span id="acrPopover" '
                f'class="reviewCountTextLinkedHistogram" title="{rating}"><i class="a-icon '
                f'a-icon-star"><span class="a-icon-alt">{rating}</span></i></span> '
                f'<a id="acrCustomerReviewLink" href="#customerReviews"><span '
                f'id="acrCustomerReviewText">{count_text(row.review_count, "rating", "ratings")}'
                "</span></a></div>"
            )
        else:
            body.append(
                '<div id="averageCustomerReviews"><span class="a-size-small">'
                "No customer reviews</span></div>"
            )
        if row.price_cents is not None:
            body.append(self._price_block(row))
        body.append(
            f'<div id="availability" class="a-section a-spacing-base">'
            f'<span class="a-size-medium">{self._availability(row)}</span></div>'
        )
        if row.price_cents is not None and row.in_stock:
            body.append(
                f'<form id="addToCart"><a id="add-to-cart-button" class="a-button" '
                f'href="{DISALLOWED}add?asin={row.key}&amp;quantity=1">Add to Cart</a>'
                "</form>"
            )
        body.append(
            '<div id="feature-bullets"><ul class="a-unordered-list">'
            + "".join(
                f'<li><span class="a-list-item">{escape(s.strip())}.</span></li>'
                for s in product.description().split(". ")
                if s.strip()
            )
            + "</ul></div>"
        )
        body.append(self._details(row))
        body.append(
            f'<input type="hidden" id="ASIN" name="ASIN" value="{row.key}"></div>'
            '<div id="customerReviews"><h2>Customer reviews</h2>'
            f'<a data-hook="see-all-reviews-link-foot" class="a-link-emphasis" '
            f'href="/product-reviews/{row.key}?pageNumber=1">See all reviews</a></div></div>'
        )
        return html_page(f"Amazon.com: {row.title}", "".join(body))

    def _price_block(self, row: StoreListing) -> str:
        cents = row.price_cents
        was = ""
        if row.list_price_cents is not None:
            was = (
                f'<span class="a-size-small a-color-secondary basisPrice">List Price: '
                f'<span class="a-price a-text-price" data-a-strike="true">'
                f'<span class="a-offscreen">{money(row.list_price_cents)}</span>'
                f'<span aria-hidden="true">{money(row.list_price_cents)}</span></span></span>'
            )
        return (
            '<div id="corePrice_feature_div"><div class="a-section a-spacing-micro">'
            '<span class="a-price aok-align-center priceToPay">'
            f'<span class="a-offscreen">{money(cents)}</span><span aria-hidden="true">'
            f'<span class="a-price-symbol">$</span><span class="a-price-whole">{cents // 100:,}'
            f'<span class="a-price-decimal">.</span></span><span class="a-price-fraction">'
            f"{cents % 100:02d}</span></span></span>{was}</div></div>"
        )

    @staticmethod
    def _availability(row: StoreListing) -> str:
        if row.price_cents is None:
            return "Currently unavailable."
        return "In Stock" if row.in_stock else "Temporarily out of stock."

    @staticmethod
    def _details(row: StoreListing) -> str:
        product = row.product
        if row.show_mpn:
            cells = [
                ("Brand", product.brand),
                ("Item model number", product.mpn),
                ("Color", product.color),
                ("Maximum Weight Recommendation", f"{product.weight_lb} Pounds"),
                ("ASIN", row.key),
            ]
            rows = "".join(
                f'<tr><th class="a-color-secondary prodDetSectionEntry">{k}</th>'
                f'<td class="a-size-base">{escape(v)}</td></tr>'
                for k, v in cells
            )
            return (
                f'<table id="productDetails_techSpec_section_1" class="a-keyvalue '
                f'prodDetTable" role="presentation">{rows}</table>'
            )
        cells = [
            ("Manufacturer", product.brand),
            ("ASIN", row.key),
            ("Item Weight", f"{product.weight_lb // 10} pounds"),
        ]
        rows = "".join(
            f'<li><span class="a-list-item"><span class="a-text-bold">{k} : </span>'
            f"<span>{escape(v)}</span></span></li>"
            for k, v in cells
        )
        return f'<div id="detailBullets_feature_div"><ul class="a-unordered-list">{rows}</ul></div>'

    def reviews_page(self, row: StoreListing, page: int) -> Response:
        reviews = reviews_page(self.catalog.seed, row, page, REVIEWS_PER_PAGE)
        blocks = []
        for review in reviews:
            stars = f"{review.rating:.1f} out of 5 stars"
            date = f"{review.date:%B} {review.date.day}, {review.date.year}"
            badge = (
                '<span data-hook="avp-badge" class="a-size-mini a-color-state">'
                "Verified Purchase</span>"
                if review.verified
                else ""
            )
            helpful = ""
            if review.helpful_votes:
                votes = (
                    "One person found this helpful"
                    if review.helpful_votes == 1
                    else f"{review.helpful_votes:,} people found this helpful"
                )
                helpful = f'<span data-hook="helpful-vote-statement">{votes}</span>'
            blocks.append(
                f'<div id="{review.review_id}" data-hook="review" class="a-section review">'
                f'<div class="a-profile-content"><span class="a-profile-name">'
                f'{escape(review.author)}</span></div><div class="a-row">'
                f'<a data-hook="review-title" class="review-title" '
                f'href="/gp/customer-reviews/{review.review_id}?ASIN={row.key}">'
                f'<i data-hook="review-star-rating" class="a-icon a-icon-star review-rating">'
                f'<span class="a-icon-alt">{stars}</span></i><span class="a-letter-space">'
                f"</span><span>{escape(review.title)}</span></a></div>"
                f'<span data-hook="review-date" class="review-date">Reviewed in the United '
                f"States on {date}</span>{badge}"
                f'<div class="a-row review-data"><span data-hook="review-body" '
                f'class="review-text"><span>{escape(review.body)}</span></span></div>'
                f"{helpful}</div>"
            )
        last = page >= page_count(row, REVIEWS_PER_PAGE)
        next_item = (
            '<li class="a-disabled a-last">Next page<span class="a-letter-space"></span>→</li>'
            if last
            else f'<li class="a-last"><a href="/product-reviews/{row.key}?pageNumber={page + 1}">'
            'Next page<span class="a-letter-space"></span>→</a></li>'
        )
        previous = (
            '<li class="a-disabled">← Previous page</li>'
            if page == 1
            else f'<li><a href="/product-reviews/{row.key}?pageNumber={page - 1}">'
            "← Previous page</a></li>"
        )
        summary = ""
        if row.review_count:
            summary = (
                f'<span data-hook="rating-out-of-text" class="a-size-medium">{row.rating:.1f} '
                f'out of 5</span><div data-hook="total-review-count"><span>'
                f"{count_text(row.review_count, 'global rating', 'global ratings')}</span></div>"
                f'<div data-hook="cr-filter-info-review-rating-count">'
                f"{count_text(row.review_count, 'total rating', 'total ratings')}, "
                f"{row.review_count:,} with reviews</div>"
            )
        body = (
            f'<div id="cm_cr-product_info"><h1><a data-hook="product-link" '
            f'href="{listing_path(row)}">{escape(row.title)}</a></h1>{summary}</div>'
            f'<div id="cm_cr-review_list">{"".join(blocks)}'
            f'<ul class="a-pagination">{previous}{next_item}</ul></div>'
            f'<input type="hidden" name="asin" value="{row.key}">'
        )
        return html_page(f"Amazon.com: Customer reviews: {row.title}", body)
