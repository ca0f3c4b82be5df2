"""WooCommerce product pages: visible price/stock/SKU as fallbacks and the #reviews comment list."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from parsel import Selector

from spiders.extract.generic import merge
from spiders.extract.markup import absolute, origin, squash, text_of
from spiders.items import Listing, Review, ReviewPage
from spiders.sources import woo_store_api
from spiders.sources.base import FeedPage, FeedRequest, FeedUnavailable, Page, Source

if TYPE_CHECKING:
    from backrank.core.config import StoreConfig

_MARKERS = re.compile(
    r"\bwoocommerce\b|/wp-content/|yoast-schema-graph|class=[\"'][^\"']*\bproduct-template-default"
)
_HINTS = ("woocommerce", "/wp-content/", "yoast-schema-graph", "product-template-default")

_COMMENT_ID = re.compile(r"(?:li-)?comment-(\d+)$")


def parse_listing(sel: Selector, url: str) -> Listing:
    """What the visible WooCommerce template shows (used where structured data is silent)."""
    summary = sel.css("div.summary, div.product")
    price_box = summary.css("p.price") or sel.css("p.price")
    price_node = price_box.css("ins .woocommerce-Price-amount") or price_box.css(
        ".woocommerce-Price-amount"
    )
    was_node = price_box.css("del .woocommerce-Price-amount")
    stock = sel.css("p.stock")
    availability = text_of(stock)
    if availability is None and stock:
        classes = stock.attrib.get("class", "")
        availability = (
            "in stock"
            if "in-stock" in classes
            else "out of stock"
            if "out-of-stock" in classes
            else None
        )
    return Listing(
        url=url,
        platform="woocommerce",
        title=text_of(sel.css("h1.product_title")),
        price=text_of(price_node),
        currency=text_of(price_node.css(".woocommerce-Price-currencySymbol")),
        list_price=text_of(was_node),
        availability=availability,
        sku=text_of(sel.css(".product_meta .sku")),
        rating=text_of(sel.css(".woocommerce-product-rating .star-rating strong.rating")),
        review_count=text_of(sel.css(".woocommerce-product-rating .count")),
        category=text_of(sel.css(".product_meta .posted_in a")),
    )


def parse_reviews(sel: Selector, url: str, language: str | None) -> list[Review]:
    """Reviews in #reviews li.review (WooCommerce's comment template)."""
    reviews = []
    for item in sel.css("#reviews li.review, ol.commentlist li.review"):
        container = item.css("div.comment_container") or [item]
        node = container[0]
        star = node.css(".star-rating")
        rating = (
            (squash(star.attrib.get("aria-label")) if star else None)
            or text_of(star)
            or text_of(star.css("strong.rating"))
        )
        match = _COMMENT_ID.search(item.attrib.get("id", ""))
        reviews.append(
            Review(
                url=url,
                review_id=match.group(1) if match else None,
                author=text_of(node.css(".woocommerce-review__author")),
                rating=rating,
                body=text_of(node.css(".description")),
                date=squash(
                    node.css("time.woocommerce-review__published-date::attr(datetime)").get()
                )
                or text_of(node.css("time.woocommerce-review__published-date")),
                verified=bool(node.css(".woocommerce-review__verified")),
                language=language,
            )
        )
    return reviews


def review_page_urls(sel: Selector, url: str) -> list[str]:
    """The next page of comments, when reviews are paginated."""
    next_url = absolute(
        sel.css("#reviews a.next.page-numbers::attr(href), a.next.page-numbers::attr(href)").get(),
        url,
    )
    return [next_url] if next_url else []


def parse_review_page(sel: Selector, url: str, language: str | None) -> ReviewPage:
    """A (paginated) WooCommerce reviews section."""
    urls = review_page_urls(sel, url)
    return ReviewPage(
        reviews=parse_reviews(sel, url, language),
        next_url=urls[0] if urls else None,
        rating=text_of(sel.css(".woocommerce-product-rating .star-rating strong.rating")),
        total_ratings=text_of(sel.css(".woocommerce-product-rating .count")),
        product_name=text_of(sel.css("h1.product_title")),
    )


logger = logging.getLogger(__name__)


class WooCommerce(Source):
    """WooCommerce (WordPress) stores: the Store API first (products, prices in minor units,
    stock, SKU, GTIN, categories, approved reviews; ``spiders.sources.woo_store_api``); a store
    that switched it off is read from its pages, schema.org first and the visible template
    where it is silent."""

    name = "woocommerce"
    product_path = re.compile(r"/product/[^/?#]+")
    product_link_css = (
        "ul.products a.woocommerce-LoopProduct-link",
        "ul.products li.product a[href]",
        'a[href*="/product/"]',
    )
    next_page_css = ("a.next.page-numbers",)
    feed_name = "store_api"
    feed_replaces_pages = True

    def detect(self, page: Page) -> bool:
        return page.has_any(_HINTS) and bool(_MARKERS.search(page.text))

    def feed_requests(self, store: StoreConfig) -> list[FeedRequest]:
        """The Store API's first product page of each origin the store's catalog URLs name."""
        roots = sorted({origin(url) for url in store.urls})
        return [FeedRequest(url=woo_store_api.products_url(root)) for root in roots]

    def parse_feed(self, page: Page, page_number: int) -> FeedPage:
        try:
            products = woo_store_api.parse_products(200, page.text, page.url)
        except woo_store_api.StoreApiUnavailable as problem:
            raise FeedUnavailable(str(problem)) from None
        next_url = woo_store_api.next_page_url(page.url, len(products))
        return FeedPage(products=products, next=FeedRequest(url=next_url) if next_url else None)

    def parse_listing(self, page: Page) -> Listing:
        own = parse_listing(page.sel, page.url)
        return merge(super().parse_listing(page), own, prefer_second=False)

    def parse_reviews(self, page: Page) -> list[Review]:
        return parse_reviews(page.sel, page.url, page.language) or super().parse_reviews(page)

    def review_page_urls(self, page: Page, listing: Listing) -> list[str]:
        return review_page_urls(page.sel, page.url)

    def parse_review_page(self, page: Page) -> ReviewPage:
        if woo_store_api.is_reviews_url(page.url):
            try:
                reviews = woo_store_api.parse_reviews(200, page.text, page.url)
            except woo_store_api.StoreApiUnavailable as problem:
                logger.warning("Store API reviews %s: %s", page.url, problem)
                return ReviewPage()
            return ReviewPage(
                reviews=reviews, next_url=woo_store_api.next_page_url(page.url, len(reviews))
            )
        return parse_review_page(page.sel, page.url, page.language)
