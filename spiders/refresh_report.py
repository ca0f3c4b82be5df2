"""The refresh report: per store, what a crawl fetched, stored, dropped and flagged; as JSON, HTML and a rich table."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from jinja2 import Environment, select_autoescape
from rich.table import Table

from backrank.core.files import write_text_atomically
from backrank.core.store import Store
from backrank.core.store.target import state_path
from spiders.budgets import CATALOG_KEYS, MAX_RUN_MINUTES, budgets_hit

HTML_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Refresh report: run {{ report.run_id }}</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}
th,td{border:1px solid #bbb;padding:.3rem .5rem;text-align:right}th:first-child,td:first-child{text-align:left}
.drifted,.failed{background:#fde2e2}.warn{color:#8a4b00}</style></head><body>
<h1>Refresh report: run {{ report.run_id }} ({{ report.status }})</h1>
<p>Started {{ report.started_at }}, finished {{ report.finished_at or "not yet" }}.</p>
{% if report.warnings %}<ul class="warn">{% for warning in report.warnings %}<li>{{ warning }}</li>{% endfor %}</ul>{% endif %}
<table><thead><tr>{% for column in columns %}<th scope="col">{{ column }}</th>{% endfor %}</tr></thead><tbody>
{% for row in rows %}<tr class="{{ row.status }}">{% for cell in row.cells %}<td>{{ cell }}</td>{% endfor %}</tr>{% endfor %}
</tbody></table>
<h2>Drops and skips by reason</h2>
<table><thead><tr><th scope="col">store</th><th scope="col">reason</th><th scope="col">count</th></tr></thead><tbody>
{% for store in report.stores %}{% for reason, count in store.drops.items() %}<tr><td>{{ store.store }}</td><td>{{ reason }}</td><td>{{ count }}</td></tr>{% endfor %}{% endfor %}
</tbody></table>
{% if report.wordpress %}{% set wp = report.wordpress %}
<h2>WordPress: {{ wp.url }}</h2>
{% if wp.stopped %}<p class="warn">Stopped: {{ wp.stopped }}. The next publish finishes the job.</p>{% endif %}
<table><thead><tr>{% for action in wordpress_actions %}<th scope="col">{{ action }}</th>{% endfor %}</tr></thead>
<tbody><tr class="{{ 'failed' if wp.failed or wp.stopped else '' }}">{% for action in wordpress_actions %}<td>{{ wp[action] }}</td>{% endfor %}</tr></tbody></table>
{% if wp.failures %}<h3>Failed patterns</h3><table><thead><tr><th scope="col">pattern</th><th scope="col">error</th></tr></thead><tbody>
{% for failure in wp.failures %}<tr class="failed"><td>{{ failure.slug }}</td><td>{{ failure.error }}</td></tr>{% endfor %}
</tbody></table>{% endif %}{% endif %}
</body></html>
"""
# The WordPress section's columns: what `backrank refresh --publish wordpress` did to each
# synced pattern (the keys of reports.wordpress.publish.PublishResult.summary()).
WORDPRESS_ACTIONS = ("created", "updated", "retired", "unchanged", "failed", "skipped")
COLUMNS = (
    "store", "status", "path", "pages", "listings (last run)", "stored", "with price", "drops",
    "blocked", "errors", "drift", "gone (new)", "broken links", "price moves",
)  # fmt: skip


def _store_stats(stats: dict[str, Any], store: str) -> dict[str, int]:
    prefix = f"backrank/store/{store}/"
    return {
        key.removeprefix(prefix): int(value)
        for key, value in stats.items()
        if key.startswith(prefix)
    }


def api_refusals(figures: dict[str, int]) -> list[str]:
    """Why the store's API refused its first page, when the store was read from its pages
    instead (``http_401``...; counted by the spider as ``path/pages_fallback/<reason>``)."""
    prefix = "path/pages_fallback/"
    return sorted(key.removeprefix(prefix) for key in figures if key.startswith(prefix))


def store_path(figures: dict[str, int]) -> str:
    """Which way the store was read this run: its API (``store-api``), or its pages, and why
    when its API refused (``pages (API refused: http_401)``)."""
    refused = api_refusals(figures)
    if refused:
        return f"pages (API refused: {', '.join(refused)})"
    apis = sorted(
        key.removeprefix("path/")
        for key in figures
        if key.startswith("path/") and "/" not in key[5:]
    )
    return apis[0].replace("_", "-") if apis else "pages"


def _by_prefix(figures: dict[str, int], prefixes: tuple[str, ...]) -> dict[str, int]:
    return {key: count for key, count in sorted(figures.items()) if key.startswith(prefixes)}


def build_report(db: Store, run_id: int) -> dict[str, Any]:
    """Everything the report shows for `run_id`, as JSON-ready data (money as decimal text)."""
    runs = db.runs()
    run = runs[runs["run_id"] == run_id].iloc[0]
    stats = run["stats"] or {}
    stores = []
    refusals: dict[str, list[str]] = {}  # store -> why its API refused (read from its pages)
    judged = db.read_run_stores()
    for row in judged[judged["run_id"] == run_id].to_dict("records"):
        name, status = row["store"], row["status"]
        figures = _store_stats(stats, name)
        earlier = judged[(judged["store"] == name) & (judged["run_id"] < run_id)]
        previous = None if earlier.empty else int(earlier["listings"].iloc[-1])
        gone_new, gone_total, missed = db.gone_counts(run_id, name)
        up, down = _price_moves(db, run_id, name)
        source_path = stats.get(f"backrank/source/{name}/path")  # an API source's own
        refusals[name] = [] if source_path else api_refusals(figures)
        stores.append(
            {
                "store": name,
                "status": status,
                # how the store was read: an API source's own path (Amazon: creators-api,
                # link-only, amazon-html) and why, else its Store API or its pages
                "path": source_path or store_path(figures),
                "path_reason": stats.get(f"backrank/source/{name}/reason"),
                "pages": figures.get("pages", 0),
                "product_pages": int(row["product_pages"]),
                "listings_found": figures.get("found/listings", 0),
                "listings_last_run": previous,
                "listings_stored": int(row["listings"]),
                "with_price": int(row["with_price"]),
                "price_share": _float(row["price_share"]),
                "baseline_price_share": _float(row["baseline_share"]),
                "drifted": status == "drifted",
                "drops": _by_prefix(figures, ("dropped/", "skipped/")),
                "errors": _by_prefix(figures, ("errors/",)),
                "blocked": figures.get("blocked", 0),
                "truncated": figures.get("truncated", 0),
                "truncated_text": {
                    key.removeprefix("truncated_text/"): count
                    for key, count in _by_prefix(figures, ("truncated_text/",)).items()
                },
                "budgets": budgets_hit(stats, name),
                "retry_after_waits": figures.get("retry_after/waits", 0),
                "gone_new": gone_new,
                "gone_total": gone_total,
                "missed": missed,
                "broken_links": gone_new + missed,
                "price_moves": {"up": up, "down": down},
                "api": _by_prefix(figures, ("api/",)),
            }
        )
    warnings = []
    for store in stores:
        if store["drifted"]:
            warnings.append(
                f"{store['store']}: extraction drifted ({store['with_price']} of "
                f"{store['listings_stored']} listings with a price, against "
                f"{_percent(store['baseline_price_share'])} in its last good run); "
                "its previous prices stay on the site"
            )
        if store["status"] == "failed" and not store["path_reason"]:
            warnings.append(f"{store['store']}: nothing stored this run")
        if store["path_reason"]:
            warnings.append(f"{store['store']} ({store['path']}): {store['path_reason']}")
        if refusals[store["store"]]:
            warnings.append(
                f"{store['store']}: read from its pages, its API refused: "
                f"{', '.join(refusals[store['store']])}"
            )
        if store["gone_new"]:
            warnings.append(f"{store['store']}: {store['gone_new']} listings gone (links removed)")
        for budget, refused in store["budgets"].items():
            warnings.append(
                f"{store['store']}: stopped at its {budget} crawl budget ({refused} requests "
                f"not made this run); raise {CATALOG_KEYS[budget]} if the store is that big"
            )
        if store["truncated_text"]:
            fields = ", ".join(f"{key} {n}" for key, n in store["truncated_text"].items())
            warnings.append(f"{store['store']}: over-long text cut to its length cap ({fields})")
    run_budgets = budgets_hit(stats)
    if MAX_RUN_MINUTES in run_budgets:
        warnings.append(
            f"the run stopped at its {MAX_RUN_MINUTES} crawl budget; "
            f"raise {CATALOG_KEYS[MAX_RUN_MINUTES]} if the catalog needs longer"
        )
    return {
        "run_id": int(run_id),
        "status": run["status"],
        "started_at": run["started_at"],
        "finished_at": run["finished_at"],
        "pages": int(stats.get("response_received_count", 0)),
        "retries": int(stats.get("retry/count", 0)),
        "too_big": int(stats.get("backrank/errors/too_big", 0)),
        "redirect_loops": int(stats.get("backrank/errors/redirect_loop", 0)),
        "budgets": run_budgets,
        "truncated_text": sum(
            int(value) for key, value in stats.items() if key.startswith("backrank/truncated_text/")
        ),
        "stores": stores,
        "warnings": warnings,
    }


def _price_moves(db: Store, run_id: int, store: str) -> tuple[int, int]:
    """Listings whose price this run went up / down against their previous snapshot."""
    moves = [now - before for now, before in db.price_changes(run_id, store)]
    return sum(move > 0 for move in moves), sum(move < 0 for move in moves)


def _float(value: Any) -> float | None:
    """A share as a plain float for JSON; unknown (NaN) as None."""
    return None if value is None or math.isnan(value) else float(value)


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{share:.0%}"


def table_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row of cells per store, in COLUMNS order."""
    rows = []
    for store in report["stores"]:
        last = store["listings_last_run"]
        moves = store["price_moves"]
        cells = [
            store["store"],
            store["status"],
            store["path"],
            store["pages"],
            f"{store['listings_found']} ({'-' if last is None else last})",
            store["listings_stored"],
            _percent(store["price_share"]),
            sum(store["drops"].values()),
            store["blocked"],
            sum(store["errors"].values()),
            "DRIFT" if store["drifted"] else "-",
            f"{store['gone_total']} ({store['gone_new']})",
            store["broken_links"],
            f"+{moves['up']} / -{moves['down']}",
        ]
        rows.append({"status": store["status"], "cells": [str(cell) for cell in cells]})
    return rows


def render_table(report: dict[str, Any]) -> Table:
    """The report as a rich table for the terminal."""
    table = Table(title=f"Refresh report: run {report['run_id']} ({report['status']})")
    for column in COLUMNS:
        table.add_column(column, justify="left" if column in ("store", "status") else "right")
    for row in table_rows(report):
        style = "red" if row["status"] in ("drifted", "failed") else None
        table.add_row(*row["cells"], style=style)
    return table


def render_html(report: dict[str, Any]) -> str:
    environment = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    return environment.from_string(HTML_TEMPLATE).render(
        report=report,
        columns=COLUMNS,
        rows=table_rows(report),
        wordpress_actions=WORDPRESS_ACTIONS,
    )


def report_dir(db_path: str | os.PathLike[str]) -> Path:
    """``<db>.reports`` beside a SQLite file; for a server database, in the state folder
    (``$BACKRANK_STATE_DIR``, else the current folder; see ``backrank.core.store.target``)."""
    return state_path(db_path, ".reports")


def write_report(report: dict[str, Any], db_path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write ``<db>.reports/run-<id>.json`` and ``.html`` (each atomically); return both paths."""
    folder = report_dir(db_path)
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"run-{report['run_id']}"
    paths = (stem.with_suffix(".json"), stem.with_suffix(".html"))
    texts = (json.dumps(report, indent=1, sort_keys=True), render_html(report))
    for path, text in zip(paths, texts, strict=True):
        write_text_atomically(path, text)
    return paths


def read_report(db_path: str | os.PathLike[str], run_id: int) -> dict[str, Any] | None:
    path = report_dir(db_path) / f"run-{run_id}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
