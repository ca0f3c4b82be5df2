"""The built site in Chromium: rankings, product links, affiliate rel, offline, no side scroll."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from test_site_build import build_demo_site

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        """Keep test output clean; requests are checked through the browser instead."""


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("browser-site")
    build_demo_site(folder)
    handler = functools.partial(QuietHandler, directory=str(folder / "site"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def open_page(browser, url: str, width: int, hosts: list[str]):  # type: ignore[no-untyped-def]
    """A fresh page at ``width`` px that records the host of every request it makes."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.on("request", lambda request: hosts.append(urlsplit(request.url).hostname or ""))
    # Affiliate links point at real stores; never let a click leave the machine.
    page.route(
        lambda url: urlsplit(url).hostname != "127.0.0.1", lambda route: route.abort()
    )
    page.goto(url)
    return page


def test_ranked_table_and_product_page(browser, base_url: str) -> None:
    hosts: list[str] = []
    page = open_page(browser, base_url, 1280, hosts)
    assert page.title().startswith("Back Pain Picks")
    rows = page.locator("#inversion-tables table.ranking tbody tr")
    assert rows.count() == 2
    ranks = rows.locator("td.rank").all_inner_texts()
    names = rows.locator("th.name").all_inner_texts()
    assert ranks == ["1", "2"]
    assert names == ["Teeter EP-960 Inversion Table", "Acme Budget Inversion Table"]
    stretcher = page.locator("#back-stretchers table.ranking tbody tr th.name")
    # Planted markup shows as text (the brand is prefixed: the title does not name it).
    planted = '"><svg onload=alert(1)> <script>alert(1)</script> Back Stretcher'
    assert stretcher.inner_text() == planted
    assert page.locator("svg, script").count() == 0

    page.get_by_role("link", name="Teeter EP-960 Inversion Table").first.click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Teeter EP-960 Inversion Table"
    stores = page.locator("table.offers-table tbody th").all_inner_texts()
    assert sorted(stores) == ["amazon", "plain-store", "spine-shop"]

    links = page.locator("a[href^='http']:not([href*='example.com/'])")
    assert links.count() == 2
    for index in range(links.count()):
        rel = (links.nth(index).get_attribute("rel") or "").split()
        assert {"sponsored", "nofollow", "noopener"} <= set(rel)
    disclosure = page.locator("aside.disclosure")
    assert disclosure.is_visible()
    assert "As an Amazon Associate I earn from qualifying purchases." in disclosure.inner_text()
    first_link_top = links.first.bounding_box()["y"]
    assert disclosure.bounding_box()["y"] + disclosure.bounding_box()["height"] <= first_link_top
    assert set(hosts) == {"127.0.0.1"}
    page.close()


@pytest.mark.parametrize("width", [390, 1280])
def test_no_horizontal_scroll_and_screenshots(browser, base_url: str, width: int) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    hosts: list[str] = []
    page = open_page(browser, base_url, width, hosts)
    for name, url in [("home", base_url), ("product", None), ("404", base_url + "no/such/page")]:
        if url is None:
            page.goto(base_url)
            page.locator("#inversion-tables th.name a").first.click()
            page.wait_for_load_state()
        else:
            page.goto(url)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} at {width}px scrolls sideways by {overflow}px"
        assert page.evaluate("getComputedStyle(document.body).fontFamily")  # the CSS loaded
        page.screenshot(path=str(ARTIFACTS / f"site-{name}-{width}.png"), full_page=True)
    assert set(hosts) == {"127.0.0.1"}
    page.close()
