"""One writer per database, whatever path or URL names it: crawl, score and build share the
lock, and a second writer exits 2 naming the holder. Every holder and writer here is a real
process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path

import pytest
from helpers import write_catalog
from sqlalchemy.engine import make_url
from test_exit_codes import CATALOG, fill

from backrank.core.store import Store
from spiders.items import Listing, Review

HOLDER = """
import sys
from backrank.core.lock import refresh_lock
with refresh_lock(sys.argv[1], sys.argv[2]):
    print("held", flush=True)
    sys.stdin.read()
"""


@contextmanager
def lock_held(db: str, purpose: str) -> Iterator[int]:
    """Another process holding the database's lock as `backrank <purpose>` would; its pid."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, db, purpose],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        yield holder.pid
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
        holder.stdout.close()


def backrank(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backrank.app.cli", *argv],
        capture_output=True, text=True, timeout=120, check=False, cwd=cwd,
    )  # fmt: skip


@pytest.fixture
def catalog(tmp_path: Path) -> str:
    return str(write_catalog(tmp_path, CATALOG))


@pytest.fixture
def crawled_db(tmp_path: Path) -> Path:
    db = tmp_path / "data" / "backrank.db"
    db.parent.mkdir()
    with Store.open(db) as store:
        fill(store)
    return db


def refused(result: subprocess.CompletedProcess[str], pid: int, purpose: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert f"being refreshed by process {pid} (backrank {purpose})" in result.stderr


def test_a_symlink_to_the_database_finds_the_same_lock(
    catalog: str, crawled_db: Path, tmp_path: Path
) -> None:
    link_dir = tmp_path / "elsewhere"
    link_dir.mkdir()
    (link_dir / "shop.db").symlink_to(crawled_db)
    (tmp_path / "data-link").symlink_to(crawled_db.parent, target_is_directory=True)
    with lock_held(str(crawled_db), "crawl") as pid:
        refused(
            backrank("crawl", "--catalog", catalog, "--db", str(link_dir / "shop.db")), pid, "crawl"
        )
        by_folder_link = tmp_path / "data-link" / "backrank.db"
        refused(backrank("crawl", "--catalog", catalog, "--db", str(by_folder_link)), pid, "crawl")
        relative = os.path.relpath(crawled_db, link_dir)
        refused(
            backrank("crawl", "--catalog", catalog, "--db", relative, cwd=link_dir), pid, "crawl"
        )


@pytest.mark.parametrize("command", [["score"], ["build", "--out", "site"]])
def test_score_and_build_wait_for_a_crawl(
    catalog: str, crawled_db: Path, tmp_path: Path, command: list[str]
) -> None:
    with lock_held(str(crawled_db), "crawl") as pid:
        result = backrank(*command, "--catalog", catalog, "--db", str(crawled_db), cwd=tmp_path)
    refused(result, pid, "crawl")
    assert not (tmp_path / "site").exists()
    with Store.open(crawled_db) as store:
        assert store.read_products().empty, "a refused score wrote nothing"


def test_a_crawl_waits_for_a_build(catalog: str, crawled_db: Path) -> None:
    with lock_held(str(crawled_db), "build") as pid:
        refused(backrank("crawl", "--catalog", catalog, "--db", str(crawled_db)), pid, "build")


def fill_many(store: Store, products: int) -> None:
    """``products`` tables and stretchers, two reviews each: a site big enough that two builds
    overlap (the demo's size; the small store above builds too fast to race)."""
    run = store.start_run("catalog.toml")
    kinds = ["Inversion Table", "Back Stretcher"]
    listings = [
        asdict(
            Listing(
                store="shop-a", url=f"http://shop-a.test/p/{n}", platform="shopify",
                title=f"Brand{n} Model {n} {kinds[n % 2]}", brand=f"Brand{n}",
                price=Decimal("50.00") + n, currency="USD", availability="in_stock",
                rating=4.0, review_count=2, fetched_at="2024-07-01T10:00:00+00:00",
            )
        )
        for n in range(products)
    ]  # fmt: skip
    store.save_listings(run, listings)
    reviews = [
        asdict(
            Review(
                store="shop-a", url=f"http://shop-a.test/p/{n}", review_id=f"{n}-{k}",
                author=f"buyer {k}", rating=4.0, title="Good", body="Sturdy and easy.",
                date="2024-06-10", verified=True,
            )
        )
        for n in range(products)
        for k in range(2)
    ]  # fmt: skip
    store.save_reviews(run, reviews)
    store.finish_run(run, "ok", {})


def test_builds_started_together_into_one_folder_never_crash(catalog: str, tmp_path: Path) -> None:
    db = tmp_path / "many.db"
    with Store.open(db) as store:
        fill_many(store, 80)
    assert backrank("score", "--catalog", catalog, "--db", str(db)).returncode == 0
    site = tmp_path / "site"
    argv = [sys.executable, "-m", "backrank.app.cli", "build", "--catalog", catalog,
            "--db", str(db), "--out", str(site)]  # fmt: skip
    for _ in range(3):  # a fresh folder each time, as the crashes had
        shutil.rmtree(site, ignore_errors=True)
        for spare in tmp_path.glob(".site.*"):
            shutil.rmtree(spare)
        builds = [
            subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        results = [(b.wait(timeout=120), *b.communicate()) for b in builds]
        for code, _, err in results:
            assert "Traceback" not in err, err
            assert code == 0 or (code == 2 and "being refreshed by process" in err), (code, err)
        assert any(code == 0 for code, _, _ in results)
        assert (site / "index.html").is_file() and (site / "404.html").is_file()


def test_one_postgresql_lock_whatever_the_url_spelling(catalog: str, postgres_url: str) -> None:
    url = make_url(postgres_url)
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with lock_held(postgres_url, "crawl") as pid:
        result = backrank("score", "--catalog", catalog, "--db", plain)
    assert result.returncode == 2, result.stderr
    assert f"backrank crawl pid {pid}" in result.stderr
    assert f":{url.password}@" not in result.stderr  # the URL is shown masked
