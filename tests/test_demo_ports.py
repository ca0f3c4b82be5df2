"""The demo keeps its marketplace ports across runs, so its database keeps one listing per URL."""

from __future__ import annotations

import socket
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

from backrank.app.demo import ports_free


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def test_a_port_the_last_demo_just_closed_counts_as_free() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    port = server.server_address[1]
    Thread(target=server.serve_forever, daemon=True).start()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as answer:
        assert answer.read() == b"ok"
    assert not ports_free(port, count=1), "a port in use is not free"
    server.shutdown()
    server.server_close()
    # the server closed first, so its side of the connection sits in TIME_WAIT
    assert ports_free(port, count=1)


def test_a_port_someone_else_listens_on_is_busy() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        assert not ports_free(other.getsockname()[1], count=1)
