"""Shared fixtures: a throwaway PostgreSQL database per test, and a store target on each database."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
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
    reason = (
        f'{variable} is not set: no {what} to test against (eval "$(bash scripts/services.sh)")'
    )
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


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
    from spiders.amazon_credentials import ENV_ID, ENV_SECRET, ENV_VERSION

    monkeypatch.setenv(ENV_ID, DEMO_CREDENTIAL_ID)
    monkeypatch.setenv(ENV_SECRET, DEMO_CREDENTIAL_SECRET)
    monkeypatch.setenv(ENV_VERSION, DEMO_CREDENTIAL_VERSION)
