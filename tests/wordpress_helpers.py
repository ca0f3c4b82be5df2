"""For the WordPress tests: a crawled and scored demo store, and reads of the test site's REST API."""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lxml.html
import requests

from backrank.app.cli import main
from backrank.app.demo import amazon_credentials_env
from backrank.marketplace import Marketplace
from spiders.crawl import run_crawl_subprocess

SEED, SCALE = 7, 6


def crawl_hostile_store(folder: Path, hostile: bool = True) -> Path:
    """Crawl the demo marketplace (with its XSS payloads planted unless ``hostile`` is False)
    and score it; the folder with catalog.toml and backrank.db."""
    db, catalog = folder / "backrank.db", folder / "catalog.toml"
    with Marketplace(seed=SEED, scale=SCALE, hostile=hostile).start() as market:
        catalog.write_text(market.demo_catalog_text(db=str(db)), encoding="utf-8")
        with amazon_credentials_env("api"):  # Amazon's listings through the demo Creators API
            result = run_crawl_subprocess(catalog, db, quiet=True, timeout=120)
    assert result.status == "ok" and result.errors == 0, result
    assert main(["score", "--catalog", str(catalog), "--db", str(db), "--quiet"]) == 0
    return folder


@dataclass
class Shop:
    """A copy of the crawled store with a catalog pointing at the test WordPress."""

    folder: Path

    @property
    def catalog(self) -> Path:
        return self.folder / "catalog.toml"

    @property
    def db(self) -> Path:
        return self.folder / "backrank.db"

    def args(self, *extra: str) -> list[str]:
        return ["--catalog", str(self.catalog), "--db", str(self.db), *extra]

    def sql(self, statement: str, *params: Any) -> list[tuple]:
        with sqlite3.connect(self.db) as conn:
            rows = conn.execute(statement, params).fetchall()
        return rows


def copy_shop(crawled: Path, folder: Path, wordpress_url: str, extra: str = "") -> Shop:
    target = folder / "shop"
    shutil.copytree(crawled, target)
    catalog = target / "catalog.toml"
    text = catalog.read_text(encoding="utf-8")
    catalog.write_text(text + f'\n[wordpress]\nurl = "{wordpress_url}"\n{extra}', encoding="utf-8")
    return Shop(target)


def blocks(url: str, auth: tuple[str, str]) -> list[dict[str, Any]]:
    """Every synced pattern on the site, raw, oldest first."""
    found, page = [], 1
    while True:
        response = requests.get(
            url + "/wp-json/wp/v2/blocks",
            params={"context": "edit", "per_page": 100, "page": page, "status": "any",
                    "orderby": "id", "order": "asc"},
            auth=auth, timeout=30,
        )  # fmt: skip
        response.raise_for_status()
        found.extend(response.json())
        if page >= int(response.headers.get("X-WP-TotalPages") or 1):
            return found
        page += 1


def create_post(url: str, auth: tuple[str, str], title: str, content: str) -> dict[str, Any]:
    """A post the owner writes and publishes."""
    response = requests.post(
        url + "/wp-json/wp/v2/posts",
        json={"title": title, "content": content, "status": "publish"},
        auth=auth, timeout=30,
    )  # fmt: skip
    assert response.status_code == 201, response.text
    return response.json()


def active_markup(html: str) -> list[str]:
    """Elements and attributes in ``html`` that could run code: script/svg/img/iframe elements,
    on* attributes, javascript: links (as a browser's parser sees them, not as text)."""
    document = lxml.html.fromstring(f"<div>{html}</div>")
    found = []
    for element in document.iter():
        if not isinstance(element.tag, str):
            continue
        if element.tag in ("script", "svg", "img", "iframe", "object", "embed"):
            found.append(f"<{element.tag}>")
        for name, value in element.attrib.items():
            if name.lower().startswith("on"):
                found.append(f"{element.tag} {name}")
            if name in ("href", "src") and value.strip().lower().startswith("javascript:"):
                found.append(f"{element.tag} {name}={value}")
    return found
