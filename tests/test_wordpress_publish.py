"""`backrank publish wordpress` against a real WordPress: synced patterns made, kept current,
retired and never duplicated; the owner's posts follow them; errors a real site gives."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import lxml.html
import pytest
import requests
from markupsafe import escape
from wordpress_helpers import (
    SCALE,
    SEED,
    Shop,
    active_markup,
    blocks,
    copy_shop,
    crawl_hostile_store,
    create_post,
)

from backrank.app.cli import main
from backrank.core.config import load_catalog
from backrank.core.store import Store
from backrank.marketplace import Marketplace
from backrank.marketplace.catalog import XSS_TITLE
from reports.filters import money
from reports.wordpress.blocks import pattern_reference
from reports.wordpress.patterns import PAID_LINK, SLUG_PREFIX
from reports.wordpress.publish import wanted_patterns

ROOT = Path(__file__).resolve().parents[1]

RAW_MARKUP = ("<script>window.__xss", "<script>alert(", "<svg onload", "<img src=x",
              'href="javascript:')  # fmt: skip


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return crawl_hostile_store(tmp_path_factory.mktemp("wp-crawled"))


@pytest.fixture
def shop(
    crawled: Path, tmp_path: Path, wordpress, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Shop]:
    monkeypatch.setenv("BACKRANK_WP_USER", "editor")
    monkeypatch.setenv("BACKRANK_WP_APP_PASSWORD", wordpress.passwords["editor"])
    yield copy_shop(crawled, tmp_path, wordpress.url)


def editor(wordpress) -> tuple[str, str]:
    return ("editor", wordpress.passwords["editor"])


def publish(shop: Shop, *extra: str) -> int:
    return main(["publish", "wordpress", *shop.args(*extra)])


def by_slug(wordpress) -> dict[str, dict]:
    return {b["slug"]: b for b in blocks(wordpress.url, editor(wordpress))}


def test_publish_creates_patterns_with_disclosure_rel_and_paid_link(
    shop, wordpress, capsys
) -> None:
    assert publish(shop) == 0
    made = by_slug(wordpress)
    with Store.open(shop.db) as store:
        products = store.read_products()
    categories = products["subcategory"].nunique()
    boxes = [s for s in made if s.startswith(f"{SLUG_PREFIX}product-")]
    tops = [s for s in made if s.startswith(f"{SLUG_PREFIX}top-")]
    assert len(boxes) == len(products) and len(tops) == categories
    assert any(s.startswith(f"{SLUG_PREFIX}vs-") for s in made)
    amazon_links = 0
    for slug, pattern in made.items():
        content = pattern["content"]["raw"]
        assert content.startswith("<!-- wp:group"), slug
        assert active_markup(content) == [], slug
        first_link = content.find("<a ")
        if first_link == -1:
            continue
        disclosure = content.find("We may earn a commission")
        assert -1 < disclosure < first_link, slug
        for anchor in re.findall(r"<a [^>]*>.*?</a>[^<]{0,20}", content):
            assert 'rel="sponsored nofollow"' in anchor, anchor
            if "amazon" in anchor.lower() and "tag=" in anchor:
                amazon_links += 1
                assert PAID_LINK in anchor, anchor
        assert "As an Amazon Associate" in content or "amazon.com" not in content, slug
        assert "Prices as of " in content or "$" not in content, slug
    assert amazon_links > 0
    out = capsys.readouterr()
    assert wordpress.passwords["editor"] not in out.out + out.err


def test_a_second_publish_with_no_change_writes_nothing(shop, wordpress, capsys) -> None:
    assert publish(shop) == 0
    before = {slug: b["modified_gmt"] for slug, b in by_slug(wordpress).items()}
    capsys.readouterr()
    assert publish(shop) == 0
    assert "0 created, 0 updated, 0 retired" in capsys.readouterr().out
    after = {slug: b["modified_gmt"] for slug, b in by_slug(wordpress).items()}
    assert after == before


def test_dry_run_lists_what_it_would_do_and_writes_nothing(shop, wordpress, capsys) -> None:
    assert publish(shop, "--dry-run") == 0
    out = capsys.readouterr().out
    assert "would create" in out and "create" in out
    assert by_slug(wordpress) == {}


def _amazon_lead(shop: Shop) -> tuple[str, str, int, str]:
    """A product (id, name) and its demo-amazon listing (id, latest price), best ranked first,
    not one of the hostile listings."""
    rows = shop.sql(
        "SELECT p.product_id, p.name, o.listing_id, o.price FROM products p"
        " JOIN product_listings pl ON pl.product_id = p.product_id"
        " JOIN listings l ON l.listing_id = pl.listing_id"
        " JOIN offers o ON o.listing_id = l.listing_id"
        " AND o.run_id = (SELECT max(run_id) FROM offers g WHERE g.listing_id = l.listing_id)"
        " WHERE l.store = 'demo-amazon' AND o.price IS NOT NULL AND p.name NOT LIKE '%<%'"
        " ORDER BY p.rank, p.product_id"
    )
    return rows[0]


def _wanted(shop: Shop) -> dict[str, str]:
    with Store.open(shop.db) as store:
        return {
            p.slug: p.content
            for p in wanted_patterns(load_catalog(shop.catalog), store, datetime.now(UTC))
        }


def _box_slug(wanted: dict[str, str], name: str) -> str:
    (slug,) = [
        s for s, content in wanted.items()
        if s.startswith(f"{SLUG_PREFIX}product-") and f"<h3>{escape(name)}</h3>" in content
    ]  # fmt: skip
    return slug


def _public_html(url: str) -> str:
    response = requests.get(url, timeout=30)
    assert response.status_code == 200
    return response.text


def test_a_price_change_updates_exactly_the_affected_patterns_and_the_owners_post(
    shop, wordpress, capsys
) -> None:
    assert publish(shop) == 0
    product_id, name, listing_id, old = _amazon_lead(shop)
    wanted_before = _wanted(shop)
    box = _box_slug(wanted_before, name)
    before = by_slug(wordpress)
    owner = ("admin", wordpress.passwords["admin"])
    post = create_post(wordpress.url, owner, "The best back stretcher for lower back pain",
        "<!-- wp:paragraph -->\n<p>I use this one every morning.</p>\n<!-- /wp:paragraph -->\n\n"
        + pattern_reference(before[box]["id"]))  # fmt: skip
    old_price, new_price = Decimal(old), Decimal(old) - Decimal("1.11")
    assert money(old_price, "USD") in _public_html(post["link"])

    shop.sql(
        "UPDATE offers SET price = ? WHERE listing_id = ?"
        " AND run_id = (SELECT max(run_id) FROM offers WHERE listing_id = ?)",
        str(new_price), listing_id, listing_id,
    )  # fmt: skip
    assert main(["score", *shop.args("--quiet")]) == 0
    wanted_after = _wanted(shop)
    expected = {slug for slug in wanted_after if wanted_after[slug] != wanted_before.get(slug)}
    assert box in expected and len(expected) < len(wanted_after) / 2, expected
    capsys.readouterr()
    assert publish(shop) == 0
    assert f"0 created, {len(expected)} updated, 0 retired" in capsys.readouterr().out
    after = by_slug(wordpress)
    changed = {s for s in after if after[s]["content"]["raw"] != before[s]["content"]["raw"]}
    assert changed == expected
    assert set(after) == set(before)

    page = _public_html(post["link"])
    assert money(new_price, "USD") in page and money(old_price, "USD") not in page
    assert "I use this one every morning." in page


def test_a_product_that_left_the_catalog_becomes_a_note_and_the_owners_things_stay(
    shop, wordpress, capsys
) -> None:
    assert publish(shop) == 0
    product_id, name, _, _ = _amazon_lead(shop)
    wanted_before = _wanted(shop)
    box = _box_slug(wanted_before, name)
    before = by_slug(wordpress)
    owner = ("admin", wordpress.passwords["admin"])
    own_pattern = requests.post(
        wordpress.url + "/wp-json/wp/v2/blocks", auth=owner, timeout=30,
        json={"title": "My signature", "slug": "my-signature", "status": "publish",
              "content": "<!-- wp:paragraph -->\n<p>Cheers, Sam</p>\n<!-- /wp:paragraph -->"},
    ).json()  # fmt: skip
    post = create_post(wordpress.url, owner, "My back story",
                       pattern_reference(before[box]["id"]) + pattern_reference(own_pattern["id"]))  # fmt: skip

    # the product leaves the ranking (delisted everywhere, rescored without it)
    shop.sql("DELETE FROM product_listings WHERE product_id = ?", product_id)
    shop.sql("DELETE FROM products WHERE product_id = ?", product_id)
    left = set(wanted_before) - set(_wanted(shop))  # its box and the comparisons it was in
    assert box in left
    capsys.readouterr()
    assert publish(shop) == 0
    assert f"{len(left)} retired" in capsys.readouterr().out
    after = by_slug(wordpress)
    assert {s for s in after if "is no longer recommended" in after[s]["content"]["raw"]} == left
    note = after[box]["content"]["raw"]
    assert "is no longer recommended" in note and "<a " not in note
    assert after[box]["id"] == before[box]["id"]  # replaced in place, not deleted
    assert after["my-signature"]["content"]["raw"] == own_pattern["content"]["raw"]
    assert after["my-signature"]["modified_gmt"] == own_pattern["modified_gmt"]
    page = _public_html(post["link"])
    assert "is no longer recommended" in page and "Cheers, Sam" in page
    # a second run leaves the note alone
    capsys.readouterr()
    assert publish(shop) == 0
    assert "0 created, 0 updated, 0 retired" in capsys.readouterr().out


def test_store_payloads_arrive_inert_in_the_owners_post(shop, wordpress) -> None:
    assert publish(shop) == 0
    made = by_slug(wordpress)
    hostile = [b for b in made.values() if escape(XSS_TITLE) in b["content"]["raw"]]
    assert hostile, "no pattern shows the hostile listing's title"
    for pattern in made.values():
        raw = pattern["content"]["raw"]
        assert [bad for bad in RAW_MARKUP if bad in raw] == [], pattern["slug"]
        assert [bad for bad in RAW_MARKUP if bad in pattern["title"]["raw"]] == []
    owner = ("admin", wordpress.passwords["admin"])
    post = create_post(wordpress.url, owner, "Everything",
                       "".join(pattern_reference(b["id"]) for b in hostile))  # fmt: skip
    page = _public_html(post["link"])
    body = page[page.index("<body") :]
    assert [bad for bad in RAW_MARKUP if bad in body] == []
    content = lxml.html.fromstring(page).find_class("wp-block-post-content")[0]
    assert active_markup(lxml.html.tostring(content, encoding="unicode")) == []
    assert str(escape(XSS_TITLE)) in body or "&lt;script&gt;window.__xss" in body


def test_an_amazon_price_older_than_24_hours_is_never_written(
    crawled, tmp_path, wordpress, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("BACKRANK_WP_USER", "editor")
    monkeypatch.setenv("BACKRANK_WP_APP_PASSWORD", wordpress.passwords["editor"])
    shop = copy_shop(crawled, tmp_path, wordpress.url)
    text = shop.catalog.read_text(encoding="utf-8").replace(
        "[site]\n", "[site]\nmax_price_age_hours = 72\n", 1
    )
    shop.catalog.write_text(text, encoding="utf-8")
    old = (datetime.now(UTC) - timedelta(hours=30)).isoformat()
    shop.sql(
        "UPDATE offers SET fetched_at = ? WHERE listing_id IN"
        " (SELECT listing_id FROM listings WHERE store = 'demo-amazon')", old
    )  # fmt: skip
    assert publish(shop) == 0
    amazon_buttons = shown = 0
    for pattern in by_slug(wordpress).values():
        for label in re.findall(r'amazon[^"]*" rel="[^"]*">([^<]*)</a>', pattern["content"]["raw"]):
            amazon_buttons += 1
            assert "$" not in label, label
        shown += len(
            re.findall(
                r">\$[0-9,.]+ at demo-(?:shopify|walmart|woocommerce)<", pattern["content"]["raw"]
            )
        )
    assert amazon_buttons > 0 and shown > 0


@pytest.mark.parametrize(
    ("role", "password", "message"),
    [
        ("editor", "wrong-password-0000", "refused the user and application password"),
        ("contributor", None, "may not publish synced patterns"),
        ("author", None, "may not edit synced patterns other users made"),
    ],
)
def test_wrong_password_and_missing_role_give_their_messages(
    shop, wordpress, monkeypatch, capsys, role, password, message
) -> None:
    password = password or wordpress.passwords[role]
    monkeypatch.setenv("BACKRANK_WP_USER", role)
    monkeypatch.setenv("BACKRANK_WP_APP_PASSWORD", password)
    assert publish(shop) == 2
    out = capsys.readouterr()
    assert message in out.err
    assert password not in out.out + out.err
    assert by_slug(wordpress) == {}


def test_a_closed_rest_api_gives_its_message(shop, wordpress, capsys) -> None:
    wordpress.php("update_option('backrank_test_rest_closed', 1);")
    assert publish(shop) == 2
    err = capsys.readouterr().err
    assert "not JSON" in err and "REST API is disabled" in err


def test_a_site_that_does_not_answer_times_out_with_a_message(shop, capsys) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    try:
        text = shop.catalog.read_text(encoding="utf-8") + "timeout = 1\n"
        shop.catalog.write_text(text, encoding="utf-8")
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        started = time.monotonic()
        assert publish(shop, "--url", url) == 2
        assert time.monotonic() - started < 10
    finally:
        listener.close()
    assert "did not answer" in capsys.readouterr().err


def test_a_publish_killed_halfway_and_rerun_leaves_no_duplicates(shop, wordpress) -> None:
    total = len(_wanted(shop))
    wordpress.php("update_option('backrank_test_slow_ms', 150);")  # a window to kill it in
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable,
        "-m",
        "backrank.app.cli",
        "publish",
        "wordpress",
        *shop.args("--quiet"),
    ]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            if len(blocks(wordpress.url, editor(wordpress))) >= 3:
                break
            time.sleep(0.02)
        process.kill()
    finally:
        process.wait(timeout=30)
    halfway = len(blocks(wordpress.url, editor(wordpress)))
    assert 0 < halfway < total, (halfway, total)
    wordpress.php("delete_option('backrank_test_slow_ms');")
    assert publish(shop) == 0
    slugs = [b["slug"] for b in blocks(wordpress.url, editor(wordpress))]
    assert len(slugs) == total == len(set(slugs))
    assert not [s for s in slugs if re.search(r"-\d+$", s) and s.rsplit("-", 1)[0] in slugs]


def test_refresh_with_publish_keeps_wordpress_current_and_reports_it(
    tmp_path, wordpress, demo_api_credentials
) -> None:
    db, catalog = tmp_path / "backrank.db", tmp_path / "catalog.toml"
    password = wordpress.passwords["editor"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BACKRANK_WP_USER": "editor",
           "BACKRANK_WP_APP_PASSWORD": password}  # fmt: skip
    with Marketplace(seed=SEED, scale=SCALE).start() as market:
        text = market.demo_catalog_text(db=str(db)) + f'\n[wordpress]\nurl = "{wordpress.url}"\n'
        catalog.write_text(text, encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-m", "backrank.app.cli", "refresh", "--catalog", str(catalog),
             "--out", str(tmp_path / "site"), "--publish", "wordpress", "--quiet"],
            env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert password not in done.stdout + done.stderr
    made = blocks(wordpress.url, editor(wordpress))
    assert made and (tmp_path / "site" / "index.html").exists()
    (report_json,) = (tmp_path / "backrank.db.reports").glob("run-*.json")
    section = json.loads(report_json.read_text(encoding="utf-8"))["wordpress"]
    assert section["created"] == len(made) and section["failed"] == 0
    assert section["url"] == wordpress.url and password not in report_json.read_text()
    html = report_json.with_suffix(".html").read_text(encoding="utf-8")
    assert f"WordPress: {wordpress.url}" in html


def _pages(wordpress) -> dict[str, dict]:
    response = requests.get(
        wordpress.url + "/wp-json/wp/v2/pages",
        params={"context": "edit", "per_page": 100, "status": "any"},
        auth=editor(wordpress), timeout=30,
    )  # fmt: skip
    return {p["slug"]: p for p in response.json()}


def test_pages_go_under_the_owners_parent_page_and_show_the_patterns(
    crawled, tmp_path, wordpress, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("BACKRANK_WP_USER", "editor")
    monkeypatch.setenv("BACKRANK_WP_APP_PASSWORD", wordpress.passwords["editor"])
    shop = copy_shop(crawled, tmp_path, wordpress.url, 'pages = true\nparent_page = "reviews"\n')
    assert publish(shop) == 2  # the owner has not made the parent page yet
    assert "no page with the slug 'reviews'" in capsys.readouterr().err
    owner = ("admin", wordpress.passwords["admin"])
    parent = requests.post(
        wordpress.url + "/wp-json/wp/v2/pages", auth=owner, timeout=30,
        json={"title": "Reviews", "slug": "reviews", "status": "publish", "content": "Hi"},
    ).json()  # fmt: skip
    assert publish(shop) == 0
    pages = _pages(wordpress)
    ours = {slug: page for slug, page in pages.items() if slug.startswith(SLUG_PREFIX)}
    with Store.open(shop.db) as store:
        products = store.read_products()
    assert len(ours) == len(products) + products["subcategory"].nunique()
    assert {page["parent"] for page in ours.values()} == {parent["id"]}
    rankings = [p for s, p in ours.items() if s.startswith(f"{SLUG_PREFIX}ranking-")]
    shown = []
    for ranking in rankings:
        assert "<!-- wp:block" in ranking["content"]["raw"]
        assert ranking["link"].startswith(wordpress.url + "/reviews/")
        html = _public_html(ranking["link"])
        assert "Where to buy" in html and "We may earn a commission" in html
        shown.append(html)
    assert any(PAID_LINK in html for html in shown)
    capsys.readouterr()
    assert publish(shop) == 0
    assert "0 created, 0 updated, 0 retired" in capsys.readouterr().out
    assert pages["reviews"]["content"]["raw"] == "Hi"


def test_patterns_parse_as_core_blocks_in_wordpress(shop, wordpress) -> None:
    """WordPress's own block parser reads every pattern as core blocks (no Classic block)."""
    assert publish(shop) == 0
    ids = ",".join(str(b["id"]) for b in blocks(wordpress.url, editor(wordpress)))
    names = wordpress.php(
        "$names = [];"
        "$walk = function ($blocks) use (&$walk, &$names) {"
        "  foreach ($blocks as $b) {"
        "    if ($b['blockName'] === null && trim($b['innerHTML']) === '') continue;"
        "    $names[] = $b['blockName'] ?? 'freeform';"
        "    $walk($b['innerBlocks']);"
        "  }"
        "};"
        f"foreach ([{ids}] as $id) {{ $walk(parse_blocks(get_post($id)->post_content)); }}"
        "echo implode(' ', array_unique($names));"
    ).split()
    assert set(names) <= {"core/group", "core/paragraph", "core/heading", "core/table",
                          "core/buttons", "core/button", "core/list", "core/list-item"}, names  # fmt: skip
    assert {"core/table", "core/buttons", "core/heading"} <= set(names)


def test_a_partial_failure_exits_1_and_a_rerun_finishes_the_job(shop, wordpress, capsys) -> None:
    """One pattern's save fails on the server: the others are written, the failure is reported
    with its HTTP error, exit 1; the next publish writes just that one."""
    assert publish(shop) == 0
    _, name, listing_id, old = _amazon_lead(shop)
    wanted_before = _wanted(shop)
    box = _box_slug(wanted_before, name)
    shop.sql(
        "UPDATE offers SET price = ? WHERE listing_id = ?"
        " AND run_id = (SELECT max(run_id) FROM offers WHERE listing_id = ?)",
        str(Decimal(old) - 2), listing_id, listing_id,
    )  # fmt: skip
    wanted_after = _wanted(shop)
    changed = {slug for slug in wanted_after if wanted_after[slug] != wanted_before[slug]}
    assert box in changed
    wordpress.php(f"update_option('backrank_test_fail_slug', '{box}');")
    capsys.readouterr()
    status = publish(shop)
    out = capsys.readouterr()
    assert status == 1, out
    assert "1 failed" in out.out and f"{box}: POST /wp/v2/blocks/" in out.err
    assert "HTTP 500 backrank_test_failure" in out.err
    assert f"0 created, {len(changed) - 1} updated" in out.out  # all but the failed one
    report = sorted((shop.folder / "backrank.db.reports").glob("run-*.json"))[-1]
    section = json.loads(report.read_text(encoding="utf-8"))["wordpress"]
    assert section["failed"] == 1 and section["failures"][0]["slug"] == box
    assert "HTTP 500" in section["failures"][0]["error"]
    wordpress.php("delete_option('backrank_test_fail_slug');")
    assert publish(shop) == 0
    assert "0 created, 1 updated, 0 retired" in capsys.readouterr().out
    assert len(by_slug(wordpress)) == len(_wanted(shop))


def test_an_author_is_told_to_use_an_editor_and_makes_no_duplicates(
    shop, wordpress, monkeypatch, capsys
) -> None:
    """An Author sees only its own patterns through the API: it must not publish at all."""
    assert publish(shop) == 0
    before = by_slug(wordpress)
    monkeypatch.setenv("BACKRANK_WP_USER", "author")
    monkeypatch.setenv("BACKRANK_WP_APP_PASSWORD", wordpress.passwords["author"])
    assert publish(shop) == 2
    assert "give it the Editor (or Administrator) role" in capsys.readouterr().err
    assert by_slug(wordpress).keys() == before.keys()


def test_credentials_come_from_the_file_the_catalog_names(
    crawled, tmp_path, wordpress, monkeypatch, capsys
) -> None:
    monkeypatch.delenv("BACKRANK_WP_USER", raising=False)
    monkeypatch.delenv("BACKRANK_WP_APP_PASSWORD", raising=False)
    bare = copy_shop(crawled, tmp_path / "bare", wordpress.url)
    assert publish(bare) == 2
    assert "no WordPress credentials: set BACKRANK_WP_USER" in capsys.readouterr().err
    shop = copy_shop(crawled, tmp_path, wordpress.url, 'credentials = "../wp-credentials.toml"\n')
    assert publish(shop) == 2
    assert "cannot read the credentials file" in capsys.readouterr().err
    password = wordpress.passwords["editor"]
    (tmp_path / "wp-credentials.toml").write_text(
        f'user = "editor"\napplication_password = "{password}"\n', encoding="utf-8"
    )
    assert publish(shop) == 0
    out = capsys.readouterr()
    assert "created" in out.out and password not in out.out + out.err
    assert by_slug(wordpress)
