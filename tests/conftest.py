"""Shared fixtures: a throwaway PostgreSQL database per test, a store target on each database,
and the throwaway WordPress site reset for each test."""

from __future__ import annotations

import fcntl
import os
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PG_VARIABLE = "BACKRANK_TEST_PG"


def server_or_skip(variable: str, what: str) -> str:
    """The server URL in ``variable``; skip when unset, but fail under CI (``CI`` set), so CI
    never silently skips the tests that need it."""
    url = os.environ.get(variable)
    if url:
        return url
    script = "wordpress.sh" if variable.startswith("BACKRANK_TEST_WP") else "services.sh"
    reason = f'{variable} is not set: no {what} to test against (eval "$(bash scripts/{script})")'
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


# Modules whose tests run Scrapy in this process without a Twisted reactor (asyncio only):
# once any other test has installed a reactor, they can only skip. Run first, they run.
BEFORE_ANY_REACTOR = ("test_item_pipelines.py",)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Put the tests of BEFORE_ANY_REACTOR first (in each process, under xdist too)."""
    items.sort(key=lambda item: item.path.name not in BEFORE_ANY_REACTOR)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL of a new, empty PostgreSQL database on the ``BACKRANK_TEST_PG`` server, dropped
    after the test (whoever is still connected)."""
    server = make_url(server_or_skip(PG_VARIABLE, "PostgreSQL server"))
    name = f"backrank_t_{secrets.token_hex(6)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield server.set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a test's store lives: a SQLite file in tmp_path, or a throwaway PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "backrank.db")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def demo_api_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo Creators API's credentials in the environment, as `backrank demo` sets them: a
    crawl of the demo catalog (and its subprocesses) reads Amazon through the demo API."""
    # Imported here: conftest is loaded by every test, most of which need neither module.
    from backrank.marketplace.creators_api import (
        DEMO_CREDENTIAL_ID,
        DEMO_CREDENTIAL_SECRET,
        DEMO_CREDENTIAL_VERSION,
    )
    from spiders.sources.amazon_credentials import ENV_ID, ENV_SECRET, ENV_VERSION

    monkeypatch.setenv(ENV_ID, DEMO_CREDENTIAL_ID)
    monkeypatch.setenv(ENV_SECRET, DEMO_CREDENTIAL_SECRET)
    monkeypatch.setenv(ENV_VERSION, DEMO_CREDENTIAL_VERSION)


WP_VARIABLE = "BACKRANK_TEST_WP_URL"
WP_SETUP = Path(__file__).resolve().parents[1] / "scripts" / "wordpress" / "setup.php"


@dataclass(frozen=True)
class WordPressSite:
    """The throwaway WordPress of scripts/wordpress.sh: its URL, folder and users' passwords."""

    url: str
    folder: Path
    passwords: dict[str, str]

    def reset(self) -> None:
        """Drop every table and run WordPress's installer again (about 0.3 s): a fresh site
        with the same users and application passwords."""
        subprocess.run(
            ["php", str(WP_SETUP), str(self.folder / "site")],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip

    def php(self, code: str) -> str:
        """Run PHP ``code`` inside the site (after wp-load.php) and return what it printed."""
        loader = (
            f"$_SERVER['HTTP_HOST'] = '127.0.0.1'; require '{self.folder / 'site'}/wp-load.php';"
        )
        done = subprocess.run(
            ["php", "-r", loader + code], check=True, capture_output=True, text=True, timeout=60
        )
        return done.stdout


@pytest.fixture
def wordpress() -> Iterator[WordPressSite]:
    """The test WordPress (``BACKRANK_TEST_WP_URL``), reset to a fresh install for this test.

    There is one site for the whole run: a test holds it alone (a file lock beside the site),
    so tests spread over pytest-xdist workers never reset or publish into each other's site.
    """
    url = server_or_skip(WP_VARIABLE, "WordPress site")
    folder = Path(os.environ["BACKRANK_TEST_WP_DIR"])
    roles = ("admin", "editor", "author", "contributor")
    site = WordPressSite(
        url=url.rstrip("/"),
        folder=folder,
        passwords={role: os.environ[f"BACKRANK_TEST_WP_{role.upper()}_PASSWORD"] for role in roles},
    )
    with (folder.parent / f"{folder.name}.test-lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        site.reset()
        yield site
