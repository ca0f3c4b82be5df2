"""Regression tests for bugs that came from the seams between modules: each reproduces what a
new user ran."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from test_scoring_run import CATALOG, PRAISE, listing, review

from backrank.app.cli import main
from backrank.core.store import Store

CATALOG_WITH_WEIGHTS = CATALOG.replace(
    "[scoring]\nprior_strength = 5\n",
    "[scoring]\nprior_strength = 5\n\n[scoring.weights]\nrating = 0.1\nvalue = 0.8\ntrust = 0.1\n",
)


def test_workers_without_redis_is_a_one_line_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`backrank crawl --workers 2` without --redis: exit 2 and what to do, no TypeError."""
    monkeypatch.delenv("BACKRANK_REDIS", raising=False)
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(CATALOG, encoding="utf-8")
    code = main(
        ["crawl", "--catalog", str(catalog), "--db", str(tmp_path / "x.db"), "--workers", "2"]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "--workers needs --redis URL or BACKRANK_REDIS" in err
    assert "Traceback" not in err


def crawled_store(folder: Path) -> tuple[Path, Path]:
    """A catalog with its own weights and a store crawled but never scored."""
    catalog = folder / "catalog.toml"
    catalog.write_text(CATALOG_WITH_WEIGHTS, encoding="utf-8")
    db = folder / "backrank.db"
    with Store.open(db) as store:
        run_id = store.start_run(str(catalog))
        prices = {"table-a": "99.00", "table-b": "249.00", "table-c": "149.00"}
        store.save_listings(
            run_id,
            [
                listing(shop, slug, title=f"Inversion table {slug[-1].upper()}", price=price)
                for slug, price in prices.items()
                for shop in ("shop-a", "shop-b")
            ],
        )
        ratings = {"table-a": 3.0, "table-b": 5.0, "table-c": 4.0}
        store.save_reviews(
            run_id,
            [
                review("shop-a", slug, n, rating, PRAISE[n % 4])
                for slug, rating in ratings.items()
                for n in range(12)
            ],
        )
    return catalog, db


def ranked(db: Path) -> list[tuple[str, int]]:
    with Store.open(db) as store:
        products = store.read_products()
    assert not products.empty, "the build left the store unscored"
    order = products.sort_values(["subcategory", "rank"])
    return list(zip(order["product_id"], order["rank"]))


def test_build_on_an_unscored_store_ranks_as_score_then_build(tmp_path: Path) -> None:
    """`build` alone used to score inside the reports stage with only the categories and the
    prior, ignoring the catalog's weights: the site ranked differently from `score`."""
    alone, steps = tmp_path / "alone", tmp_path / "steps"
    alone.mkdir()
    catalog, db = crawled_store(alone)
    shutil.copytree(alone, steps)
    common = ["--catalog", str(catalog), "--quiet"]
    assert main(["build", *common, "--db", str(db), "--out", str(alone / "site")]) == 0
    step_db = steps / "backrank.db"
    assert main(["score", "--catalog", str(steps / "catalog.toml"), "--db", str(step_db)]) == 0
    assert main(["build", "--catalog", str(steps / "catalog.toml"), "--db", str(step_db),
                 "--out", str(steps / "site")]) == 0  # fmt: skip
    assert ranked(db) == ranked(step_db)

    def feed(site: Path) -> list:
        return [
            (p["name"], p.get("score"))
            for p in json.loads((site / "api/products.json").read_text())["products"]
        ]

    assert feed(alone / "site") == feed(steps / "site")
