"""The example back-care catalog is a valid catalog of real stores (never crawled by tests)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from urllib.parse import urlsplit

from backrank.app.cli import main

EXAMPLE = Path(__file__).parent.parent / "examples" / "back-care.toml"


def test_backrank_check_passes_on_the_example_catalog(capsys) -> None:
    assert main(["check", "--catalog", str(EXAMPLE)]) == 0
    output = capsys.readouterr()
    assert "ok (6 stores" in output.out
    assert "private" not in output.out + output.err  # real public hosts, no demo warnings


def test_every_store_is_a_real_public_https_store_with_a_comment_on_its_path() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    catalog = tomllib.loads(text)
    assert catalog["crawl"]["polite"] is True
    for store in catalog["stores"]:
        urls = store.get("sitemap_urls", []) + store.get("start_urls", [])
        assert urls, store["name"]
        for url in urls:
            parts = urlsplit(url)
            assert parts.scheme == "https" and "." in parts.hostname, url
            assert not parts.hostname.endswith((".example", ".test", ".local")), url
        # the comment block above each entry says which path backrank takes there
        block = text.split(f'name = "{store["name"]}"')[0].rsplit("[[stores]]", 1)[1]
        assert "path:" in block.lower() or "Store API" in block, store["name"]
