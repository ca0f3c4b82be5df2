"""`backrank serve`: the site's files over real HTTP, and nothing else: no folder listings, no
dotfiles, a clean 400 for a path no file can have, port problems as one line and exit 2."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import served

from backrank.app.cli import main

NOT_FOUND_PAGE = "<!doctype html><title>Not found</title><p>No such page on Back Pain Picks."


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A built site's shape: pages in folders, a feed, static files and the build manifest."""
    files = {
        "index.html": "<!doctype html><title>Home</title>",
        "404.html": NOT_FOUND_PAGE,
        "api/products.json": "[]",
        "embed/teeter-x3.html": "<p>embed</p>",
        "products/teeter-x3/index.html": "<!doctype html><title>Teeter X3</title>",
        "static/style.css": "body {}",
        ".backrank-manifest.json": '{"index.html": {"key": "secret-ish"}}',
        "static/.hidden": "not for visitors",
    }
    for relative, text in files.items():
        path = tmp_path / "site" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path / "site"


@pytest.fixture
def origin(site: Path) -> Iterator[str]:
    with served(site) as url:
        yield url


def get(origin: str, raw_path: str) -> tuple[int, str]:
    """GET a path exactly as written (no client-side normalising or quoting)."""
    host, port = origin.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.putrequest("GET", raw_path, skip_accept_encoding=True)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


def test_pages_and_files_are_served(origin: str) -> None:
    assert get(origin, "/") == (200, "<!doctype html><title>Home</title>")
    assert get(origin, "/products/teeter-x3/")[0] == 200
    assert get(origin, "/api/products.json") == (200, "[]")


@pytest.mark.parametrize("folder", ["/api/", "/embed/", "/products/", "/static/"])
def test_folders_without_an_index_are_not_listed(origin: str, folder: str) -> None:
    status, body = get(origin, folder)
    assert (status, body) == (404, NOT_FOUND_PAGE)
    assert "Directory listing" not in body


@pytest.mark.parametrize(
    "path",
    [
        "/.backrank-manifest.json",
        "/%2Ebackrank-manifest.json",
        "/static/.hidden",
        "/static/%2ehidden",
    ],
)
def test_dotfiles_are_not_served(origin: str, path: str) -> None:
    assert get(origin, path) == (404, NOT_FOUND_PAGE)


@pytest.mark.parametrize(
    "path",
    ["/index.html%00", "/%00/../index.html", "/%ff%fe", "/%ed%a0%80", "/a%0d%0aSet-Cookie:x"],
)
def test_paths_no_file_can_have_are_a_clean_400(origin: str, path: str, capfd) -> None:
    status, body = get(origin, path)
    assert status == 400, body
    assert get(origin, "/")[0] == 200  # the server is still there
    assert "Traceback" not in capfd.readouterr().err


def test_a_port_that_is_no_port_is_a_message_and_exit_2(site: Path, capsys) -> None:
    assert main(["serve", "--out", str(site), "--port", "99999"]) == 2
    message = capsys.readouterr().err.strip()
    assert message.splitlines() == [message] and "--port 99999 is not a port" in message


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


def test_a_busy_port_is_a_message_and_exit_2(site: Path, busy_port: int, capsys) -> None:
    assert main(["serve", "--out", str(site), "--port", str(busy_port)]) == 2
    message = capsys.readouterr().err.strip()
    assert message.splitlines() == [message]
    assert f"port {busy_port} on 127.0.0.1 is already in use" in message


def test_demo_on_a_busy_port_says_so_before_crawling(
    tmp_path: Path, busy_port: int, capsys
) -> None:
    db = tmp_path / "demo" / "backrank.db"
    argv = ["demo", "--port", str(busy_port), "--db", str(db), "--out", str(tmp_path / "site")]
    assert main(argv) == 2
    assert f"port {busy_port} on 127.0.0.1 is already in use" in capsys.readouterr().err
    assert not db.exists(), "nothing was crawled for a site that could not be served"


def test_the_marketplace_on_a_port_that_is_no_port_is_a_message(capsys) -> None:
    assert main(["marketplace", "--port", "70000"]) == 2
    message = capsys.readouterr().err.strip()
    assert message == "backrank: --port 70000 is not a port: choose one from 1 to 65535"
