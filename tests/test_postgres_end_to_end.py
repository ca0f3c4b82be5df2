"""The same crawl of the demo marketplace into PostgreSQL and into SQLite: same listings,
same products, same site pages; the refresh report goes to the state folder."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from backrank.core.config import load_catalog
from backrank.core.store import Store
from backrank.marketplace import Marketplace
from pipelines.rescore import score_store
from reports.build import build_site
from spiders.crawl import run_crawl_subprocess

LISTING_COLUMNS = ["store", "listing_key", "title", "brand", "gtin", "mpn", "asin", "category"]
OFFER_COLUMNS = ["store", "url", "price", "currency", "availability", "rating", "review_count"]
PRODUCT_COLUMNS = ["product_id", "name", "best_price", "best_store", "review_count", "rank"]


def refresh(catalog_path: Path, target: str, out: Path) -> dict[str, pd.DataFrame]:
    """Crawl (a fresh process, as `backrank crawl`), score and build; what the store then holds."""
    result = run_crawl_subprocess(catalog_path, target, quiet=True, timeout=180)
    assert result.status == "ok", result
    catalog = load_catalog(catalog_path)
    with Store.open(target) as store:
        score_store(store, catalog)
        build_site(catalog, store, out)
        return {
            "listings": store.read_listings(),
            "offers": store.read_offers(),
            "reviews": store.read_reviews(),
            "products": store.read_products(),
            "report": result.report_json,
        }


def rows(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    return sorted(tuple(str(v) for v in row) for row in frame[columns].itertuples(index=False))


@pytest.mark.slow
def test_crawl_score_build_into_postgresql_matches_sqlite(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo_api_credentials: None
) -> None:
    state = tmp_path / "state"
    monkeypatch.setenv("BACKRANK_STATE_DIR", str(state))  # the crawl process inherits it
    with Marketplace(seed=7, scale=6).start(port=0) as marketplace:
        catalog_path = tmp_path / "catalog.toml"
        catalog_path.write_text(marketplace.demo_catalog_text(), encoding="utf-8")
        lite = refresh(catalog_path, str(tmp_path / "backrank.db"), tmp_path / "site-sqlite")
        server = refresh(catalog_path, postgres_url, tmp_path / "site-postgresql")

    assert len(lite["listings"]) > 10 and len(lite["products"]) > 5
    assert rows(server["listings"], LISTING_COLUMNS) == rows(lite["listings"], LISTING_COLUMNS)
    assert rows(server["offers"], OFFER_COLUMNS) == rows(lite["offers"], OFFER_COLUMNS)
    assert len(server["reviews"]) == len(lite["reviews"])
    assert (
        server["reviews"]["listing_id"].notna().sum() == lite["reviews"]["listing_id"].notna().sum()
    )
    assert rows(server["products"], PRODUCT_COLUMNS) == rows(lite["products"], PRODUCT_COLUMNS)
    pages = {
        name: sorted(
            p.relative_to(tmp_path / name).as_posix() for p in (tmp_path / name).rglob("*.html")
        )
        for name in ("site-sqlite", "site-postgresql")
    }
    assert pages["site-postgresql"] == pages["site-sqlite"] and len(pages["site-sqlite"]) > 10
    # The SQLite report sits beside its file; the server's in the state folder, no password.
    assert Path(lite["report"]).parent == tmp_path / "backrank.db.reports"
    assert Path(server["report"]).parent.parent == state
