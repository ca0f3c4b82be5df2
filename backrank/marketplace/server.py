"""The demo marketplace: four fictional stores served over real HTTP on 127.0.0.1, plus their truth."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any, Protocol, Self
from urllib.parse import parse_qsl, urlsplit

from backrank.marketplace import amazon, creators_api, shopify, walmart, woo_store_api, woocommerce
from backrank.marketplace.catalog import STORES, Catalog, StoreListing, build_catalog
from backrank.marketplace.faults import FaultPlan, Served, apply_faults
from backrank.marketplace.response import Response
from backrank.marketplace.reviews import hostile_truth

STORE_CLASSES = {
    "amazon": amazon.AmazonStore,
    "shopify": shopify.ShopifyStore,
    "woocommerce": woocommerce.WooCommerceStore,
    "walmart": walmart.WalmartStore,
}
DISALLOWED = {
    "amazon": amazon.DISALLOWED,
    "shopify": shopify.DISALLOWED,
    "woocommerce": woocommerce.DISALLOWED,
    "walmart": walmart.DISALLOWED,
}
PRODUCT_PATHS = {
    "amazon": amazon.PRODUCT_PATH,
    "shopify": shopify.PRODUCT_PATH,
    "woocommerce": woocommerce.PRODUCT_PATH,
    "walmart": walmart.PRODUCT_PATH,
}
PLACEHOLDERS = {store: "{" + store + "}" for store in STORES}
# The Creators API runs as a fifth server, on the port after the stores'.
CREATORS_API = "creators_api"
MAX_POST_BODY = 1 << 20
UNCOLLECTED_REVIEWS = frozenset({"amazon"})  # stores whose reviews backrank never collects


class Store(Protocol):
    base_url: str

    def route(self, path: str, query: dict[str, str]) -> Response: ...

    def url(self, listing: StoreListing) -> str: ...


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], store_key: str, marketplace: Marketplace):
        self.store_key = store_key
        self.marketplace = marketplace
        self.store: Store | None = None  # set once the port, hence the base URL, is known
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: crawlers reuse connections
    server: _Server
    server_version = "backrank-demo/1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def do_POST(self) -> None:
        """The Creators API's calls; the stores answer no POST."""
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_POST_BODY:
            self.send_error(413)
            return
        body = self.rfile.read(length) if length > 0 else b""
        self.server.marketplace._log_request(self.server.store_key, self.path)
        post = getattr(self.server.store, "post", None)
        if post is None:
            self._send(Served(405, "text/plain; charset=utf-8", b"Method Not Allowed"), True)
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        answer = post(urlsplit(self.path).path, headers, body)
        self._send(
            Served(answer.status, answer.content_type, answer.body, headers=answer.headers), True
        )

    def _answer(self, send_body: bool) -> None:
        marketplace = self.server.marketplace
        attempt = marketplace._log_request(self.server.store_key, self.path)
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        response = marketplace._serve(
            self.server.store_key, parts.path, parts.query, attempt,
            lambda: self.server.store.route(parts.path, query),
        )  # fmt: skip
        self._send(response, send_body)

    def _send(self, response: Served, send_body: bool) -> None:
        marketplace = self.server.marketplace
        extra = "".join(f"{name}: {value}\r\n" for name, value in response.headers)
        head = (
            f"HTTP/1.1 {response.status} {self.responses[response.status][0]}\r\n"
            f"Server: {self.server_version}\r\nDate: {self.date_time_string()}\r\n"
            f"Content-Type: {response.content_type}\r\n{extra}"
            f"Content-Length: {len(response.body)}\r\n\r\n"
        ).encode("latin-1")
        body = response.body if response.cut_at is None else response.body[: response.cut_at]
        try:
            if response.delay:
                time.sleep(response.delay)
            self.wfile.write(head + body if send_body else head)
        except (BrokenPipeError, ConnectionResetError):
            # The crawler gave up first (timeout, size cap): what a slow or huge page is for.
            marketplace._log_fault(self.server.store_key, self.path, "client_gone")
        if response.cut_at is not None:
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Requests are recorded in Marketplace.requested_paths, not printed."""


class Marketplace:
    """Four demo stores (Amazon-, Shopify-, WooCommerce- and Walmart-style) over a fictional catalog,
    and the Creators API serving the Amazon store's listings.

    ``Marketplace(seed=7, scale=None).start()`` serves them; ``scale=None`` is the demo size,
    ``scale=N`` gives N product models. Everything served follows from the seed.
    ``api_interval`` and ``token_lifetime`` set the Creators API's request rate and how long
    its tokens really work (see ``backrank.marketplace.creators_api.CreatorsApi``).
    """

    def __init__(
        self,
        seed: int = 7,
        scale: int | None = None,
        faults: str = "none",
        hostile: bool = False,
        *,
        api_interval: float = creators_api.REQUEST_INTERVAL,
        token_lifetime: float = creators_api.TOKEN_LIFETIME,
        woo_store_api: bool = True,
        review_apps: tuple[str, ...] = shopify.REVIEW_APPS,
    ):
        self.seed = seed
        self.scale = scale
        # False: the WooCommerce store has its Store API disabled (every /wp-json/ path: 401)
        self.woo_store_api = woo_store_api
        # the Shopify store's review apps, taken in turn by its products (shopify.REVIEW_APPS)
        self.review_apps = tuple(review_apps)
        self.catalog: Catalog = build_catalog(seed, scale, hostile=hostile)
        self.faults = FaultPlan(seed, faults)
        self.day = 0  # faults that change over time (delisting, a redesign) start on day 1
        self.api_interval = api_interval
        self.token_lifetime = token_lifetime
        self.api: creators_api.CreatorsApi | None = None
        self.api_url: str | None = None
        self.store_urls: dict[str, str] = {}
        self._servers: dict[str, _Server] = {}
        self._stores: dict[str, Store] = {}
        self._requests: list[tuple[str, str]] = []
        self._attempts: dict[tuple[str, str], int] = {}
        self._faults_served: list[tuple[str, str, str]] = []
        self._product_paths: dict[str, dict[str, StoreListing]] = {}
        self._lock = threading.Lock()

    def start(self, host: str = "127.0.0.1", port: int = 0) -> Self:
        """Serve the stores on port .. port+3 and the Creators API on port+4 (free ports when 0)."""
        if self._servers:
            raise RuntimeError("marketplace already started")
        try:
            for offset, store in enumerate(STORES):
                server = _Server((host, port + offset if port else 0), store, self)
                self._servers[store] = server
                bound_host, bound_port = server.server_address[:2]
                base_url = f"http://{bound_host}:{bound_port}"
                server.store = self._store(store, base_url)
                self._stores[store] = server.store
                self.store_urls[store] = base_url
                self._product_paths[store] = {
                    urlsplit(server.store.url(row)).path.rstrip("/"): row
                    for row in self.catalog.listings[store]
                }
            api_server = _Server((host, port + len(STORES) if port else 0), CREATORS_API, self)
            self._servers[CREATORS_API] = api_server
            bound_host, bound_port = api_server.server_address[:2]
            self.api_url = f"http://{bound_host}:{bound_port}"
            self.api = creators_api.CreatorsApi(
                self.catalog,
                self.store_urls["amazon"],
                token_lifetime=self.token_lifetime,
                request_interval=self.api_interval,
                is_delisted=self._amazon_delisted,
            )
            api_server.store = self.api
        except OSError:
            self.stop()
            raise
        for store, server in self._servers.items():
            # A short poll keeps stop() quick; shutdown() waits for the next poll.
            threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"marketplace-{store}",
                daemon=True,
            ).start()
        return self

    def _store(self, store: str, base_url: str) -> Store:
        if store == "woocommerce":
            woo = woocommerce.WooCommerceStore(self.catalog, base_url, store_api=self.woo_store_api)
            woo.delisted = lambda row: self.faults.is_delisted(
                store, urlsplit(woo.url(row)).path.rstrip("/"), self.day
            )
            return woo
        if store == "shopify":
            return shopify.ShopifyStore(self.catalog, base_url, review_apps=self.review_apps)
        return STORE_CLASSES[store](self.catalog, base_url)

    def stop(self) -> None:
        for server in self._servers.values():
            server.shutdown()
            server.server_close()
        self._servers.clear()

    def __enter__(self) -> Self:
        return self if self._servers else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _log_request(self, store: str, path: str) -> int:
        """Record a request; return how many times this path was asked for before."""
        with self._lock:
            self._requests.append((store, path))
            attempt = self._attempts.get((store, path), 0)
            self._attempts[(store, path)] = attempt + 1
            return attempt

    def _log_fault(self, store: str, path: str, fault: str) -> None:
        with self._lock:
            self._faults_served.append((store, path, fault))

    def _serve(self, store: str, path: str, query: str, attempt: int, respond) -> Served:
        """The store's answer with the fault profile applied (see backrank.marketplace.faults)."""
        if not self.faults.active:
            return self._plain(respond())
        listing = self._product_page_listing(store, path)
        key = (
            None if listing is None else urlsplit(self._stores[store].url(listing)).path.rstrip("/")
        )
        served = apply_faults(
            self.faults, store=store, path=path, query=query, attempt=attempt, day=self.day,
            listing=listing, delisted=self.faults.is_delisted(store, key, self.day),
            redesigned=self.day >= 1 and self.redesigned == store,
            delisted_urls=self.delisted_urls(store), respond=respond,
        )  # fmt: skip
        if served.fault:
            self._log_fault(store, f"{path}?{query}" if query else path, served.fault)
        return served

    def _amazon_delisted(self, listing: StoreListing) -> bool:
        """True when the fault profile delisted this Amazon listing today."""
        path = urlsplit(self._stores["amazon"].url(listing)).path.rstrip("/")
        return self.faults.active and self.faults.is_delisted("amazon", path, self.day)

    def _product_page_listing(self, store: str, path: str) -> StoreListing | None:
        """The listing a product page path shows (any URL form the store answers), else None."""
        match = PRODUCT_PATHS[store].match(path)
        if match is None or (match.lastindex or 0) >= 2 and match.group(2):
            return None  # not a product page, or its .js/.json record or a comment page
        return self.catalog.by_key[store].get(match.group(1))

    @staticmethod
    def _plain(response: Response) -> Served:
        return Served.plain(response)

    @property
    def redesigned(self) -> str | None:
        """The store whose product pages change template from day 1 (the "redesign" fault).
        Never a store read through its API: a page redesign leaves an API's answers alone."""
        return self.faults.redesigned_store(
            tuple(store for store in STORES if not (store == "woocommerce" and self.woo_store_api))
        )

    def next_day(self) -> int:
        """Move the marketplace one day on: delistings and a redesign take effect from day 1."""
        self.day += 1
        return self.day

    def delisted_urls(self, store: str | None = None) -> set[str]:
        """Product URLs delisted today (404, gone from the sitemap), of one store or all."""
        if not self._stores:
            return set()
        return {
            self._stores[key].url(row)
            for key in ([store] if store else STORES)
            for path, row in self._product_paths.get(key, {}).items()
            if self.faults.is_delisted(key, path, self.day)
        }

    @property
    def faults_served(self) -> list[tuple[str, str, str]]:
        """(store, path, fault) of every faulty answer so far, oldest first."""
        with self._lock:
            return list(self._faults_served)

    @property
    def requested_paths(self) -> list[tuple[str, str]]:
        """(store, path with query) of every request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def truth(self) -> dict:
        """What the stores show, as plain JSON-able data, for tests to check crawls against."""
        if not self._stores:
            raise RuntimeError("start() the marketplace first: listing URLs need its ports")
        products = [
            {
                "product_id": p.product_id,
                "brand": p.brand,
                "model": p.line,
                "mpn": p.mpn,
                "gtin": p.gtin,
                "category": p.category,
                "name": p.name,
            }
            for p in self.catalog.products
        ]
        listings = [
            self._listing_truth(row) for store in STORES for row in self.catalog.listings[store]
        ]
        return {
            "seed": self.seed,
            "scale": self.scale,
            "store_urls": dict(self.store_urls),
            "disallowed": dict(DISALLOWED),
            "products": products,
            "listings": listings,
            "review_total": self.catalog.review_total,
            # Amazon's reviews are shown on its pages but never collected (its Associates
            # policies): these are the reviews a crawl can and must store.
            "collected_review_total": sum(
                row.review_count
                for store in STORES
                if store not in UNCOLLECTED_REVIEWS
                for row in self.catalog.listings[store]
            ),
            "creators_api_url": self.api_url,
            # which way backrank should read each store: the WooCommerce Store API or its HTML
            "woocommerce_path": "store_api" if self.woo_store_api else "html",
            "planted": [
                {
                    "store": row.store,
                    "url": self._stores[row.store].url(row),
                    "product_id": row.product.product_id,
                    "pattern": row.pattern,
                    "collected": row.store not in UNCOLLECTED_REVIEWS,
                }
                for row in self.catalog.planted
            ],
            "hostile": [
                hostile_truth(self.seed, row, self._stores[row.store].url(row))
                for row in self.catalog.hostile
            ],
        }

    def _listing_truth(self, row: StoreListing) -> dict:
        product = row.product
        shown_gtin = None
        if row.show_gtin:  # Walmart prints the 12-digit UPC, the others the GTIN-13
            shown_gtin = product.upc if row.store == "walmart" else product.gtin
        truth = {
            "store": row.store,
            "url": self._stores[row.store].url(row),
            "product_id": product.product_id,
            "title": row.title,
            "price": None if row.price is None else str(row.price),
            "list_price": None if row.list_price is None else str(row.list_price),
            "currency": "USD",
            "availability": "in_stock" if row.in_stock else "out_of_stock",
            "gtin": shown_gtin,
            "mpn": product.mpn if row.show_mpn else None,
            "review_count": row.review_count,
            "rating": row.rating,
        }
        if row.store == "amazon":
            truth["asin"] = row.key
            truth["detail_page_url"] = creators_api.detail_page_url(row.key)
            truth["reviews_collected"] = False
        elif row.store == "shopify":
            truth["sku"] = product.mpn if row.show_mpn else None
            truth["handle"] = row.key
            truth["shopify_id"] = row.number_id
            truth["review_app"] = self._stores["shopify"].review_app(row)
        elif row.store == "woocommerce":
            truth["sku"] = product.mpn if row.show_mpn else str(row.number_id)
            # the Store API gives the SKU field as is: empty (None) where the page shows the id
            truth["store_api_sku"] = product.mpn if row.show_mpn else None
            truth["microdata"] = row.use_microdata
            truth["post_id"] = row.number_id
            truth["category"] = product.category
            truth["variations"] = len(woo_store_api.variation_ids(row))
        else:
            truth["item_id"] = row.key
        return truth

    def amazon_asins_toml(self) -> str:
        """The Amazon store's ASINs as the catalog lists them: an inline table ASIN -> title."""
        pairs = ", ".join(
            f"{row.key} = {json.dumps(row.title)}" for row in self.catalog.listings["amazon"]
        )
        return "{ " + pairs + " }" if pairs else "{}"

    def write_truth(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(self.truth(), handle, indent=1)

    def demo_catalog_text(self, db: str | None = None) -> str:
        """backrank/demo/catalog.toml with this marketplace's live store URLs filled in."""
        if not self.store_urls:
            raise RuntimeError("start() the marketplace first: the catalog needs its URLs")
        text = (resources.files("backrank") / "demo" / "catalog.toml").read_text("utf-8")
        for store, placeholder in PLACEHOLDERS.items():
            text = text.replace(placeholder, self.store_urls[store])
        text = text.replace("{creators_api}", self.api_url or "")
        text = text.replace("{amazon_asins}", self.amazon_asins_toml())
        if db is not None:  # a JSON string is a valid TOML basic string
            text = text.replace("demo = true\n", f"demo = true\ndb = {json.dumps(db)}\n", 1)
        return text


def serve(port: int, seed: int, scale: int | None, truth_path: str | None) -> None:
    """Start the marketplace, print the store URLs and block until Ctrl-C."""
    with Marketplace(seed=seed, scale=scale).start(port=port) as marketplace:
        if truth_path:
            marketplace.write_truth(truth_path)
        for store, url in marketplace.store_urls.items():
            print(f"{store:12} {url}")
        print(
            f"{'creators api':12} {marketplace.api_url}  (credential id "
            f"{creators_api.DEMO_CREDENTIAL_ID}, version {creators_api.DEMO_CREDENTIAL_VERSION})"
        )
        print(
            f"{len(marketplace.catalog.products)} product models, "
            f"{marketplace.catalog.review_total:,} reviews. Ctrl-C to stop.",
            flush=True,
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopped")
