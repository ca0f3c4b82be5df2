"""Exit codes: 0 ok, 1 warnings, 2 failed, and every failure one line on stderr naming what
failed and what to do, never a traceback (``--debug`` shows it). Each case is a real failure:
a full disk and a read-only folder are tmpfs mounts, PostgreSQL is the test server."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import PG_VARIABLE, server_or_skip
from helpers import CATEGORIES_TOML, SITE_TOML, write_catalog
from sqlalchemy.engine import make_url

from backrank.app import cli
from backrank.app.cli import main
from backrank.core.store import Store
from spiders.items import Listing, Review

CATALOG = (
    SITE_TOML
    + '\n[[stores]]\nname = "shop-a"\nplatform = "shopify"\nstart_urls = ["http://127.0.0.1:9/"]\n'
    + CATEGORIES_TOML
)


def fill(store: Store) -> None:
    """Two inversion tables and a stretcher with a few reviews each: enough to score and build."""
    run = store.start_run("catalog.toml")
    titles = ["Teeter X3 Inversion Table", "Ironman 1000 Inversion Table", "Lumbar Back Stretcher"]
    store.save_listings(
        run,
        [
            asdict(
                Listing(
                    store="shop-a", url=f"http://shop-a.test/p/{n}", platform="shopify",
                    title=title, brand=title.split()[0], price=Decimal("99.00") + n,
                    currency="USD", availability="in_stock", rating=4.0, review_count=3,
                    fetched_at="2024-07-01T10:00:00+00:00",
                )
            )
            for n, title in enumerate(titles)
        ],
    )  # fmt: skip
    store.save_reviews(
        run,
        [
            asdict(
                Review(
                    store="shop-a", url=f"http://shop-a.test/p/{n}", review_id=f"{n}-{k}",
                    author=f"buyer {k}", rating=4.0, title="Good", body="Sturdy and easy.",
                    date=f"2024-06-{10 + k}", verified=True,
                )
            )
            for n in range(3)
            for k in range(3)
        ],
    )  # fmt: skip
    store.finish_run(run, "ok", {})


@pytest.fixture
def catalog(tmp_path: Path) -> str:
    return str(write_catalog(tmp_path, CATALOG))


@pytest.fixture
def crawled_db(tmp_path: Path) -> Path:
    db = tmp_path / "crawled.db"
    with Store.open(db) as store:
        fill(store)
    return db


def failure_line(capfd: pytest.CaptureFixture[str]) -> str:
    """The one line a failed command printed on stderr (no traceback, nothing else)."""
    err = capfd.readouterr().err.strip()
    assert "Traceback" not in err, err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("backrank: "), err
    return err


def mount_tmpfs(folder: Path, size: str = "1m") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0777", "tmpfs", str(folder)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()})")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 1 MiB file system (tmpfs); skipped where this process may not mount one."""
    folder = tmp_path / "small-disk"
    mount_tmpfs(folder)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill_disk(folder: Path) -> None:
    """Write until the file system is full."""
    with open(folder / "filler", "wb") as filler:
        try:
            while True:
                filler.write(b"\0" * 65536)
                filler.flush()
        except OSError:
            pass


def make_read_only(folder: Path) -> None:
    # root writes through file modes, so only a read-only mount stops it
    remounted = subprocess.run(
        ["mount", "-o", "remount,ro", str(folder)], capture_output=True, check=False
    )
    if remounted.returncode != 0:
        pytest.skip("cannot remount the tmpfs read-only here")


def test_build_onto_a_full_disk_is_one_line_and_exit_2(
    catalog: str, crawled_db: Path, small_disk: Path, capfd
) -> None:
    assert main(["score", "--catalog", catalog, "--db", str(crawled_db), "--quiet"]) == 0
    capfd.readouterr()
    fill_disk(small_disk)
    site = small_disk / "site"
    assert main(["build", "--catalog", catalog, "--db", str(crawled_db), "--out", str(site)]) == 2
    line = failure_line(capfd)
    assert "no space left on the disk" in line and str(site) in line and "free some space" in line


def test_score_with_the_database_on_a_full_disk_is_one_line_and_exit_2(
    catalog: str, crawled_db: Path, small_disk: Path, capfd
) -> None:
    db = small_disk / "backrank.db"
    shutil.copy(crawled_db, db)
    fill_disk(small_disk)
    assert main(["score", "--catalog", catalog, "--db", str(db), "--quiet"]) == 2
    line = failure_line(capfd)
    assert str(db) in line and "free some space" in line


def test_build_into_a_read_only_folder_is_one_line_and_exit_2(
    catalog: str, crawled_db: Path, small_disk: Path, capfd
) -> None:
    make_read_only(small_disk)
    site = small_disk / "site"
    assert main(["build", "--catalog", catalog, "--db", str(crawled_db), "--out", str(site)]) == 2
    line = failure_line(capfd)
    assert "read-only" in line and str(small_disk) in line and "writable" in line


def test_a_database_in_a_read_only_folder_is_one_line_and_exit_2(
    catalog: str, small_disk: Path, capfd
) -> None:
    make_read_only(small_disk)
    db = small_disk / "backrank.db"
    assert main(["crawl", "--catalog", catalog, "--db", str(db), "--quiet"]) == 2
    line = failure_line(capfd)
    assert "read-only" in line and str(small_disk) in line


def test_a_file_that_is_not_a_database_is_one_line_and_exit_2(
    catalog: str, tmp_path: Path, capfd
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("shopping list: inversion table, foam roller\n" * 50, encoding="utf-8")
    for command in (["export", "offers"], ["score"], ["runs"]):
        assert main([*command, "--catalog", catalog, "--db", str(notes)]) == 2
        line = failure_line(capfd)
        assert f"cannot open the database {notes}: file is not a database" in line
        assert "point it at yours" in line
    assert notes.read_text(encoding="utf-8").startswith("shopping list")


def test_postgresql_down_is_one_line_and_exit_2(catalog: str, capfd) -> None:
    with socket_closed_port() as port:
        url = f"postgresql://backrank:s3cret@127.0.0.1:{port}/backrank"
        for command in (["score"], ["export", "offers"], ["crawl"]):
            assert main([*command, "--catalog", catalog, "--db", url, "--quiet"]) == 2
            line = failure_line(capfd)
            assert f"cannot open the database postgresql://backrank:***@127.0.0.1:{port}" in line
            assert "Connection refused" in line and "is the server running" in line
            assert "s3cret" not in line


def test_a_wrong_postgresql_password_is_one_line_and_exit_2(catalog: str, capfd) -> None:
    server = make_url(server_or_skip(PG_VARIABLE, "PostgreSQL server"))
    url = server.set(password="not-the-password").render_as_string(hide_password=False)
    for command in (["score"], ["export", "offers"]):
        assert main([*command, "--catalog", catalog, "--db", url]) == 2
        line = failure_line(capfd)
        assert (
            "password authentication failed" in line and "check the user name and password" in line
        )
        assert "not-the-password" not in line


def test_a_broken_theme_template_is_one_line_and_exit_2(
    catalog: str, crawled_db: Path, tmp_path: Path, capfd
) -> None:
    theme = tmp_path / "theme"
    theme.mkdir()
    (theme / "product.html").write_text(
        '{% extends "base.html" %}\n{% block content %}\n{% if %}\n{% endblock %}\n',
        encoding="utf-8",
    )
    themed = write_catalog(
        tmp_path, CATALOG.replace("[site]\n", '[site]\ntheme_dir = "theme"\n'), "themed.toml"
    )
    site = tmp_path / "site"
    argv = ["build", "--catalog", str(themed), "--db", str(crawled_db), "--out", str(site)]
    assert main(argv) == 2
    line = failure_line(capfd)
    assert f"theme template {theme / 'product.html'}:3:" in line and "fix the template" in line
    assert not site.exists(), "no half-built site"


def test_a_bug_is_exit_2_with_one_line_and_debug_shows_the_traceback(
    catalog: str, crawled_db: Path, monkeypatch, capfd
) -> None:
    def broken(db_path):
        return {}["no such key"]  # the kind of slip an unforeseen store value could cause

    monkeypatch.setattr(cli, "print_runs", broken)
    argv = ["runs", "--catalog", catalog, "--db", str(crawled_db)]
    assert main(argv) == 2
    line = failure_line(capfd)
    assert "unexpected KeyError" in line and "run with --debug" in line
    for debug_argv in (["--debug", *argv], [*argv, "--debug"]):
        assert main(debug_argv) == 2
        err = capfd.readouterr().err
        assert "Traceback (most recent call last)" in err and "no such key" in err


def test_warnings_are_1_and_success_0_still(catalog: str, crawled_db: Path, capfd) -> None:
    assert main(["score", "--catalog", catalog, "--db", str(crawled_db), "--quiet"]) == 0
    # the store on 127.0.0.1 is a warning until the catalog says private hosts are meant
    assert main(["check", "--catalog", catalog]) == 1
    meant = Path(catalog).with_name("meant.toml")
    meant.write_text(
        Path(catalog).read_text(encoding="utf-8") + "\n[crawl]\nallow_private_hosts = true\n",
        encoding="utf-8",
    )
    assert main(["check", "--catalog", str(meant)]) == 0


class socket_closed_port:
    """A port on 127.0.0.1 nobody listens on (bound, then released)."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            return probe.getsockname()[1]

    def __exit__(self, *exc: object) -> None:
        return None


def test_a_catalog_error_keeps_file_and_line_first(tmp_path: Path, capfd) -> None:
    broken = write_catalog(
        tmp_path, CATALOG.replace('platform = "shopify"', 'platform = "shopfiy"')
    )
    assert main(["score", "--catalog", str(broken), "--db", str(tmp_path / "x.db")]) == 2
    err = capfd.readouterr().err
    assert err.startswith("catalog.toml:7: stores[0].platform:"), err  # FILE:LINE: first
