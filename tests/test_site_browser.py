"""The built site in Chromium: every page type, sorting and filters, links, axe, XSS, embeds."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from browser import chromium, served
from test_site_build import anchors
from test_site_pages import ARC, BUDGET, TEETER, build_rich_site

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PAGE_TYPES = {
    "home": "index.html",
    "category": "category/inversion-tables/",
    "product": f"products/{TEETER}.html",
    "product-bare": f"products/{BUDGET}.html",
    "product-xss": f"products/{ARC}.html",
    "compare": f"compare/{TEETER}-vs-{BUDGET}.html",
    "methodology": "methodology.html",
    "changes": "changes.html",
    "disclosure": "disclosure.html",
    "404": "no/such/page",
}
BLOG_POST = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>My back blog</title>
<style>
body { font-family: Georgia, serif; margin: 2rem; }
p { color: rgb(90, 20, 20); font-size: 19px; line-height: 30px; margin: 0 0 14px; }
a { color: rgb(0, 128, 0); }
</style></head>
<body><main><h1>My favourite inversion tables</h1>
<p id="before">I tried a few tables this year.</p>
<!--EMBED-->
<p id="after">That's all for today.</p>
</main></body></html>
"""


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("browser-site")
    build_rich_site(folder)
    return folder / "site"


@pytest.fixture(scope="module")
def base_url(site_dir: Path) -> Iterator[str]:
    with served(site_dir) as url:
        yield url + "/"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as launched:
        yield launched


class Visit:
    """A page that records requested hosts, dialogs and console errors; never leaves 127.0.0.1."""

    def __init__(self, browser, width: int = 1280) -> None:  # type: ignore[no-untyped-def]
        self.hosts: list[str] = []
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page = browser.new_page(viewport={"width": width, "height": 900})
        self.page.on("request", lambda r: self.hosts.append(urlsplit(r.url).hostname or ""))
        self.page.on("dialog", self._dialog)
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.route(lambda url: urlsplit(url).hostname != "127.0.0.1", lambda r: r.abort())

    def _dialog(self, dialog) -> None:  # type: ignore[no-untyped-def]
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def go(self, url: str) -> None:
        self.page.goto(url)
        self.page.wait_for_load_state("load")

    def assert_inert(self, where: str) -> None:
        assert self.dialogs == [], where
        assert self.page.evaluate("typeof window.__xss") == "undefined", where
        assert set(self.hosts) == {"127.0.0.1"}, where
        csp = [e for e in self.errors if "Content Security Policy" in e]
        assert csp == [], where


def test_home_table_sorts_and_filters(browser, base_url: str) -> None:
    visit = Visit(browser)
    visit.go(base_url)
    page = visit.page
    rows = page.locator("#ranking-all tbody tr")
    names = rows.locator("th.name").all_inner_texts()
    assert names[:2] == ["Teeter EP-960 Inversion Table", "Acme Budget Inversion Table"]
    assert page.locator("#filters").is_visible()  # the script revealed the filters

    price = page.get_by_role("button", name="Best price")
    price.click()
    header = page.locator("#ranking-all thead th", has=price)
    assert header.get_attribute("aria-sort") == "ascending"
    # cheapest first; the stale (unknown) price sorts last either way
    assert rows.locator("th.name").all_inner_texts()[0].endswith("Stretcher")
    assert rows.locator("th.name").all_inner_texts()[-1] == "Acme Budget Inversion Table"
    price.click()
    assert header.get_attribute("aria-sort") == "descending"
    assert rows.locator("th.name").all_inner_texts()[0] == "Teeter EP-960 Inversion Table"
    rank_header = page.locator("#ranking-all thead th").first
    assert rank_header.get_attribute("aria-sort") is None

    page.get_by_label("Category").select_option("inversion-tables")
    assert page.locator("#ranking-all tbody tr:visible").count() == 2
    page.get_by_label("Trust grade").select_option("A")
    visible = page.locator("#ranking-all tbody tr:visible th.name").all_inner_texts()
    assert visible == ["Teeter EP-960 Inversion Table"]
    assert page.locator("#filter-count").inner_text() == "1 product"
    page.get_by_label("Category").select_option("")
    page.get_by_label("Trust grade").select_option("")
    page.get_by_label("Max price").fill("100")
    visible = page.locator("#ranking-all tbody tr:visible th.name").all_inner_texts()
    assert len(visible) == 1 and visible[0].endswith("Stretcher")
    visit.assert_inert("home")
    page.close()


def test_home_table_works_without_javascript(browser, base_url: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.route(lambda url: urlsplit(url).hostname != "127.0.0.1", lambda r: r.abort())
    page.goto(base_url)
    assert page.locator("#ranking-all tbody tr").count() == 3
    assert not page.locator("#filters").is_visible()  # no dead controls without the script
    assert page.locator("#ranking-all thead th").first.get_attribute("aria-sort") == "ascending"
    context.close()


def test_product_page_content_and_links(browser, base_url: str) -> None:
    visit = Visit(browser)
    visit.go(base_url + PAGE_TYPES["product"])
    page = visit.page
    assert page.locator("h1").inner_text() == "Teeter EP-960 Inversion Table"
    stores = page.locator("table.offers-table tbody th").all_inner_texts()
    assert stores == ["plain-store", "spine-shop", "amazon"]  # cheapest current first
    assert page.locator("table.offers-table tbody td").nth(2).inner_text() == "2024-07-02 09:00 UTC"
    assert (
        page.locator("svg.histogram").is_visible()
        and page.locator("svg.price-history").is_visible()
    )
    assert page.locator("table.report-card tbody tr").count() == 2
    links = page.locator("a[rel~='sponsored']")
    assert links.count() == 2
    disclosure = page.locator("aside.disclosure")
    assert "As an Amazon Associate" in disclosure.inner_text()
    first = links.first.bounding_box()
    box = disclosure.bounding_box()
    assert box["y"] + box["height"] <= first["y"]
    amazon_link = page.locator("a[href^='https://www.amazon.com/']")
    assert amazon_link.locator("xpath=following-sibling::span[1]").inner_text() == "(paid link)"
    # the cloaked link goes through the site's own /go/ page to the store
    with page.expect_request(lambda r: "spine-shop.example" in r.url) as request:
        page.locator("a[href*='/go/']").click()
    assert request.value.url == "https://spine-shop.example/products/ep-960?ref=backrank"
    page.close()


def site_files(site_dir: Path) -> list[str]:
    return sorted(
        p.relative_to(site_dir).as_posix()
        for p in site_dir.rglob("*.html")
        if not p.relative_to(site_dir).as_posix().startswith("embed/")
    )


def test_no_broken_internal_links(site_dir: Path, base_url: str) -> None:
    checked: dict[str, int] = {}
    for relative in site_files(site_dir):
        page_url = base_url + relative
        for link in anchors((site_dir / relative).read_text(encoding="utf-8")):
            href = urljoin(page_url, link.get("href") or "")
            if urlsplit(href).hostname != "127.0.0.1":
                continue
            target = href.split("#")[0]
            if target not in checked:
                try:
                    with urllib.request.urlopen(target) as response:  # noqa: S310 - 127.0.0.1
                        checked[target] = response.status
                except urllib.error.HTTPError as error:
                    checked[target] = error.code
            assert checked[target] == 200, f"{relative} links to {href}"
    assert len(checked) >= 14  # every page type, the feed and the /go/ redirects
    for extra in ("sitemap.xml", "robots.txt", "api/products.json", "static/site.js"):
        with urllib.request.urlopen(base_url + extra) as response:  # noqa: S310 - 127.0.0.1
            assert response.status == 200


def test_every_page_passes_axe_and_runs_no_payload(browser, base_url: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    visit = Visit(browser)
    for name, path in PAGE_TYPES.items():
        visit.go(base_url + path)
        results = axe.run(visit.page)
        serious = [
            v for v in results.response["violations"] if v["impact"] in ("serious", "critical")
        ]
        assert serious == [], f"{name}: {results.generate_report()}"
        visit.assert_inert(name)
    visit.page.close()


def test_every_redirect_and_embed_is_inert(browser, base_url: str, site_dir: Path) -> None:
    visit = Visit(browser)
    for path in sorted(p.relative_to(site_dir).as_posix() for p in site_dir.rglob("*.html")):
        if path.startswith("embed/") or path.startswith("products/"):
            visit.go(base_url + path)
            visit.assert_inert(path)
    visit.page.close()


@pytest.mark.parametrize("width", [390, 1280])
def test_no_horizontal_scroll_and_screenshots(browser, base_url: str, width: int) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    visit = Visit(browser, width)
    for name, path in PAGE_TYPES.items():
        visit.go(base_url + path)
        overflow = visit.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} at {width}px scrolls sideways by {overflow}px"
        assert visit.page.evaluate("getComputedStyle(document.body).fontFamily")  # CSS loaded
        visit.page.screenshot(path=str(ARTIFACTS / f"site-{name}-{width}.png"), full_page=True)
    visit.assert_inert(f"all pages at {width}px")
    visit.page.close()


def test_embed_pasted_into_a_blog_post(browser, base_url: str, site_dir: Path) -> None:
    embed = (site_dir / "embed" / "inversion-tables.html").read_text(encoding="utf-8")
    blog = site_dir.parent / "blog"  # another origin, as a real blog would be
    blog.mkdir(exist_ok=True)
    (blog / "plain.html").write_text(BLOG_POST.replace("<!--EMBED-->", ""), encoding="utf-8")
    (blog / "post.html").write_text(BLOG_POST.replace("<!--EMBED-->", embed), encoding="utf-8")
    iframe = f'<iframe title="Top picks" src="{base_url}embed/inversion-tables.html"></iframe>'
    (blog / "framed.html").write_text(BLOG_POST.replace("<!--EMBED-->", iframe), encoding="utf-8")
    style = """id => { const s = getComputedStyle(document.getElementById(id));
        return [s.color, s.fontSize, s.fontFamily, s.lineHeight, s.marginBottom].join('|'); }"""
    with served(blog) as blog_origin:
        check_blog_post(Visit(browser, 390), blog_origin + "/", style)


def check_blog_post(visit: Visit, blog_url: str, style: str) -> None:
    visit.go(blog_url + "plain.html")
    plain = [visit.page.evaluate(style, p) for p in ("before", "after")]
    visit.go(blog_url + "post.html")
    assert [visit.page.evaluate(style, p) for p in ("before", "after")] == plain
    box = visit.page.locator("main .brk-embed")
    assert box.is_visible()
    text = box.inner_text()
    assert "Top inversion tables" in text and "We may earn a commission" in text
    assert "Teeter EP-960 Inversion Table" in text and "Price as of 2024-07-02 09:00 UTC" in text
    buy = box.locator("a.brk-buy").first
    assert buy.get_attribute("rel") == "sponsored nofollow noopener"
    # the disclosure sits inside the box, above its first store link
    disclosure = box.locator(".brk-disclosure").bounding_box()
    assert disclosure["y"] < buy.bounding_box()["y"]
    overflow = visit.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    visit.page.screenshot(path=str(ARTIFACTS / "embed-in-post-390.png"), full_page=True)
    visit.go(blog_url + "framed.html")
    frame = visit.page.frame_locator("iframe")
    assert "We may earn a commission" in frame.locator(".brk-embed").inner_text()
    visit.assert_inert("blog post")
    visit.page.close()


def test_readme_screenshots_are_small(browser, base_url: str) -> None:
    """The README's two screenshots, taken into test-artifacts/ (copied to docs/ by hand)."""
    ARTIFACTS.mkdir(exist_ok=True)
    # the product page on a phone grows with each section (offers with Amazon's disclaimer,
    # ratings by store...): its screenshot is the part a README reader looks at, the top
    # 2,600 px (about four screens), not the whole page
    shots = (
        ("home-1280", "index.html", 1280, None),
        ("product-390", PAGE_TYPES["product"], 390, 2600),
    )
    for name, path, width, height in shots:
        visit = Visit(browser, width)
        visit.go(base_url + path)
        target = ARTIFACTS / f"{name}.png"
        clip = None
        if height is not None:
            page_height = visit.page.evaluate("document.documentElement.scrollHeight")
            clip = {"x": 0, "y": 0, "width": width, "height": min(height, page_height)}
        visit.page.screenshot(path=str(target), full_page=True, clip=clip)
        assert target.stat().st_size < 300_000, f"{name}.png is {target.stat().st_size} bytes"
        visit.page.close()
