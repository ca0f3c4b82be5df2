"""The refresh: crawl -> score -> build, each step callable alone, with its exit status."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from backrank.core.config import Catalog
from backrank.core.store import Store
from backrank.core.store.target import is_url, masked
from pipelines.rescore import score_store
from reports.build import build_site
from spiders.crawl import STATUS_EXIT, run_crawl
from spiders.distributed import run_distributed_crawl
from spiders.refresh_report import read_report, render_table

DEFAULT_DB = "backrank.db"
DB_VARIABLE = "BACKRANK_DB"  # the database when --db is not given
EXIT_OK, EXIT_WARNINGS, EXIT_FAILED = 0, 1, 2


@dataclass(frozen=True)
class Context:
    """What every step gets: the parsed catalog, the database (a SQLite path or a database
    URL) and the console."""

    catalog: Catalog
    db_path: Path | str
    console: Console
    quiet: bool
    crawl_settings: dict | None = None  # extra Scrapy settings (the fault demo's short timeout)
    workers: int | None = None  # distributed crawl with this many local workers (0: remote only)
    redis_url: str | None = None  # the distributed crawl's Redis


@dataclass(frozen=True)
class StepOutcome:
    exit_code: int
    summary: str


def resolve_db(db_arg: str | None, catalog: Catalog) -> Path | str:
    """--db wins; then $BACKRANK_DB; then the catalog's [site] db (a path relative to the
    catalog file); then ./backrank.db. A database URL stays a string."""
    chosen = db_arg or os.environ.get(DB_VARIABLE)
    if chosen:
        return chosen if is_url(chosen) else Path(chosen)
    if catalog.site.db:
        if is_url(catalog.site.db):
            return catalog.site.db
        db = Path(catalog.site.db)
        return db if db.is_absolute() else Path(catalog.path).parent / db
    return Path(DEFAULT_DB)


def crawl_step(context: Context, *, store: str | None = None) -> StepOutcome:
    if context.workers is None:
        result = run_crawl(
            context.catalog, str(context.db_path), store=store, quiet=context.quiet,
            settings=context.crawl_settings,
        )  # fmt: skip
    else:
        assert context.redis_url is not None
        result = run_distributed_crawl(
            context.catalog, str(context.db_path), workers=context.workers,
            redis_url=context.redis_url, store=store, quiet=context.quiet,
            settings=context.crawl_settings,
        )  # fmt: skip
    report = read_report(context.db_path, result.run_id) if result.report_json else None
    if report is not None:
        Console(stderr=False, width=None if sys.stdout.isatty() else 160).print(
            render_table(report)
        )
        for warning in report["warnings"]:
            context.console.print(f"[yellow]{warning}[/yellow]", highlight=False)
        print(f"refresh report: {result.report_html}")
    elif not result.complete:
        context.console.print(f"crawl stopped early: run {result.run_id} resumes next time")
    dropped = (
        ", ".join(f"{reason} {count}" for reason, count in sorted(result.dropped.items())) or "none"
    )
    summary = (
        f"crawl: {result.pages} pages, {result.listings} listings, {result.reviews} reviews, "
        f"{result.errors} errors, dropped: {dropped} ({result.elapsed:.1f} s, run {result.run_id})"
    )
    print(summary)
    return StepOutcome(STATUS_EXIT[result.status], summary)


def score_step(context: Context) -> StepOutcome:
    started = time.perf_counter()
    with Store.open(context.db_path) as store:
        if store.read_offers(latest=True).empty:
            summary = f"score: no offers in {masked(context.db_path)}; run `backrank crawl` first"
            print(summary)
            return StepOutcome(EXIT_FAILED, summary)
        result = score_store(store, context.catalog)
    counts = result.summary["counts"]
    summary = (
        f"score: {counts['offers']} listings -> {counts['products']} products "
        f"in {result.products['subcategory'].nunique()} categories, "
        f"{counts['products_rescored']} rescored, {counts['products_reused']} unchanged "
        f"({time.perf_counter() - started:.1f} s)"
    )
    print(summary)
    return StepOutcome(EXIT_OK, summary)


def build_step(context: Context, out_dir: Path) -> StepOutcome:
    """Build the site from the scored store. A store that holds offers but was never scored
    is scored first by the real `score` step (catalog weights, matches.toml, price age), so
    `build` alone ranks exactly as `score` then `build` does."""
    with Store.open(context.db_path) as store:
        unscored = store.read_products().empty
    if unscored:
        scored = score_step(context)
        if scored.exit_code == EXIT_FAILED:
            return scored
    started = time.perf_counter()
    with Store.open(context.db_path) as store:
        result = build_site(context.catalog, store, out_dir)
    summary = f"build: {len(result.pages)} pages in {result.out_dir} ({time.perf_counter() - started:.1f} s)"
    if result.offsite_links:
        summary += (
            f"; {result.offsite_links} store links to other hosts dropped "
            "(list a store's extra hosts in its link_hosts)"
        )
    print(summary)
    return StepOutcome(EXIT_OK, summary)


def refresh(context: Context, out_dir: Path, *, store: str | None = None) -> int:
    """Crawl, then score, then build; the exit status is the crawl's unless a step failed."""
    crawled = crawl_step(context, store=store)
    if crawled.exit_code == EXIT_FAILED:
        context.console.print(
            "[red]refresh stopped: the crawl stored nothing; the last site stays[/red]"
        )
        return EXIT_FAILED
    scored = score_step(context)
    if scored.exit_code == EXIT_FAILED:
        return EXIT_FAILED
    build_step(context, out_dir)
    return crawled.exit_code
