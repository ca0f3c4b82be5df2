"""`backrank runs`: past crawl runs, newest last, with status and figures."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from backrank.core.store import Store
from backrank.core.store.target import masked

NUMERIC_COLUMNS = ("run", "pages", "listings", "errors", "blocked")
COLUMNS = (
    "run",
    "started",
    "finished",
    "status",
    "pages",
    "listings",
    "errors",
    "blocked",
    "drifted",
)


def runs_table(db_path: Path | str) -> Table:
    """The runs stored in ``db_path`` as a rich table."""
    with Store.open(db_path) as store:
        runs = store.runs()
        judged = store.read_run_stores()
    drifted = judged[judged["status"] == "drifted"].groupby("run_id")["store"].agg(", ".join)
    table = Table(title=f"runs in {masked(db_path)}")
    for column in COLUMNS:
        table.add_column(column, justify="right" if column in NUMERIC_COLUMNS else "left")
    for run in runs.to_dict("records"):
        stats = run["stats"]
        errors = sum(int(v) for k, v in stats.items() if k.startswith("backrank/errors/"))
        table.add_row(
            str(run["run_id"]), run["started_at"] or "-", run["finished_at"] or "-", run["status"],
            str(stats.get("response_received_count", "-")), str(stats.get("backrank/stored/listings", "-")),
            str(errors), str(stats.get("backrank/blocked", 0)), drifted.get(run["run_id"], "-"),
        )  # fmt: skip
    return table


def print_runs(db_path: Path | str) -> None:
    Console(stderr=False).print(runs_table(db_path))
