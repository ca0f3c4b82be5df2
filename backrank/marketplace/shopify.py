"""The Shopify demo store: products.json, product .js, JSON-LD pages and review apps' widgets.

Reviews come from a review app, as on real Shopify stores. Judge.me products carry the
widget's first page in the page (further pages through the app proxy ``/apps/judgeme/...``
and Judge.me's public widget endpoint); with ``review_apps=("judgeme", "yotpo")`` every
other product (odd index) uses Yotpo instead, whose reviews are only in its public JSON
endpoint: the page carries the loader script with the app key and the product id. The apps'
scripts and endpoints are served from the store's own origin, as a self-hosted app would be.
"""

from __future__ import annotations

import re
from html import escape

from backrank.marketplace.catalog import XSS_IMAGE_URL, StoreListing, money
from backrank.marketplace.response import (
    Response,
    html_page,
    json_response,
    not_found,
    rendered_once,
    script_json,
    sitemap_index,
    text_response,
    xml_response,
)
from backrank.marketplace.reviews import GeneratedReview, page_count, reviews_page
from backrank.marketplace.storefront import StoreFront, page_number

STORE = "shopify"
DISALLOWED = "/cart"
REVIEWS_PER_PAGE = 5
SITEMAP_CHUNK = 5000
PRODUCT_PATH = re.compile(r"^(?:/collections/[^/]+)?/products/([a-z0-9-]+)(\.js|\.json)?/?$")
REVIEWS_PATH = re.compile(r"^/apps/judgeme/reviews/([a-z0-9-]+)/?$")
JUDGEME_WIDGET_PATH = "/api/v1/widgets/product_review"
YOTPO_REVIEWS_PATH = re.compile(r"^/v1/widget/([A-Za-z0-9]+)/products/(\d+)/reviews\.json$")
SHOP_DOMAIN = "backrank-demo.myshopify.com"
JUDGEME_PUBLIC_TOKEN = "jdgmDemoPublicToken01"
YOTPO_APP_KEY = "DemoYotpoAppKey0a1b2c3d4e5f6g7h8i9j0kLmN"
YOTPO_MAX_PER_PAGE = 150
REVIEW_APPS = ("judgeme", "yotpo")
CREATED_AT = "2024-03-04T10:12:33-05:00"


def listing_path(listing: StoreListing) -> str:
    return f"/products/{listing.key}"


def decimal_text(cents: int | None) -> str | None:
    return None if cents is None else f"{cents // 100}.{cents % 100:02d}"


class ShopifyStore(StoreFront):
    """Routes Shopify paths to pages and JSON endpoints."""

    store = STORE
    listing_path = staticmethod(listing_path)
    sitemap_size = SITEMAP_CHUNK

    def __init__(self, catalog, base_url: str, review_apps: tuple[str, ...] = ("judgeme",)):
        super().__init__(catalog, base_url)
        unknown = set(review_apps) - set(REVIEW_APPS)
        if unknown or not review_apps:
            raise ValueError(f"review apps are some of {', '.join(REVIEW_APPS)}, got {review_apps}")
        self.review_apps = review_apps
        self.by_number_id = {row.number_id: row for row in self.listings}

    def review_app(self, row: StoreListing) -> str:
        """Which review app holds this product's reviews."""
        return self.review_apps[row.index % len(self.review_apps)]

    def route(self, path: str, query: dict[str, str]) -> Response:
        if match := PRODUCT_PATH.match(path):
            listing = self.by_key.get(match.group(1))
            if listing is None:
                return not_found()
            if match.group(2) == ".js":
                return json_response(self.product_js(listing))
            if match.group(2) == ".json":
                return json_response({"product": self.product_record(listing)})
            return self.product_page(listing)
        if match := REVIEWS_PATH.match(path):
            listing = self.by_key.get(match.group(1))
            page = page_number(query.get("page", "1"))
            if listing is None or page is None or self.review_app(listing) != "judgeme":
                return not_found()
            return html_page(f"Reviews of {listing.title}", self.review_widget(listing, page))
        if path == JUDGEME_WIDGET_PATH:
            return self.judgeme_widget(query)
        if match := YOTPO_REVIEWS_PATH.match(path):
            return self.yotpo_reviews(match.group(1), int(match.group(2)), query)
        if path == "/widget_preloader.js" or path.startswith("/v1/loader/"):
            return Response(200, "application/javascript", b"/* review app loader (demo) */")
        if path == "/products.json":
            page, limit = page_number(query.get("page", "1")), page_number(query.get("limit", "30"))
            if page is None or limit is None:
                return not_found()
            limit = min(limit, 250)
            rows = self.listings[(page - 1) * limit : page * limit]
            return json_response({"products": [self.product_record(row) for row in rows]})
        if path == "/robots.txt":
            return text_response(self.robots())
        if path == "/sitemap.xml":
            return xml_response(self.sitemap())
        if path == "/sitemap_products_1.xml" or re.match(r"^/sitemap_products_\d+\.xml$", path):
            text = self.sitemap_chunk(int(re.sub(r"\D", "", path)))
            return xml_response(text) if text else not_found()
        if path == DISALLOWED or path.startswith(DISALLOWED + "/"):
            return html_page("Your cart", "<h1>Your cart</h1><p>Your cart is currently empty.</p>")
        if path in ("/", "/collections/all"):
            links = "".join(
                f'<li><a href="{listing_path(row)}">{escape(row.title)}</a></li>'
                for row in self.listings[:50]
            )
            return html_page("Demo Shopify store", f"<h1>All products</h1><ul>{links}</ul>")
        return not_found()

    def robots(self) -> str:
        return (
            f"User-agent: *\nDisallow: /admin\nDisallow: {DISALLOWED}\nDisallow: /checkout\n"
            f"\nSitemap: {self.base_url}/sitemap.xml\n"
        )

    @rendered_once
    def sitemap(self) -> str:
        chunks = self.sitemap_count()
        return sitemap_index(
            [
                f"{self.base_url}/sitemap_products_{n}.xml?from={self.listings[(n - 1) * SITEMAP_CHUNK].number_id}"
                f"&to={self.listings[min(n * SITEMAP_CHUNK, len(self.listings)) - 1].number_id}"
                for n in range(1, chunks + 1)
            ]
        )

    @rendered_once
    def sitemap_chunk(self, number: int) -> str | None:
        rows = self.sitemap_rows(number)
        if not rows:
            return None
        # As real Shopify: the first <url> is the shop root, then products with images.
        root = f"  <url>\n    <loc>{self.base_url}/</loc>\n    <changefreq>daily</changefreq>\n  </url>\n"
        entries = [root]
        for row in rows:
            entries.append(
                f"  <url>\n    <loc>{self.url(row)}</loc>\n    <lastmod>{CREATED_AT}</lastmod>\n"
                f"    <changefreq>daily</changefreq>\n    <image:image>\n"
                f"      <image:loc>{self._image(row)}</image:loc>\n"
                f"      <image:title>{escape(row.title)}</image:title>\n    </image:image>\n"
                "  </url>\n"
            )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/'
            'schemas/sitemap/0.9" xmlns:image="http://www.google.com/schemas/sitemap-image/'
            f'1.1">\n{"".join(entries)}</urlset>\n'
        )

    def _image(self, row: StoreListing) -> str:
        if row.hostile:
            return XSS_IMAGE_URL
        return f"{self.base_url}/cdn/shop/products/{row.key}.jpg"

    def product_record(self, row: StoreListing) -> dict:
        """The products.json / product.json shape: prices as decimal strings."""
        product = row.product
        return {
            "id": row.number_id,
            "title": row.title,
            "handle": row.key,
            "body_html": f"<p>{escape(product.description())}</p>",
            "published_at": CREATED_AT,
            "created_at": CREATED_AT,
            "updated_at": CREATED_AT,
            "vendor": product.brand,
            "product_type": product.noun,
            "tags": [product.category, "back pain", product.brand.lower()],
            "variants": [
                {
                    "id": row.variant_id,
                    "title": "Default Title",
                    "option1": "Default Title",
                    "sku": product.mpn if row.show_mpn else "",
                    "barcode": product.upc if row.show_gtin else None,
                    "price": decimal_text(row.price_cents),
                    "compare_at_price": decimal_text(row.list_price_cents),
                    "available": row.in_stock,
                    "product_id": row.number_id,
                    "position": 1,
                    "requires_shipping": True,
                    "taxable": True,
                }
            ],
            "images": [{"id": row.number_id + 1, "src": self._image(row), "position": 1}],
            "options": [{"name": "Title", "position": 1, "values": ["Default Title"]}],
        }

    def product_js(self, row: StoreListing) -> dict:
        """The /products/<handle>.js shape: prices in cents, as Shopify's AJAX API gives them."""
        record = self.product_record(row)
        variant = record["variants"][0]
        variant.update(price=row.price_cents, compare_at_price=row.list_price_cents)
        return {
            **record,
            "description": record.pop("body_html"),
            "price": row.price_cents,
            "compare_at_price": row.list_price_cents,
            "available": row.in_stock,
            "images": [self._image(row)],
            "featured_image": self._image(row),
        }

    def product_page(self, row: StoreListing) -> Response:
        product = row.product
        availability = "https://schema.org/" + ("InStock" if row.in_stock else "OutOfStock")
        offer = {
            "@type": "Offer",
            "url": self.url(row),
            "price": decimal_text(row.price_cents),
            "priceCurrency": "USD",
            "availability": availability,
            "seller": {"@type": "Organization", "name": "Demo Shopify store"},
        }
        if row.show_mpn:
            offer["sku"] = product.mpn
        if row.show_gtin:
            offer["gtin13"] = product.gtin
        ld = {
            "@context": "http://schema.org/",
            "@type": "Product",
            "name": row.title,
            "url": self.url(row),
            "image": [self._image(row)],
            "description": product.description(),
            "brand": {"@type": "Brand", "name": product.brand},
            "offers": [offer],
        }
        if row.show_mpn:
            ld["sku"] = product.mpn
        if row.review_count:
            ld["aggregateRating"] = {
                "@type": "AggregateRating",
                "ratingValue": row.rating,
                "reviewCount": row.review_count,
            }
        head = (
            f'<link rel="canonical" href="{self.url(row)}">'
            f'<meta property="og:type" content="product">'
            f'<meta property="og:title" content="{escape(row.title)}">'
            f'<meta property="og:price:amount" content="{decimal_text(row.price_cents)}">'
            f'<meta property="og:price:currency" content="USD">'
            f'<script type="application/ld+json">{script_json(ld)}</script>'
        )
        was = (
            f' <s class="price-item price-item--regular">{money(row.list_price_cents)}</s>'
            if row.list_price_cents is not None
            else ""
        )
        button = (
            f'<a class="product-form__submit" href="{DISALLOWED}/add?id={row.variant_id}'
            f'&amp;quantity=1">Add to cart</a>'
            if row.in_stock
            else '<button class="product-form__submit" disabled>Sold out</button>'
        )
        body = (
            f'<main class="product"><h1 class="product__title">{escape(row.title)}</h1>'
            f'<p class="product__vendor">{escape(product.brand)}</p>'
            f'<div class="price"><span class="price-item price-item--sale">'
            f"{money(row.price_cents)}</span>{was}</div>{button}"
            f'<div class="product__description rte"><p>{escape(product.description())}</p>'
            f"</div>{self.app_widget(row)}</main>"
        )
        return html_page(f"{row.title} – Demo Shopify store", body, head + self.app_head(row))

    def app_head(self, row: StoreListing) -> str:
        """Shopify's own globals, then the review app's loader script (and Judge.me's shop
        settings) in the page's <head>."""
        shop = (
            f"<script>window.Shopify = window.Shopify || {{}};Shopify.shop = '{SHOP_DOMAIN}';"
            'Shopify.theme = {"name":"Dawn","id":130000000001};</script>'
        )
        if self.review_app(row) == "yotpo":
            return shop + f'<script src="{self.base_url}/v1/loader/{YOTPO_APP_KEY}" async></script>'
        return shop + (
            f"<script>var jdgm = window.jdgm || {{}};jdgm.SHOP_DOMAIN = '{SHOP_DOMAIN}';"
            f"jdgm.PLATFORM = 'shopify';jdgm.PUBLIC_TOKEN = '{JUDGEME_PUBLIC_TOKEN}';</script>"
            f"<script data-cfasync='false' type='text/javascript' async "
            f"src='{self.base_url}/widget_preloader.js'></script>"
        )

    def app_widget(self, row: StoreListing) -> str:
        """The review widget in the page: Judge.me's first page, or Yotpo's empty mount point."""
        if self.review_app(row) == "yotpo":
            return (
                f'<div class="yotpo-widget-instance" data-yotpo-instance-id="512345" '
                f'data-yotpo-product-id="{row.number_id}" data-yotpo-name="{escape(row.title)}" '
                f'data-yotpo-url="{self.url(row)}"></div>'
            )
        return self.review_widget(row, 1)

    def judgeme_widget(self, query: dict[str, str]) -> Response:
        """Judge.me's public widget endpoint: one page of the widget's HTML, inside JSON."""
        row = self.by_key.get(query.get("handle", ""))
        if row is None and query.get("external_id", "").isdigit():
            row = self.by_number_id.get(int(query["external_id"]))
        page = page_number(query.get("page", "1"))
        per_page = page_number(query.get("per_page", str(REVIEWS_PER_PAGE)))
        if query.get("shop_domain") != SHOP_DOMAIN or page is None or per_page is None:
            return json_response({"error": "shop not found"}, status=404)
        if row is None or self.review_app(row) != "judgeme":
            return json_response({"error": "product not found"}, status=404)
        return json_response(
            {
                "product_external_id": row.number_id,
                "product_handle": row.key,
                "widget": self.review_widget(row, page, min(per_page, 100)),
            }
        )

    def yotpo_reviews(self, app_key: str, product_id: int, query: dict[str, str]) -> Response:
        """Yotpo's public widget endpoint: a product's reviews as JSON, paged."""
        row = self.by_number_id.get(product_id)
        page = page_number(query.get("page", "1"))
        per_page = page_number(query.get("per_page", "5"))
        if app_key != YOTPO_APP_KEY or page is None or per_page is None:
            return json_response({"status": {"code": 404, "message": "Not Found"}}, status=404)
        per_page = min(per_page, YOTPO_MAX_PER_PAGE)
        shown, total, average = [], 0, 0.0  # Yotpo answers an unknown product with no reviews
        if row is not None and self.review_app(row) == "yotpo":
            shown = reviews_page(self.catalog.seed, row, page, per_page)
            total, average = row.review_count, row.rating or 0.0
        return json_response(
            {
                "status": {"code": 200, "message": "OK"},
                "response": {
                    "pagination": {"page": page, "per_page": per_page, "total": total},
                    "bottomline": {"total_review": total, "average_score": average},
                    "reviews": [
                        {
                            "id": review.number,
                            "score": review.rating,
                            "votes_up": review.helpful_votes,
                            "votes_down": 0,
                            "content": review.body,
                            "title": review.title,
                            "created_at": review.date.isoformat(timespec="milliseconds") + "Z",
                            "verified_buyer": review.verified,
                            "product_id": product_id,
                            "user": {"display_name": review.author, "user_type": "User"},
                        }
                        for review in shown
                    ],
                },
            }
        )

    def review_widget(self, row: StoreListing, page: int, per_page: int = REVIEWS_PER_PAGE) -> str:
        reviews = "".join(
            self._review(r) for r in reviews_page(self.catalog.seed, row, page, per_page)
        )
        pages = page_count(row, per_page)
        links = []
        for number in range(max(1, page - 2), min(pages, page + 2) + 1):
            if number == page:
                links.append(
                    f'<span class="jdgm-paginate__page jdgm-curt" data-page="{number}">'
                    f"{number}</span>"
                )
            else:
                links.append(self._page_link(row, number, "jdgm-paginate__page", str(number)))
        if page < pages:
            links.append(self._page_link(row, page + 1, "jdgm-paginate__next-page", "›"))
        rating = f"{row.rating:.2f}" if row.review_count else "0.00"
        return (
            f'<div id="judgeme_product_reviews" class="jdgm-widget jdgm-review-widget" '
            f'data-id="{row.number_id}"><div class="jdgm-rev-widg" '
            f'data-average-rating="{rating}" data-number-of-reviews="{row.review_count}" '
            f'data-number-of-questions="0"><div class="jdgm-rev-widg__summary">'
            f'{row.review_count} reviews</div><div class="jdgm-rev-widg__reviews">'
            f'{reviews}</div><div class="jdgm-paginate" data-per-page="{per_page}">'
            f"{''.join(links)}</div></div></div>"
        )

    @staticmethod
    def _page_link(row: StoreListing, number: int, css: str, text: str) -> str:
        return (
            f'<a class="{css}" data-page="{number}" '
            f'href="/apps/judgeme/reviews/{row.key}?page={number}">{text}</a>'
        )

    @staticmethod
    def _review(review: GeneratedReview) -> str:
        verified = "true" if review.verified else "false"
        return (
            f'<div class="jdgm-rev jdgm-divider-top" data-review-id="{review.review_id.lower()}" '
            f'data-verified-buyer="{verified}"><div class="jdgm-rev__header">'
            f'<span class="jdgm-rev__rating" data-score="{review.rating}" tabindex="0" '
            f'aria-label="{review.rating} star review" role="img"></span>'
            f'<span class="jdgm-rev__timestamp jdgm-spinner" '
            f'data-content="{review.date:%Y-%m-%d %H:%M:%S} UTC"></span>'
            f'<span class="jdgm-rev__author">{escape(review.author)}</span></div>'
            f'<div class="jdgm-rev__content"><b class="jdgm-rev__title">{escape(review.title)}</b>'
            f'<div class="jdgm-rev__body"><p>{escape(review.body)}</p></div></div>'
            f'<div class="jdgm-rev__actions"><span class="jdgm-rev__thumb-count" '
            f'data-count="{review.helpful_votes}">{review.helpful_votes}</span></div></div>'
        )
