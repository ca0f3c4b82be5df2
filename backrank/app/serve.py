"""Serve a built site folder on 127.0.0.1 until Ctrl-C: its files only, never a folder listing,
a dotfile (the build's ``.backrank-manifest.json``) or a traceback."""

from __future__ import annotations

import errno
import functools
import urllib.parse
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from backrank.app.failures import CommandError

MAX_PORT = 65535


class PortUnavailable(CommandError):
    """The port to serve on is taken or is no port at all."""


def bad_request_path(raw_path: str) -> bool:
    """True for a request path no file of the site can have: a NUL or other control character,
    or bytes that are not UTF-8, once percent-decoded."""
    path = raw_path.split("?", 1)[0].split("#", 1)[0]
    try:
        decoded = urllib.parse.unquote(path, errors="strict")
    except UnicodeDecodeError:
        return True
    return any(ord(char) < 0x20 or ord(char) == 0x7F for char in decoded)


def hidden_path(raw_path: str) -> bool:
    """True when a part of the request path starts with a dot (``/.backrank-manifest.json``)."""
    path = urllib.parse.unquote(raw_path.split("?", 1)[0].split("#", 1)[0])
    return any(part.startswith(".") for part in path.split("/") if part)


class SiteRequestHandler(SimpleHTTPRequestHandler):
    """Static files with the site's own 404 page and no request log noise."""

    def send_head(self):
        if bad_request_path(self.path):
            self.send_error(HTTPStatus.BAD_REQUEST, "Bad request path")
            return None
        if hidden_path(self.path):
            self.send_error(HTTPStatus.NOT_FOUND)
            return None
        return super().send_head()

    def list_directory(self, path):
        """A folder without index.html is not a page of the site."""
        self.send_error(HTTPStatus.NOT_FOUND)
        return None

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


def check_port(port: int) -> None:
    """PortUnavailable unless ``port`` is a TCP port number (0: any free one)."""
    if not 0 <= port <= MAX_PORT:
        raise PortUnavailable(f"--port {port} is not a port: choose one from 1 to {MAX_PORT}")


def make_site_server(
    site_dir: Path, port: int = 8000, host: str = "127.0.0.1"
) -> ThreadingHTTPServer:
    """A server bound to ``host:port`` (not yet serving); PortUnavailable when it cannot be."""
    check_port(port)
    handler = functools.partial(SiteRequestHandler, directory=str(site_dir))
    try:
        return ThreadingHTTPServer((host, port), handler)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise PortUnavailable(
                f"port {port} on {host} is already in use: stop what runs there or pick "
                "another --port"
            ) from error
        if error.errno == errno.EACCES:
            raise PortUnavailable(
                f"port {port} on {host} needs more privileges: pick a --port above 1023"
            ) from error
        raise


def serve_forever(server: ThreadingHTTPServer, site_dir: Path) -> None:
    """Serve until Ctrl-C, then close the socket."""
    host, port = server.server_address[:2]
    print(f"serving {site_dir} on http://{host}:{port}/ (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def serve_site(site_dir: Path, port: int = 8000, host: str = "127.0.0.1") -> None:
    serve_forever(make_site_server(site_dir, port, host), site_dir)
