"""The WooCommerce demo store: Yoast JSON-LD @graph (or microdata) pages, WordPress comments
and the WooCommerce Store API (``backrank.marketplace.woo_store_api``), which a store may disable."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import escape

from backrank.marketplace.catalog import KINDS, XSS_IMAGE_URL, StoreListing, money
from backrank.marketplace.response import (
    Response,
    html_page,
    not_found,
    rendered_once,
    script_json,
    sitemap_index,
    text_response,
    xml_response,
)
from backrank.marketplace.reviews import GeneratedReview, page_count, reviews_page
from backrank.marketplace.shopify import decimal_text
from backrank.marketplace.storefront import StoreFront
from backrank.marketplace.woo_store_api import StoreApi

STORE = "woocommerce"
DISALLOWED = "/cart/"
REVIEWS_PER_PAGE = 10
PRODUCTS_PER_PAGE = 12
SITEMAP_CHUNK = 1000  # Yoast's default per sitemap file
SITE_NAME = "Demo Back Care Shop"
PRODUCT_PATH = re.compile(r"^/product/([a-z0-9-]+)/(?:comment-page-(\d+)/)?$")
CATEGORY_PATH = re.compile(r"^/product-category/([a-z-]+)/(?:page/(\d+)/)?$")
SITEMAP_PATH = re.compile(r"^/product-sitemap(\d*)\.xml$")


def listing_path(listing: StoreListing) -> str:
    return f"/product/{listing.key}/"


class WooCommerceStore(StoreFront):
    """Routes WordPress/WooCommerce paths to pages."""

    store = STORE
    listing_path = staticmethod(listing_path)
    sitemap_size = SITEMAP_CHUNK

    def __init__(
        self,
        catalog,
        base_url: str,
        store_api: bool = True,
        delisted: Callable[[StoreListing], bool] = lambda row: False,
    ) -> None:
        super().__init__(catalog, base_url)
        self.store_api_enabled = store_api  # False: /wp-json/ answers 401 (REST API disabled)
        self.delisted = delisted  # products taken off the store today (the "delisted" fault)
        self.store_api = StoreApi(self)

    def route(self, path: str, query: dict[str, str]) -> Response:
        api = self.store_api.route(path, query, self.store_api_enabled)
        if api is not None:
            return api
        if match := PRODUCT_PATH.match(path):
            listing = self.by_key.get(match.group(1))
            page = int(match.group(2) or 1)
            if listing is None or not 1 <= page <= page_count(listing, REVIEWS_PER_PAGE):
                return not_found()
            return self.product_page(listing, page)
        if match := CATEGORY_PATH.match(path):
            rows = self.by_category.get(match.group(1))
            page = int(match.group(2) or 1)
            if (
                rows is None
                or page < 1
                or (page > 1 and (page - 1) * PRODUCTS_PER_PAGE >= len(rows))
            ):
                return not_found()
            return self.category_page(match.group(1), rows, page)
        if path == "/robots.txt":
            return text_response(self.robots())
        if path == "/sitemap_index.xml":
            return xml_response(self.sitemap())
        if match := SITEMAP_PATH.match(path):
            text = self.sitemap_chunk(int(match.group(1) or 1))
            return xml_response(text) if text else not_found()
        if path.startswith(DISALLOWED):
            return html_page("Cart", "<h1>Cart</h1><p>Your cart is currently empty.</p>")
        if path in ("/", "/shop/"):
            links = "".join(
                f'<li><a href="/product-category/{k.category}/">{k.category}</a></li>'
                for k in KINDS
            )
            return html_page(SITE_NAME, f"<h1>Shop</h1><ul>{links}</ul>", self.wp_head())
        return not_found()

    def wp_head(self) -> str:
        """What WordPress and WooCommerce print in every page's <head>: the REST API's root."""
        return (
            f'<link rel="https://api.w.org/" href="{self.base_url}/wp-json/">'
            '<meta name="generator" content="WordPress 6.6.2">'
            '<meta name="generator" content="WooCommerce 9.3.3">'
        )

    def robots(self) -> str:
        return (
            f"User-agent: *\nDisallow: /wp-admin/\nAllow: /wp-admin/admin-ajax.php\n"
            f"Disallow: {DISALLOWED}\nDisallow: /checkout/\n\n"
            f"Sitemap: {self.base_url}/sitemap_index.xml\n"
        )

    @rendered_once
    def sitemap(self) -> str:
        chunks = self.sitemap_count()
        names = ["product-sitemap.xml"] + [f"product-sitemap{n}.xml" for n in range(2, chunks + 1)]
        return sitemap_index(
            [f"{self.base_url}/{name}" for name in names],
            stylesheet=f"{self.base_url}/main-sitemap.xsl",
        )

    @rendered_once
    def sitemap_chunk(self, number: int) -> str | None:
        rows = self.sitemap_rows(number)
        if not rows:
            return None
        entries = "".join(
            f"\t<url>\n\t\t<loc>{self.url(row)}</loc>\n\t\t<lastmod>2024-05-24T16:23:11+00:00"
            f"</lastmod>\n\t\t<image:image>\n\t\t\t<image:loc>{self._image(row)}</image:loc>\n"
            "\t\t</image:image>\n\t</url>\n"
            for row in rows
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?><?xml-stylesheet type="text/xsl" '
            f'href="{self.base_url}/main-sitemap.xsl"?>\n<urlset xmlns:image="http://www.'
            'google.com/schemas/sitemap-image/1.1" xmlns="http://www.sitemaps.org/schemas/'
            f'sitemap/0.9">\n{entries}</urlset>\n<!-- XML Sitemap generated by Yoast SEO -->'
        )

    def _image(self, row: StoreListing) -> str:
        if row.hostile:
            return XSS_IMAGE_URL
        return f"{self.base_url}/wp-content/uploads/2024/05/{row.key}.jpg"

    def category_page(self, category: str, rows: list[StoreListing], page: int) -> Response:
        shown = rows[(page - 1) * PRODUCTS_PER_PAGE : page * PRODUCTS_PER_PAGE]
        items = "".join(
            f'<li class="product type-product post-{row.number_id}"><a href="{listing_path(row)}" '
            f'class="woocommerce-LoopProduct-link"><h2 class="woocommerce-loop-product__title">'
            f"{escape(row.title)}</h2></a>{self._price_html(row)}"
            + (
                f'<a href="{DISALLOWED}?add-to-cart={row.number_id}" class="button '
                f'add_to_cart_button">Add to cart</a>'
                if row.in_stock
                else ""
            )
            + "</li>"
            for row in shown
        )
        more = ""
        if page * PRODUCTS_PER_PAGE < len(rows):
            more = (
                f'<nav class="woocommerce-pagination"><a class="next page-numbers" '
                f'href="/product-category/{category}/page/{page + 1}/">→</a></nav>'
            )
        return html_page(
            f"{category} – {SITE_NAME}", f'<ul class="products columns-4">{items}</ul>{more}'
        )

    @staticmethod
    def _price_html(row: StoreListing) -> str:
        if row.price_cents is None:
            return ""
        amount = lambda cents: (
            f'<span class="woocommerce-Price-amount amount"><bdi><span class="woocommerce-Price-'
            f'currencySymbol">$</span>{money(cents)[1:]}</bdi></span>'
        )
        if row.list_price_cents is not None:
            return (
                f'<p class="price"><del aria-hidden="true">{amount(row.list_price_cents)}</del>'
                f" <ins>{amount(row.price_cents)}</ins></p>"
            )
        return f'<p class="price">{amount(row.price_cents)}</p>'

    def product_page(self, row: StoreListing, page: int) -> Response:
        product = row.product
        reviews = reviews_page(self.catalog.seed, row, page, REVIEWS_PER_PAGE)
        url = self.url(row)
        head = self.wp_head() + f'<link rel="canonical" href="{url}">'
        head += (
            f'<script type="application/ld+json" class="yoast-schema-graph">'
            f"{script_json(self._yoast_graph(row, url))}</script>"
        )
        if not row.use_microdata:  # older themes print microdata instead of the JSON-LD product
            head += (
                f'<script type="application/ld+json">'
                f"{script_json(self._product_graph(row, url, reviews))}</script>"
            )
        stock = (
            '<p class="stock in-stock">In stock</p>'
            if row.in_stock
            else '<p class="stock out-of-stock">Out of stock</p>'
        )
        add = (
            f'<a href="{DISALLOWED}?add-to-cart={row.number_id}" class="single_add_to_cart_'
            f'button button">Add to cart</a>'
            if row.in_stock
            else ""
        )
        sku = ""
        if row.show_mpn:
            sku = f'<span class="sku_wrapper">SKU: <span class="sku">{product.mpn}</span></span>'
        micro = row.use_microdata
        itemprop_name, itemprop_description = _itemprops(micro, "name", "description")
        summary = (
            f'<h1 class="product_title entry-title"{itemprop_name}>'
            f"{escape(row.title)}</h1>{self._price_html(row)}"
            f"{self._offer_microdata(row) if micro else ''}{stock}{add}"
            f'<div class="product_meta">{sku}<span class="posted_in">Category: <a href="/product-'
            f'category/{product.category}/" rel="tag">{product.category}</a></span></div>'
            f'<div class="woocommerce-product-details__short-description"'
            f"{itemprop_description}><p>{escape(product.description())}"
            "</p></div>"
        )
        body = (
            f'<div id="product-{row.number_id}" class="product type-product"'
            + (' itemscope itemtype="https://schema.org/Product"' if micro else "")
            + f'><div class="summary entry-summary">{summary}</div>'
            + self._reviews_html(row, reviews, page)
            + "</div>"
        )
        return html_page(f"{row.title} – {SITE_NAME}", body, head)

    @staticmethod
    def _offer_microdata(row: StoreListing) -> str:
        parts = ['<div itemprop="offers" itemscope itemtype="https://schema.org/Offer">']
        if row.price_cents is not None:
            parts.append(
                f'<meta itemprop="price" content="{decimal_text(row.price_cents)}">'
                '<meta itemprop="priceCurrency" content="USD">'
            )
        state = "InStock" if row.in_stock else "OutOfStock"
        parts.append(f'<link itemprop="availability" href="https://schema.org/{state}"></div>')
        parts.append(
            '<div itemprop="brand" itemscope itemtype="https://schema.org/Brand">'
            f'<meta itemprop="name" content="{escape(row.product.brand)}"></div>'
        )
        if row.show_mpn:
            parts.append(f'<meta itemprop="sku" content="{row.product.mpn}">')
        if row.show_gtin:
            parts.append(f'<meta itemprop="gtin13" content="{row.product.gtin}">')
        if row.review_count:
            parts.append(
                '<div itemprop="aggregateRating" itemscope itemtype="https://schema.org/'
                f'AggregateRating"><meta itemprop="ratingValue" content="{row.rating}">'
                f'<meta itemprop="reviewCount" content="{row.review_count}"></div>'
            )
        return "".join(parts)

    def _yoast_graph(self, row: StoreListing, url: str) -> dict:
        return {
            "@context": "https://schema.org",
            "@graph": [
                {
                    "@type": "WebPage",
                    "@id": url,
                    "url": url,
                    "name": f"{row.title} - {SITE_NAME}",
                    "isPartOf": {"@id": f"{self.base_url}/#website"},
                    "breadcrumb": {"@id": f"{url}#breadcrumb"},
                    "inLanguage": "en-US",
                },
                {
                    "@type": "BreadcrumbList",
                    "@id": f"{url}#breadcrumb",
                    "itemListElement": [
                        {
                            "@type": "ListItem",
                            "position": 1,
                            "name": "Home",
                            "item": f"{self.base_url}/",
                        },
                        {
                            "@type": "ListItem",
                            "position": 2,
                            "name": "Shop",
                            "item": f"{self.base_url}/shop/",
                        },
                        {"@type": "ListItem", "position": 3, "name": row.title},
                    ],
                },
                {
                    "@type": "WebSite",
                    "@id": f"{self.base_url}/#website",
                    "url": f"{self.base_url}/",
                    "name": SITE_NAME,
                    "inLanguage": "en-US",
                },
            ],
        }

    def _product_graph(self, row: StoreListing, url: str, reviews: list[GeneratedReview]) -> dict:
        product = row.product
        ld: dict = {
            "@context": "https://schema.org/",
            "@type": "Product",
            "@id": f"{url}#product",
            "name": row.title,
            "url": url,
            "description": product.description(),
            "image": self._image(row),
            "brand": {"@type": "Brand", "name": product.brand},
        }
        # WooCommerce prints the SKU field; stores that leave it empty get the post id.
        ld["sku"] = product.mpn if row.show_mpn else row.number_id
        if row.show_gtin:
            ld["gtin13"] = product.gtin
        if row.price_cents is not None:
            price = decimal_text(row.price_cents)
            state = "InStock" if row.in_stock else "OutOfStock"
            ld["offers"] = [
                {
                    "@type": "Offer",
                    "price": price,
                    "priceValidUntil": "2026-12-31",
                    "priceSpecification": {
                        "price": price,
                        "priceCurrency": "USD",
                        "valueAddedTaxIncluded": "false",
                    },
                    "priceCurrency": "USD",
                    "availability": f"http://schema.org/{state}",
                    "url": url,
                    "seller": {"@type": "Organization", "name": SITE_NAME, "url": self.base_url},
                }
            ]
        if row.review_count:
            ld["aggregateRating"] = {
                "@type": "AggregateRating",
                "ratingValue": f"{row.rating:.2f}",
                "reviewCount": row.review_count,
            }
            ld["review"] = [
                {
                    "@type": "Review",
                    "reviewRating": {
                        "@type": "Rating",
                        "ratingValue": str(review.rating),
                        "bestRating": "5",
                        "worstRating": "1",
                    },
                    "author": {"@type": "Person", "name": review.author},
                    "datePublished": review.date.isoformat() + "+00:00",
                    "name": review.title,
                    "description": review.body,
                }
                for review in reviews
            ]
        return {
            "@context": "https://schema.org/",
            "@graph": [
                {
                    "@context": "https://schema.org/",
                    "@type": "BreadcrumbList",
                    "itemListElement": [
                        {
                            "@type": "ListItem",
                            "position": 1,
                            "item": {"name": "Home", "@id": self.base_url},
                        },
                        {
                            "@type": "ListItem",
                            "position": 2,
                            "item": {
                                "name": product.category,
                                "@id": f"{self.base_url}/product-category/{product.category}/",
                            },
                        },
                    ],
                },
                ld,
            ],
        }

    def _reviews_html(self, row: StoreListing, reviews: list[GeneratedReview], page: int) -> str:
        micro = row.use_microdata
        itemprop_author, itemprop_datePublished, itemprop_description = _itemprops(
            micro, "author", "datePublished", "description"
        )
        items = []
        for review in reviews:
            attrs = (
                ' itemprop="review" itemscope itemtype="https://schema.org/Review"' if micro else ""
            )
            verified = (
                '<em class="woocommerce-review__verified verified">(verified owner)</em> '
                if review.verified
                else ""
            )
            rating_md = (
                ' itemprop="reviewRating" itemscope itemtype="https://schema.org/Rating"'
                if micro
                else ""
            )
            rating_meta = (
                f'<meta itemprop="ratingValue" content="{review.rating}">' if micro else ""
            )
            items.append(
                f'<li class="review even thread-even depth-1" id="li-comment-{review.number}"{attrs}>'
                f'<div id="comment-{review.number}" class="comment_container"><div class="comment-'
                f'text"><div class="star-rating" role="img" aria-label="Rated {review.rating} out '
                f'of 5"{rating_md}>{rating_meta}<span>Rated <strong class="rating">{review.rating}'
                f'</strong> out of 5</span></div><p class="meta"><strong class="woocommerce-'
                f'review__author"{itemprop_author}>{escape(review.author)}'
                f'</strong> {verified}<span class="woocommerce-review__dash">–</span> '
                f'<time class="woocommerce-review__published-date" datetime="'
                f'{review.date.isoformat()}+00:00"{itemprop_datePublished}>'
                f"{review.date:%B} {review.date.day}, {review.date.year}</time></p>"
                f'<div class="description"{itemprop_description}>'
                f"<p>{escape(review.body)}</p></div></div></div></li>"
            )
        nav = ""
        pages = page_count(row, REVIEWS_PER_PAGE)
        if pages > 1:
            links = []
            if page > 1:
                links.append(
                    f'<a class="prev page-numbers" href="{self._comment_page(row, page - 1)}">←</a>'
                )
            for number in range(1, pages + 1):
                links.append(
                    f'<span aria-current="page" class="page-numbers current">{number}</span>'
                    if number == page
                    else f'<a class="page-numbers" href="{self._comment_page(row, number)}">'
                    f"{number}</a>"
                )
            if page < pages:
                links.append(
                    f'<a class="next page-numbers" href="{self._comment_page(row, page + 1)}">→</a>'
                )
            nav = f'<nav class="woocommerce-pagination">{"".join(links)}</nav>'
        title = (
            f"{row.review_count} reviews for <span>{escape(row.title)}</span>"
            if row.review_count
            else "Reviews"
        )
        return (
            f'<div id="reviews" class="woocommerce-Reviews"><div id="comments"><h2 class="'
            f'woocommerce-Reviews-title">{title}</h2><ol class="commentlist">{"".join(items)}'
            f"</ol>{nav}</div></div>"
        )

    @staticmethod
    def _comment_page(row: StoreListing, number: int) -> str:
        if number == 1:
            return f"{listing_path(row)}#comments"
        return f"{listing_path(row)}comment-page-{number}/#comments"


def _itemprops(micro: bool, *names: str) -> list[str]:
    """' itemprop="name"' attributes on microdata pages, nothing on JSON-LD pages."""
    return [f' itemprop="{name}"' if micro else "" for name in names]
