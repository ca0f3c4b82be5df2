"""Serve a built site folder on 127.0.0.1 until Ctrl-C."""

from __future__ import annotations

import functools
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class SiteRequestHandler(SimpleHTTPRequestHandler):
    """Static files with the site's own 404 page and no request log noise."""

    def send_error(self, code, message=None, explain=None):
        not_found = Path(self.directory) / "404.html"
        if code == 404 and not_found.is_file():
            body = not_found.read_bytes()
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            return
        super().send_error(code, message, explain)

    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        pass


def make_site_server(
    site_dir: Path, port: int = 8000, host: str = "127.0.0.1"
) -> ThreadingHTTPServer:
    handler = functools.partial(SiteRequestHandler, directory=str(site_dir))
    return ThreadingHTTPServer((host, port), handler)


def serve_site(site_dir: Path, port: int = 8000, host: str = "127.0.0.1") -> None:
    server = make_site_server(site_dir, port, host)
    print(
        f"serving {site_dir} on http://{host}:{server.server_address[1]}/ (Ctrl-C to stop)",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
