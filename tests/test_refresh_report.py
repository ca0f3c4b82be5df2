"""The refresh report and run judgement from a store with known runs: drift, gone, price moves, files, `backrank runs`."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from rich.console import Console

from backrank.app.cli import main
from backrank.core.store import Store
from spiders.health import assess_run, is_drifted
from spiders.refresh_report import build_report, render_table, write_report


def listing(store: str, n: int, price: str | None) -> dict:
    return {
        "store": store, "url": f"https://{store}.example/p/{n}", "title": f"Inversion table {n}",
        "price": None if price is None else Decimal(price), "currency": "USD",
        "availability": "in_stock",
    }  # fmt: skip


def crawl_run(db: Store, rows: list[dict], stats: dict, stores=("good", "<b>bad</b>")) -> int:
    run_id = db.start_run("catalog.toml")
    db.save_listings(run_id, rows)
    assess_run(db, run_id, stats, stores, gone_after_misses=2)
    db.finish_run(run_id, "ok", stats)
    return run_id


def test_drift_rule() -> None:
    assert is_drifted(0.0, 0.9, pages=10)
    assert not is_drifted(0.8, 0.9, pages=10)
    assert not is_drifted(0.0, None, pages=10), "no last good run: nothing to compare"
    assert not is_drifted(0.0, 0.9, pages=1), "too few pages to judge"


def test_report_shows_drift_gone_and_price_moves_and_keeps_good_prices(tmp_path: Path) -> None:
    db_path = tmp_path / "r.db"
    with Store.open(db_path) as db:
        good = [listing("good", n, "100.00") for n in range(5)]
        bad = [listing("<b>bad</b>", n, "50.00") for n in range(5)]
        crawl_run(db, good + bad, {})
        # run 2: good drops one listing and moves two prices; bad lost every price (redesign)
        moved = [listing("good", 0, "90.00"), listing("good", 1, "120.00")] + good[2:4]
        crawl_run(db, moved + [listing("<b>bad</b>", n, None) for n in range(5)], {})
        third = crawl_run(db, moved + [listing("<b>bad</b>", n, None) for n in range(5)], {
            "backrank/store/good/pages": 7, "backrank/store/good/dropped/no_title": 1,
            "response_received_count": 12,
        })  # fmt: skip
        report = build_report(db, third)
        offers = db.read_offers(latest=True)
    stores = {store["store"]: store for store in report["stores"]}
    assert stores["<b>bad</b>"]["drifted"] and not stores["good"]["drifted"]
    bad_prices = offers.loc[offers["store"] == "<b>bad</b>", "price"].tolist()
    assert bad_prices == [Decimal("50.00")] * 5, "a drifted store keeps its last good prices"
    assert stores["good"]["gone_new"] == 1 and stores["good"]["gone_total"] == 1
    assert offers.loc[
        offers["url"].str.endswith("/p/4") & (offers["store"] == "good"), "gone"
    ].all()
    assert stores["good"]["price_moves"] == {"up": 0, "down": 0}  # third run: no new moves
    assert stores["good"]["drops"] == {"dropped/no_title": 1}
    assert any("drifted" in warning for warning in report["warnings"])

    json_path, html_path = write_report(report, db_path)
    assert json_path == tmp_path / "r.db.reports" / f"run-{third}.json"
    assert json.loads(json_path.read_text(encoding="utf-8"))["run_id"] == third
    html = html_path.read_text(encoding="utf-8")
    assert "&lt;b&gt;bad&lt;/b&gt;" in html and "<b>bad</b>" not in html
    console = Console(record=True, width=200)
    console.print(render_table(report))
    assert "DRIFT" in console.export_text()


def test_price_moves_counted_against_the_previous_snapshot(tmp_path: Path) -> None:
    with Store.open(tmp_path / "m.db") as db:
        crawl_run(db, [listing("good", n, "100.00") for n in range(4)], {}, stores=("good",))
        second = crawl_run(
            db,
            [listing("good", 0, "90.00"), listing("good", 1, "120.00"),
             listing("good", 2, "120.00"), listing("good", 3, "100.00")],
            {}, stores=("good",),
        )  # fmt: skip
        report = build_report(db, second)
    assert report["stores"][0]["price_moves"] == {"up": 2, "down": 1}


def test_runs_command_lists_runs_with_status_and_drift(tmp_path: Path, capsys) -> None:
    db_path = tmp_path / "runs.db"
    with Store.open(db_path) as db:
        crawl_run(db, [listing("good", 1, "10.00"), listing("<b>bad</b>", 1, "5.00")] * 2, {})
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(
        '[site]\nname = "x"\nbase_url = "https://x.example"\n\n[[stores]]\nname = "good"\n'
        'product_urls = ["https://good.example/p/1"]\n',
        encoding="utf-8",
    )
    assert main(["runs", "--catalog", str(catalog), "--db", str(db_path)]) == 0
    out = capsys.readouterr().out
    assert "ok" in out and "runs in" in out
