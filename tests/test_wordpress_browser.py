"""A WordPress post (twentytwentythree) with a category table and a product box in Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import chromium
from wordpress_helpers import blocks, copy_shop, crawl_hostile_store, create_post

from backrank.app.cli import main
from backrank.marketplace.catalog import XSS_BRAND, XSS_TITLE
from reports.wordpress.blocks import pattern_reference
from reports.wordpress.patterns import SLUG_PREFIX

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
AFFILIATE_LINKS = ".backrank-pattern a"
# Per affiliate link: its rel, its text, the text right after it, and whether a disclosure
# paragraph of its own pattern sits above it.
LINK_PROBE = """() => [...document.querySelectorAll('.backrank-pattern a')].map(a => {
  const pattern = a.closest('.backrank-pattern');
  const disclosure = pattern.querySelector('.backrank-disclosure');
  const after = (a.nextSibling && a.nextSibling.textContent) || '';
  return {
    href: a.href, rel: a.getAttribute('rel'), text: a.textContent, after,
    disclosed: !!disclosure && disclosure.getBoundingClientRect().bottom <= a.getBoundingClientRect().top,
  };
})"""


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return crawl_hostile_store(tmp_path_factory.mktemp("wp-browser"), hostile=False)


def test_a_post_with_a_table_and_a_box_in_twentytwentythree(
    crawled, tmp_path, wordpress, monkeypatch
) -> None:
    monkeypatch.setenv("BACKRANK_WP_USER", "editor")
    monkeypatch.setenv("BACKRANK_WP_APP_PASSWORD", wordpress.passwords["editor"])
    shop = copy_shop(crawled, tmp_path, wordpress.url)
    assert main(["publish", "wordpress", *shop.args("--quiet")]) == 0
    made = {b["slug"]: b for b in blocks(wordpress.url, ("editor", wordpress.passwords["editor"]))}
    # the category with the most products, and the box of its best Amazon-sold product
    tops = sorted((s for s in made if s.startswith(f"{SLUG_PREFIX}top-")),
                  key=lambda s: -made[s]["content"]["raw"].count("<tr>"))  # fmt: skip
    table = made[tops[0]]
    box = next(b for s, b in made.items() if s.startswith(f"{SLUG_PREFIX}product-")
               and "(paid link)" in b["content"]["raw"])  # fmt: skip
    content = (
        "<!-- wp:paragraph -->\n<p>My lower back hurt for years. These are the stretchers and "
        "tables I compared before buying one.</p>\n<!-- /wp:paragraph -->\n\n"
        + pattern_reference(table["id"])
        + "\n\n<!-- wp:paragraph -->\n<p>The one I kept:</p>\n<!-- /wp:paragraph -->\n\n"
        + pattern_reference(box["id"])
    )
    post = create_post(wordpress.url, ("admin", wordpress.passwords["admin"]),
                       "The best back stretcher for lower back pain", content)  # fmt: skip

    from axe_playwright_python.sync_playwright import Axe

    ARTIFACTS.mkdir(exist_ok=True)
    with chromium() as browser:
        for width in (390, 1280):
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.route(lambda url: not url.startswith(wordpress.url), lambda r: r.abort())
            page.goto(post["link"], wait_until="load")
            assert "twentytwentythree" in page.content()
            links = page.evaluate(LINK_PROBE)
            assert len(links) >= 2
            for link in links:
                assert link["rel"] == "sponsored nofollow", link
                assert link["disclosed"], link
                if "amazon." in link["href"]:
                    assert "(paid link)" in link["text"] + link["after"], link
            assert any("amazon." in link["href"] for link in links)
            text = page.locator(".wp-block-post-content").inner_text()
            assert "We may earn a commission" in text and "As an Amazon Associate" in text
            assert "Prices as of " in text
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"the post scrolls sideways by {overflow}px at {width}px"
            results = Axe().run(page)
            serious = [v for v in results.response["violations"]
                       if v["impact"] in ("serious", "critical")]  # fmt: skip
            assert serious == [], results.generate_report()
            shot = ARTIFACTS / f"wordpress-post-{width}.png"
            page.set_viewport_size({"width": width, "height": 1500})
            page.screenshot(path=str(shot))
            page.close()
    # the README's screenshot (docs/screenshots/wordpress-post.png) is the phone one, copied
    # by hand when it changes: `cp test-artifacts/wordpress-post-390.png docs/screenshots/`
    assert (ARTIFACTS / "wordpress-post-390.png").stat().st_size < 600_000


def test_store_payloads_in_a_post_run_nothing_in_chromium(tmp_path, wordpress, monkeypatch) -> None:
    """The marketplace's XSS payloads, published and inserted into a post, show as text only."""
    monkeypatch.setenv("BACKRANK_WP_USER", "editor")
    monkeypatch.setenv("BACKRANK_WP_APP_PASSWORD", wordpress.passwords["editor"])
    (tmp_path / "hostile").mkdir()
    shop = copy_shop(crawl_hostile_store(tmp_path / "hostile"), tmp_path, wordpress.url)
    assert main(["publish", "wordpress", *shop.args("--quiet")]) == 0
    made = blocks(wordpress.url, ("editor", wordpress.passwords["editor"]))
    post = create_post(wordpress.url, ("admin", wordpress.passwords["admin"]), "Everything",
                       "\n\n".join(pattern_reference(b["id"]) for b in made))  # fmt: skip
    dialogs: list[str] = []
    with chromium() as browser:
        page = browser.new_page()
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.route(lambda url: not url.startswith(wordpress.url), lambda r: r.abort())
        page.goto(post["link"], wait_until="load")
        injected = page.evaluate(
            """() => [...document.querySelectorAll('.wp-block-post-content *')].flatMap(el =>
                 [...el.attributes].filter(a => a.name.startsWith('on')
                   || /^\\s*javascript:/i.test(a.value)).map(a => el.tagName + ' ' + a.name))"""
        )
        scripts = page.evaluate("document.querySelectorAll('.wp-block-post-content script').length")
        assert page.evaluate("typeof window.__xss") == "undefined"
        text = page.locator(".wp-block-post-content").inner_text()
        page.close()
    assert injected == [] and scripts == 0 and dialogs == []
    assert XSS_TITLE in text and XSS_BRAND in text  # shown, as text
