"""Which database --db names, how it is shown, where its local files go, and its refresh lock."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import load_catalog_text
from sqlalchemy import create_engine, text

from backrank.app.refresh import resolve_db
from backrank.core.config import Catalog
from backrank.core.lock import LockBusy, refresh_lock
from backrank.core.store.schema import LOCK_CLASS, REFRESH_LOCK
from backrank.core.store.target import (
    StoreTargetError,
    engine_url,
    is_server,
    masked,
    state_path,
)

SECRET_URL = "postgresql://shop:s3cret@db.example:6543/prices"


@pytest.mark.parametrize(
    ("target", "driver", "database"),
    [
        ("backrank.db", "sqlite", "backrank.db"),
        ("sqlite:///data/backrank.db", "sqlite", "data/backrank.db"),
        ("postgresql://u:p@h/shop", "postgresql+psycopg", "shop"),
        ("postgres://u:p@h/shop", "postgresql+psycopg", "shop"),
        ("postgresql+psycopg://u:p@h:5433/shop", "postgresql+psycopg", "shop"),
    ],
)
def test_targets_name_their_driver(target: str, driver: str, database: str) -> None:
    url = engine_url(target)
    assert (url.drivername, url.database) == (driver, database)


def test_other_urls_are_refused_without_their_password() -> None:
    with pytest.raises(StoreTargetError, match="unsupported database URL") as error:
        engine_url("mysql://shop:s3cret@h/prices")
    assert "s3cret" not in str(error.value)


def test_passwords_are_masked() -> None:
    assert masked(SECRET_URL) == "postgresql://shop:***@db.example:6543/prices"
    assert masked("data/backrank.db") == "data/backrank.db"


def test_local_files_sit_beside_a_sqlite_file_and_in_the_state_dir_for_a_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert state_path("data/backrank.db", ".lock") == Path("data/backrank.db.lock")
    assert state_path("sqlite:///data/b.db", ".reports") == Path("data/b.db.reports")
    monkeypatch.delenv("BACKRANK_STATE_DIR", raising=False)
    assert state_path(SECRET_URL, ".jobs") == Path("db.example-6543-prices.jobs")
    monkeypatch.setenv("BACKRANK_STATE_DIR", str(tmp_path))
    assert state_path(SECRET_URL, ".reports") == tmp_path / "db.example-6543-prices.reports"
    assert is_server(SECRET_URL) and not is_server("sqlite:///b.db") and not is_server("b.db")


def test_db_precedence_flag_then_environment_then_catalog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog: Catalog = load_catalog_text(
        tmp_path,
        '[site]\nname = "S"\nbase_url = "https://s.example"\ndb = "site.db"\n\n'
        '[[stores]]\nproduct_urls = ["https://shop.example/p"]\n',
    )
    monkeypatch.delenv("BACKRANK_DB", raising=False)
    assert resolve_db(None, catalog) == tmp_path / "site.db"
    monkeypatch.setenv("BACKRANK_DB", SECRET_URL)
    assert resolve_db(None, catalog) == SECRET_URL  # a URL stays a string
    assert resolve_db("other.db", catalog) == Path("other.db")


def test_a_second_refresh_of_a_postgresql_store_is_refused(postgres_url: str) -> None:
    holder = create_engine(postgres_url, connect_args={"application_name": "crawler on box-2"})
    try:
        with holder.connect() as conn:
            conn.execute(
                text("SELECT pg_advisory_lock(:c, :k)"), {"c": LOCK_CLASS, "k": REFRESH_LOCK}
            )
            with pytest.raises(LockBusy, match="crawler on box-2") as busy:
                with refresh_lock(postgres_url):
                    pass
            assert "backrank:backrank@" not in str(busy.value)  # no password in the message
            conn.execute(
                text("SELECT pg_advisory_unlock(:c, :k)"), {"c": LOCK_CLASS, "k": REFRESH_LOCK}
            )
        with refresh_lock(postgres_url) as name, refresh_lock(postgres_url):  # re-entrant
            assert "***" in str(name)
    finally:
        holder.dispose()
