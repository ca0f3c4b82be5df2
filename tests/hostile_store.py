"""A hostile store on 127.0.0.1 for the crawl hardening tests: traps, bombs and oversized text.

Every path is generated, so a trap never ends on the server's side:

- ``/listing/N``: a listing page with one product and a link to ``/listing/N+1``, forever;
- ``/sitemaps/N.xml``: a sitemap index naming ``/sitemaps/N+1.xml``, forever;
- ``/products.xml``: a urlset of ``?products=`` product pages (a page-budget trap when large);
- ``/product/<slug>``: a product page with JSON-LD; ``?title_bytes=N`` makes its title N bytes,
  ``?deep=N`` adds a JSON-LD block nested N levels deep next to the product's own;
- ``/streamed``: an HTML body of ``?bytes=`` bytes with no Content-Length (ended by close);
- ``/gzipped``: an HTML body gzip-encoded (Content-Encoding) that inflates to ``?bytes=``;
- ``/bomb.xml.gz``: a gzip file (no Content-Encoding) that inflates to ``?bytes=`` of XML;
- ``/links.xml?to=URL``: a urlset naming one URL, anywhere (the offsite attack).

Requests are recorded in ``requested`` (path with query) for the tests to inspect.
"""

from __future__ import annotations

import gzip
import io
import json
import threading
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit


def product_page(slug: str, *, title: str | None = None, deep: int = 0) -> bytes:
    """A plain product page: its title, a price in JSON-LD, and maybe a deeply nested block."""
    title = title or f"Hostile back stretcher {slug}"
    product = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": title,
        "brand": {"@type": "Brand", "name": "Trapco"},
        "sku": slug,
        "offers": {"@type": "Offer", "price": "19.99", "priceCurrency": "USD"},
    }
    blocks = [json.dumps(product)]
    if deep:
        blocks.append("[" * deep + "]" * deep)  # a block a JSON parser recurses into
    scripts = "".join(f'<script type="application/ld+json">{block}</script>' for block in blocks)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title>{scripts}</head>"
        f"<body><h1>{escape(title)}</h1></body></html>"
    ).encode()


def _gzip_of_size(size: int, head: bytes = b"", tail: bytes = b"") -> bytes:
    """Gzip data that inflates to `head`, `size` spaces and `tail` (made in small steps)."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=9) as archive:
        archive.write(head)
        chunk = b" " * (1 << 20)
        for _ in range(size >> 20):
            archive.write(chunk)
        archive.write(b" " * (size & ((1 << 20) - 1)))
        archive.write(tail)
    return buffer.getvalue()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: HostileStore

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query))
        with self.server.lock:
            self.server.requested.append(self.path)
        path = parts.path
        base = self.server.url
        if path == "/robots.txt":
            return self._send(b"User-agent: *\nAllow: /\n", "text/plain")
        if path.startswith("/listing/"):
            page = int(path.rsplit("/", 1)[1])
            body = (
                f'<html><body><ul class="products"><li class="product">'
                f'<a href="/product/listed-{page}">Back stretcher {page}</a></li></ul>'
                f'<a class="next page-numbers" href="/listing/{page + 1}">Next</a>'
                "</body></html>"
            )
            return self._send(body.encode(), "text/html; charset=utf-8")
        if path.startswith("/sitemaps/"):
            level = int(path.rsplit("/", 1)[1].removesuffix(".xml"))
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>'
                '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                f"<sitemap><loc>{base}/sitemaps/{level + 1}.xml</loc></sitemap></sitemapindex>"
            )
            return self._send(body.encode(), "application/xml")
        if path == "/products.xml":
            count = int(query.get("products", "3"))
            locs = "".join(f"<url><loc>{base}/product/mapped-{n}</loc></url>" for n in range(count))
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>'
                f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</urlset>'
            )
            return self._send(body.encode(), "application/xml")
        if path == "/links.xml":
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>'
                '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                f"<url><loc>{escape(query['to'])}</loc></url></urlset>"
            )
            return self._send(body.encode(), "application/xml")
        if path.startswith("/product/"):
            slug = path.rsplit("/", 1)[1]
            title = None
            if "title_bytes" in query:
                title = "Back stretcher " + "A" * int(query["title_bytes"])
            body = product_page(slug, title=title, deep=int(query.get("deep", "0")))
            return self._send(body, "text/html; charset=utf-8")
        if path == "/streamed":
            return self._stream(int(query["bytes"]))
        if path == "/gzipped":
            body = _gzip_of_size(int(query["bytes"]), b"<html><body>", b"</body></html>")
            return self._send(body, "text/html; charset=utf-8", encoding="gzip")
        if path == "/bomb.xml.gz":
            head = (
                b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            )
            body = _gzip_of_size(int(query["bytes"]), head, b"</urlset>")
            return self._send(body, "application/x-gzip")
        return self._send(b"<html><body>Not found</body></html>", "text/html", status=404)

    def _send(
        self, body: bytes, content_type: str, *, status: int = 200, encoding: str | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if encoding:
            self.send_header("Content-Encoding", encoding)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the crawler hung up at its size cap

    def _stream(self, size: int) -> None:
        """`size` bytes of HTML with no Content-Length: the body ends when the connection does."""
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        chunk = b"<!-- " + b"x" * 65_000 + b" -->"
        try:
            self.wfile.write(b"<html><body>")
            for _ in range(size // len(chunk) + 1):
                self.wfile.write(chunk)
            self.wfile.write(b"</body></html>")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the crawler hung up at its size cap: what this page is for

    def log_message(self, format: str, *args: Any) -> None:
        """Requests are recorded in HostileStore.requested, not printed."""


class HostileStore(ThreadingHTTPServer):
    """The hostile store on 127.0.0.1 (port 0: a free one); ``with HostileStore() as store:``."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requested: list[str] = []
        self.lock = threading.Lock()
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)

    def requests_for(self, prefix: str) -> list[str]:
        with self.lock:
            return [path for path in self.requested if path.startswith(prefix)]
