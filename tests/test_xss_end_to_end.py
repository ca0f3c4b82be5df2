"""XSS end to end: payloads planted in the demo stores are crawled, stored raw and shown inert."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from browser import chromium, served

from backrank.app.cli import main
from backrank.app.demo import amazon_credentials_env
from backrank.core.store import Store
from backrank.marketplace import Marketplace
from backrank.marketplace.catalog import (
    STORES,
    XSS_BRAND,
    XSS_REVIEW_BODY,
    XSS_REVIEW_TITLE,
    XSS_TITLE,
)
from spiders.crawl import run_crawl_subprocess

SEED, SCALE = 7, 6
SCRIPT_IN_BODY = XSS_REVIEW_BODY.split(" <a ")[0]  # "<script>alert(document.domain)</script>"
# What must never reach a built page as markup (it may only appear escaped, as text).
RAW_MARKUP = (
    "<script>window.__xss",
    "<script>alert(",
    "<svg onload",
    "<img src=x",
    'href="javascript:',
    "href='javascript:",
)
# Every attribute and script the page ended up with, as the browser parsed it.
DOM_PROBE = """() => {
  const found = [];
  const plain = v => v.replace(/[\\u0000-\\u0020]/g, '').toLowerCase();
  for (const el of document.querySelectorAll('*')) {
    for (const attr of el.attributes) {
      if (attr.name.startsWith('on')) found.push(`${el.tagName} ${attr.name}=${attr.value}`);
      if (/^(href|src|action|formaction|xlink:href|data|poster)$/.test(attr.name)
          && plain(attr.value).startsWith('javascript:')) {
        found.push(`${el.tagName} ${attr.name}=${attr.value}`);
      }
    }
  }
  for (const script of document.scripts) {
    const json = /json$/i.test(script.type || '');
    if (!json && /__xss|alert\\(/.test(script.textContent)) found.push(`script ${script.textContent}`);
  }
  return {found, xss: typeof window.__xss, text: document.body ? document.body.innerText : ''};
}"""


@dataclass(slots=True)
class HostileSite:
    site_dir: Path
    db: Path
    truth: dict


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory) -> HostileSite:
    """Crawl the hostile marketplace, score and build, with cloaked /go/ links for non-Amazon."""
    folder = tmp_path_factory.mktemp("xss-e2e")
    db, catalog, site_dir = folder / "backrank.db", folder / "catalog.toml", folder / "site"
    with Marketplace(seed=SEED, scale=SCALE, hostile=True).start() as market:
        text = market.demo_catalog_text(db=str(db))
        # /go/ redirect pages are built only for cloaked programs (never Amazon's)
        text = re.sub(
            r"^(\[affiliates\.(?!amazon\])[a-z_]+\])$",
            r"\1\ncloak = true",
            text,
            flags=re.MULTILINE,
        )
        catalog.write_text(text, encoding="utf-8")
        truth = market.truth()
        with amazon_credentials_env("api"):  # Amazon's listing through the demo Creators API
            result = run_crawl_subprocess(catalog, db, quiet=True, timeout=120)
    assert result.status == "ok" and result.errors == 0, result
    assert main(["score", "--catalog", str(catalog), "--db", str(db), "--quiet"]) == 0
    build = ["build", "--catalog", str(catalog), "--db", str(db), "--out", str(site_dir), "--quiet"]
    assert main(build) == 0
    return HostileSite(site_dir, db, truth)


def html_pages(site_dir: Path) -> list[str]:
    return sorted(p.relative_to(site_dir).as_posix() for p in site_dir.rglob("*.html"))


def test_every_store_serves_payloads_and_the_crawl_stores_them_raw(
    hostile_site: HostileSite,
) -> None:
    hostile = hostile_site.truth["hostile"]
    assert sorted(row["store"] for row in hostile) == sorted(STORES)
    with Store.open(hostile_site.db) as store:
        offers = store.read_offers()
        reviews = store.read_reviews()
    for planted in hostile:
        name = f"demo-{planted['store']}"
        mine = offers[offers["store"] == name]
        listing = mine[mine["title"].str.contains(XSS_TITLE, regex=False)]
        # the extracted values are the raw text the seller typed, not HTML entities
        assert listing["title"].tolist() == [planted["title"]], name
        assert listing["brand"].tolist() == [planted["brand"]], name
        assert planted["brand"].endswith(XSS_BRAND)
        bodies = reviews.loc[reviews["store"] == name, "body"].dropna()
        if planted["store"] == "amazon":  # Amazon's reviews are never collected
            assert bodies.empty
            continue
        assert bodies.str.startswith(XSS_REVIEW_BODY).sum() == 1, name
        titles = reviews.loc[reviews["store"] == name, "title"].dropna()
        if planted["store"] != "woocommerce":  # WordPress comments have no title
            assert titles.str.startswith(XSS_REVIEW_TITLE).sum() == 1, name


def test_built_html_holds_payloads_only_as_escaped_text(hostile_site: HostileSite) -> None:
    pages = html_pages(hostile_site.site_dir)
    assert any(page.startswith("go/") for page in pages), "no /go/ redirect pages were built"
    assert any(page.startswith("embed/") for page in pages)
    for page in pages:
        html = (hostile_site.site_dir / page).read_text(encoding="utf-8")
        assert [raw for raw in RAW_MARKUP if raw in html] == [], page
    with Store.open(hostile_site.db) as store:
        products = store.read_products()
    named = products["name"].str.contains(XSS_TITLE, regex=False).sum()
    assert named >= 1  # a product named by the hostile title: its page must show it, escaped
    escaped = "&lt;script&gt;window.__xss=1;alert(1)&lt;/script&gt;"
    showing = [
        page
        for page in pages
        if page.startswith("products/")
        and escaped in (hostile_site.site_dir / page).read_text(encoding="utf-8")
    ]
    assert len(showing) >= named, showing


@dataclass
class Visit:
    """One page reused for every URL; never leaves the site, records what it would have done."""

    page: object
    origin: str
    blocked: list[str] = field(default_factory=list)  # requests to anywhere else, aborted
    dialogs: list[str] = field(default_factory=list)
    csp: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # site requests that found nothing

    def __post_init__(self) -> None:
        self.page.on("dialog", self._dialog)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("response", self._response)
        self.page.route("**/*", self._route)

    def _dialog(self, dialog) -> None:  # type: ignore[no-untyped-def]
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def _console(self, message) -> None:  # type: ignore[no-untyped-def]
        if "Content Security Policy" in message.text:
            self.csp.append(message.text)

    def _response(self, response) -> None:  # type: ignore[no-untyped-def]
        if response.status >= 400 and not response.url.endswith("/404.html"):
            self.missing.append(f"{response.status} {response.url}")

    def _route(self, route) -> None:  # type: ignore[no-untyped-def]
        url = route.request.url
        parts = urlsplit(url)
        if parts.hostname == "127.0.0.1" and f"{parts.scheme}://{parts.netloc}" == self.origin:
            route.continue_()
        else:  # "aborted" keeps the current document: no error page replaces it
            self.blocked.append(url)
            route.abort("aborted")


@pytest.fixture(scope="module")
def site_url(hostile_site: HostileSite) -> Iterator[str]:
    with served(hostile_site.site_dir) as origin:
        yield origin


@pytest.mark.browser
def test_every_built_page_in_chromium_runs_no_payload(
    hostile_site: HostileSite, site_url: str
) -> None:
    pages = html_pages(hostile_site.site_dir)
    shown: dict[str, str] = {}
    redirects: dict[str, str] = {}
    with chromium() as browser:
        visit = Visit(browser.new_page(), site_url)
        for path in pages:
            url = f"{site_url}/{path}"
            if path.startswith("go/"):
                # the meta refresh heads for the store: the route records it and stays put
                leaving = lambda request: not request.url.startswith(site_url + "/")
                with visit.page.expect_request(leaving, timeout=5000) as hop:
                    visit.page.goto(url, wait_until="load")
                redirects[path] = hop.value.url
            else:
                visit.page.goto(url, wait_until="load")
            probe = visit.page.evaluate(DOM_PROBE)
            assert visit.page.url == url, f"{path} navigated to {visit.page.url}"
            assert probe["found"] == [], f"{path}: injected markup {probe['found']}"
            assert probe["xss"] == "undefined", f"{path}: a payload ran"
            assert visit.dialogs == [], f"{path}: dialogs {visit.dialogs}"
            shown[path] = probe["text"]
        visit.page.close()
    assert visit.csp == [], f"markup reached the page and CSP stopped it: {visit.csp}"
    assert visit.errors == [], visit.errors
    assert visit.missing == [], visit.missing
    # the only requests off the site are the /go/ pages' hops to http(s) store links
    assert redirects and all(re.match(r"https?://[^/]", target) for target in redirects.values()), (
        redirects
    )
    assert sorted(visit.blocked) == sorted(redirects.values())
    # and the payloads are there to read, as text
    everything = "\n".join(shown.values())
    for payload in (XSS_TITLE, XSS_BRAND, XSS_REVIEW_TITLE, SCRIPT_IN_BODY):
        assert payload in everything, f"payload not shown as text anywhere: {payload}"


def test_javascript_image_urls_never_reach_the_store_or_the_site(
    hostile_site: HostileSite,
) -> None:
    """A seller-supplied `javascript:` image URL is dropped at the pipeline and never rendered."""
    with Store.open(hostile_site.db) as store:
        offers = store.read_offers(latest=True)
    hostile_urls = {row["url"] for row in hostile_site.truth["hostile"]}
    hostile_rows = offers["url"].isin(hostile_urls) | offers["canonical_url"].isin(hostile_urls)
    hostile_offers = offers[hostile_rows & (offers["store"] != "demo-amazon")]
    assert len(hostile_offers) == 3, "Shopify, WooCommerce and Walmart each plant the URL payload"
    shown = hostile_offers[["url", "image_url"]].to_string()
    assert hostile_offers["image_url"].isna().all(), shown
    # the same stores' other listings keep their http(s) images: the field is read, then cleared
    honest = offers[~hostile_rows & offers["store"].isin(hostile_offers["store"])]
    assert honest.groupby("store")["image_url"].count().min() > 0
    assert not offers["image_url"].dropna().str.startswith("javascript:").any()
    for page in hostile_site.site_dir.rglob("*.html"):
        assert "javascript:window.__xss" not in page.read_text(encoding="utf-8"), page
