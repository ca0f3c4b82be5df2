"""kill -9 mid-crawl then the same command resumes the run; one refresh per database at a time; a soak under full faults."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

from backrank.app.demo import amazon_credentials_env
from backrank.core.lock import refresh_lock
from backrank.core.store import Store, url_key
from backrank.marketplace import Marketplace
from spiders.crawl import job_dir, run_crawl_subprocess


def write_catalog(marketplace: Marketplace, tmp_path: Path, review_pages: int) -> Path:
    catalog = tmp_path / "catalog.toml"
    text = marketplace.demo_catalog_text().replace(
        "max_review_pages = 50", f"max_review_pages = {review_pages}"
    )
    catalog.write_text(text, encoding="utf-8")
    return catalog


def stored_offers(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return conn.execute("SELECT count(*) FROM offers").fetchone()[0]
    except sqlite3.OperationalError:  # schema not created yet
        return 0


def identity(store: str, url: str, asin: str | None) -> tuple[str, str]:
    return (store.removeprefix("demo-"), f"asin:{asin}" if asin else url_key(url))


def test_kill_9_mid_crawl_then_rerun_resumes_the_run_without_duplicates(tmp_path: Path) -> None:
    with Marketplace(seed=21, scale=8).start() as marketplace:
        catalog = write_catalog(marketplace, tmp_path, review_pages=50)
        db = tmp_path / "crash.db"
        command = [
            sys.executable, "-m", "spiders.crawl", "--catalog", str(catalog), "--db", str(db),
            "--quiet", "--set", "BACKRANK_STORE_BATCH=5",
        ]  # fmt: skip
        crawl = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while stored_offers(db) < 3 and crawl.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert crawl.poll() is None, "the crawl finished before it could be killed: grow the scale"
        os.kill(crawl.pid, signal.SIGKILL)
        crawl.wait()
        before = stored_offers(db)
        jobs = job_dir(db, str(catalog), None)
        assert jobs.is_dir(), "the job dir must outlive a kill -9"
        with Store.open(db) as store:
            killed = store.runs()
        assert killed["status"].tolist() == ["running"]

        result = run_crawl_subprocess(catalog, db, quiet=True)
        truth = marketplace.truth()

    assert result.resumed and result.run_id == int(killed["run_id"].iloc[0])
    assert result.status == "ok" and not jobs.exists(), "a complete crawl removes its job dir"
    with Store.open(db) as store:
        runs = store.runs()
        offers = store.read_offers(latest=False)
        listings = store.read_listings()
        reviews = store.read_reviews()
    assert runs["status"].tolist() == ["ok"], "the resumed run is the same run, now closed"
    print(f"killed after {before} offers; resumed run stored {len(offers)}")
    assert before < len(offers)
    assert not offers.duplicated(["listing_id", "run_id"]).any()
    assert not listings.duplicated(["store", "listing_key"]).any()
    assert not reviews.duplicated(["store", "review_id"]).any()
    expected = {identity(row["store"], row["url"], row.get("asin")) for row in truth["listings"]}
    got = {identity(row["store"], row["url"], row["asin"]) for row in listings.to_dict("records")}
    assert got == expected, f"missing {expected - got}, extra {got - expected}"
    assert len(reviews) == truth["collected_review_total"], "every review once, none lost"


def test_a_second_refresh_on_the_same_database_says_so_and_exits_2(tmp_path: Path) -> None:
    db = tmp_path / "busy.db"
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(
        '[site]\nname = "x"\nbase_url = "https://x.example"\n\n[[stores]]\nname = "s"\n'
        'platform = "generic"\nproduct_urls = ["http://127.0.0.1:9/p"]\n',
        encoding="utf-8",
    )
    with refresh_lock(db):
        second = subprocess.run(
            [sys.executable, "-m", "backrank.app.cli", "crawl", "--catalog", str(catalog),
             "--db", str(db), "--quiet"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert second.returncode == 2
    assert "being refreshed by process" in second.stderr + second.stdout
    assert not db.exists(), "a refused refresh must not touch the database"


def test_soak_three_refreshes_under_full_faults_keep_every_listing_still_sold(
    tmp_path: Path,
) -> None:
    marketplace = Marketplace(seed=31, scale=6, faults="full").start()
    marketplace.faults.slow_seconds = 2.0
    try:
        catalog = write_catalog(marketplace, tmp_path, review_pages=1)
        db = tmp_path / "soak.db"
        results = []
        for day in range(3):
            with amazon_credentials_env("api"):  # Amazon's prices from the demo Creators API
                results.append(
                    run_crawl_subprocess(
                        catalog, db, quiet=True, settings={"DOWNLOAD_TIMEOUT": 1.0}
                    )
                )
            if day < 2:
                marketplace.next_day()
        truth = marketplace.truth()
        delisted = marketplace.delisted_urls()
    finally:
        marketplace.stop()
    with Store.open(db) as store:
        offers = store.read_offers(latest=True)
    latest = {
        identity(row["store"], row["url"], row["asin"]): row for row in offers.to_dict("records")
    }
    sold = [row for row in truth["listings"] if row["url"] not in delisted]
    present = [
        row for row in sold
        if (stored := latest.get(identity(row["store"], row["url"], row.get("asin"))))
        and not stored["gone"]
        and stored["price"] == (None if row["price"] is None else Decimal(row["price"]))
    ]  # fmt: skip
    figures = (
        f"soak: {len(sold)} listings still sold, {len(present)} stored with their latest good "
        f"price; {len(delisted)} delisted; runs "
        + ", ".join(
            f"{r.run_id}:{r.status} {r.listings} stored drifted={r.drifted}" for r in results
        )
    )
    print(figures)
    assert len(present) == len(sold), figures
