"""Run one crawl of a catalog into the store: in this process, or in a fresh one."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy.crawler import AsyncCrawlerProcess
from scrapy.extensions.spiderstate import SpiderState

from backrank.core.config import load_catalog
from backrank.core.lock import LockBusy, refresh_lock
from backrank.core.store import Store
from backrank.core.store.target import state_path
from spiders.budgets import MAX_RUN_MINUTES, budgets_hit
from spiders.catalog_spider import CatalogSpider
from spiders.health import assess_run
from spiders.refresh_report import build_report, write_report
from spiders.run_status import crawl_errors, run_status
from spiders.settings import settings_for
from spiders.sources import PLATFORMS, api_source
from spiders.storage_failures import FAILURE_STAT, JobSpiderState, storage_failure

if TYPE_CHECKING:
    from backrank.core.config import Catalog

EXIT_OK, EXIT_WARNINGS, EXIT_FAILED = 0, 1, 2
SCRAPING_WARNING = (
    "allow_amazon_scraping is on: this run read Amazon's pages, which breaks Amazon's "
    "conditions of use and its Associates Program Policies (use the Creators API instead)"
)
STATUS_EXIT = {"ok": EXIT_OK, "warnings": EXIT_WARNINGS, "failed": EXIT_FAILED}


class CrawlError(RuntimeError):
    """A crawl that could not run at all (as opposed to one that ran and stored nothing)."""


class CrawlStorageFailed(CrawlError):
    """A crawl stopped because its database or job folder could not be written (full disk,
    read-only, no permission); the message says which and what to do, `result` what it did."""

    def __init__(self, message: str, result: CrawlResult) -> None:
        super().__init__(message)
        self.result = result


@dataclass(kw_only=True)
class CrawlResult:
    """What one crawl did, from Scrapy's stats and the spider's ``backrank/*`` counters."""

    run_id: int | None
    status: str  # ok | warnings | failed
    pages: int  # responses received, robots.txt included
    listings: int  # listings stored
    reviews: int  # reviews stored
    errors: int  # failed requests and spider exceptions
    blocked: int  # robot-check pages
    dropped: dict[str, int] = field(default_factory=dict)  # reason -> count
    elapsed: float = 0.0  # seconds
    stats: dict[str, Any] = field(default_factory=dict)  # every Scrapy stat, JSON-safe
    complete: bool = True  # False: stopped early, the job dir is kept for the next run
    resumed: bool = False  # continued a run an earlier process left unfinished
    drifted: list[str] = field(default_factory=list)  # stores whose extraction collapsed
    budgets: dict[str, int] = field(default_factory=dict)  # crawl budget hit -> refused requests
    report_json: str | None = None  # the refresh report next to the database
    report_html: str | None = None
    failure: str | None = None  # why the crawl stopped, when a write failed (one line)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CrawlResult:
        return cls(**data)


def jsonable_stats(stats: dict[str, Any]) -> dict[str, Any]:
    """Scrapy stats with datetimes as ISO strings, so they can go to JSON and the runs table."""
    return {
        key: value.isoformat() if isinstance(value, (datetime, date)) else value
        for key, value in sorted(stats.items())
    }


def summarise(
    stats: dict[str, Any], *, run_id: int | None, elapsed: float, complete: bool = True
) -> CrawlResult:
    """The crawl's outcome from its stats: counts, drop reasons and the run status
    (``spiders.run_status``; a store's health after the crawl can still add warnings)."""
    dropped = {
        key.removeprefix("backrank/dropped/"): int(value)
        for key, value in stats.items()
        if key.startswith("backrank/dropped/")
    }
    budgets = budgets_hit(stats)
    return CrawlResult(
        run_id=run_id,
        status=run_status(stats, complete=complete),
        pages=int(stats.get("response_received_count", 0)),
        listings=int(stats.get("backrank/stored/listings", 0)),
        reviews=int(stats.get("backrank/stored/reviews", 0)),
        errors=crawl_errors(stats),
        blocked=int(stats.get("backrank/blocked", 0)),
        dropped=dict(sorted(dropped.items())),
        budgets=budgets,
        elapsed=round(elapsed, 3),
        stats=jsonable_stats(stats),
        complete=complete,
    )


_crawled_in_this_process = False
SCRAPY_JOB_STATE = ("requests.queue", "requests.seen", "spider.state")


def job_dir(db_path: str | os.PathLike[str], catalog_path: str, store: str | None) -> Path:
    """Scrapy's JOBDIR for this catalog (and store filter), next to the database (a server
    database's: in the state folder, see ``backrank.core.store.target.state_path``)."""
    key = hashlib.sha1(f"{Path(catalog_path).resolve()}|{store or ''}".encode()).hexdigest()[:10]
    return state_path(db_path, ".jobs") / f"{Path(catalog_path).stem}-{key}"


def resumable_run(
    db_path: str, jobs: Path, *, max_age: float | None = None, now: datetime | None = None
) -> tuple[int, float] | None:
    """The run an earlier process left 'running' in this job dir and its age in seconds, else
    None (stale state goes).

    A run older than `max_age` seconds (the wall-time budget) is not resumed: it is closed as
    ``warnings`` with the budget named in its stats, so a crawler trap cannot carry one run
    from refresh to refresh forever.
    """
    state_path = jobs / "run.json"
    if not state_path.exists():
        shutil.rmtree(jobs, ignore_errors=True)
        return None
    state = json.loads(state_path.read_text(encoding="utf-8"))

    with Store.open(db_path) as db:
        runs = db.runs()
        running = runs[(runs["run_id"] == state["run_id"]) & (runs["status"] == "running")]
        if running.empty:
            shutil.rmtree(jobs, ignore_errors=True)
            return None
        run_id = int(state["run_id"])
        started = datetime.fromisoformat(str(running["started_at"].iloc[0]))
        if started.tzinfo is None:
            started = started.replace(tzinfo=UTC)
        age = ((now or datetime.now(UTC)) - started).total_seconds()
        if max_age is not None and age >= max_age:
            db.finish_run(
                run_id,
                "warnings",
                {
                    f"backrank/budget/{MAX_RUN_MINUTES}": 1,
                    "finish_reason": f"{MAX_RUN_MINUTES} budget spent before it could resume",
                    "backrank/stored/listings": db.count_offers(run_id),
                },
            )
            shutil.rmtree(jobs, ignore_errors=True)
            return None
    if not state.get("clean_stop"):
        # Killed (kill -9, power cut): Scrapy saves its queue only on a clean stop, so its
        # seen-set would skip requests that were queued but never fetched. Fetch them all
        # again under the same run; the store's upserts keep every row once.
        drop_scrapy_job_state(jobs)
    return run_id, age


def drop_scrapy_job_state(jobs: Path) -> None:
    """Remove Scrapy's queue, seen-set and spider state from a job folder (run.json stays)."""
    for name in SCRAPY_JOB_STATE:
        target = jobs / name
        if target.is_dir():
            shutil.rmtree(target, ignore_errors=True)
        else:
            target.unlink(missing_ok=True)


def run_crawl(
    catalog: Catalog,
    db_path: str,
    *,
    store: str | None = None,
    quiet: bool = False,
    polite: bool | None = None,
    run_id: int | None = None,
    settings: dict[str, Any] | None = None,
) -> CrawlResult:
    """Crawl the catalog's stores (or one `store`) into the store at `db_path` (a SQLite
    path or a database URL, see `backrank.core.store.Store.open`).

    Holds the database's refresh lock (`backrank.core.lock`); continues the run an interrupted
    crawl of the same catalog left behind (Scrapy JOBDIR next to the database), else opens a
    new one (unless `run_id` is given). After a complete crawl, judges each store (drift,
    gone listings: `spiders.health`), closes the run and writes the refresh report next to
    the database. `settings` are extra Scrapy settings. Twisted's reactor cannot restart, so
    this works once per process; use `run_crawl_subprocess` after that.
    """
    with refresh_lock(db_path):
        return _run_crawl_locked(
            catalog, db_path, store=store, quiet=quiet, polite=polite, run_id=run_id,
            settings=settings,
        )  # fmt: skip


def _run_crawl_locked(
    catalog: Catalog,
    db_path: str,
    *,
    store: str | None,
    quiet: bool,
    polite: bool | None,
    run_id: int | None,
    settings: dict[str, Any] | None,
) -> CrawlResult:
    global _crawled_in_this_process
    if _crawled_in_this_process or _reactor_has_run():
        raise CrawlError(
            "a crawl already ran in this process (Twisted's reactor cannot restart); "
            "use spiders.crawl.run_crawl_subprocess"
        )

    jobs = job_dir(db_path, str(catalog.path), store)
    wall_time = float(catalog.crawl.max_run_minutes) * 60
    resumed_run = resumable_run(db_path, jobs, max_age=wall_time) if run_id is None else None
    resumed = resumed_run is not None
    age = 0.0
    if resumed_run is not None:
        run_id, age = resumed_run
    elif run_id is None:
        with Store.open(db_path) as db:
            run_id = db.start_run(str(catalog.path))
    jobs.mkdir(parents=True, exist_ok=True)
    state_path = jobs / "run.json"
    state_path.write_text(json.dumps({"run_id": run_id, "clean_stop": False}), encoding="utf-8")
    # The wall-time budget, less what earlier processes of a resumed run spent.
    extra: dict[str, Any] = {
        "JOBDIR": str(jobs),
        "CLOSESPIDER_TIMEOUT": max(wall_time - age, 1.0),
        # a JOBDIR that cannot be written stops the crawl (spiders.storage_failures)
        "SCHEDULER": "spiders.storage_failures.JobStateScheduler",
    }
    extra |= settings or {}
    crawl_settings = settings_for(
        catalog, db_path, run_id=run_id, polite=polite, quiet=quiet, extra=extra
    )
    crawl_settings.set_in_component_priority_dict("EXTENSIONS", SpiderState, None)
    crawl_settings.set_in_component_priority_dict("EXTENSIONS", JobSpiderState, 0)
    started = time.perf_counter()
    # API sources (Amazon's Creators API, paced at its request rate) in a thread beside the
    # Scrapy crawl: no pages, no reactor, their own connection to the store.
    api_sources = ThreadPoolExecutor(max_workers=1, thread_name_prefix="api-sources")
    api_run = api_sources.submit(run_api_sources, catalog, db_path, run_id, store=store)
    failure = None
    if scrapy_stores(catalog, store):
        _crawled_in_this_process = True  # from here on the reactor is installed
        # AsyncCrawlerProcess, as `scrapy crawl` uses: with the Deferred-based CrawlerProcess,
        # Scrapy 2.19 fetched a robots-disallowed start URL (tests/test_crawl.py caught it).
        process = AsyncCrawlerProcess(crawl_settings)
        crawler = process.create_crawler(CatalogSpider)
        task = process.crawl(crawler, catalog=catalog, store=store)
        process.start()
        stats = dict(crawler.stats.get_stats()) if crawler.stats else {}
        failure = task.exception() if task.done() and not task.cancelled() else None
        if failure is not None or not task.done():
            # Scrapy has logged the traceback; the run must still be closed as failed.
            stats["backrank/errors/crawl_failed"] = 1
        if stats.get("finish_reason") == "closespider_timeout":
            # The wall-time budget ended it: the run is closed (warnings), not resumed forever.
            stats[f"backrank/budget/{MAX_RUN_MINUTES}"] = 1
    else:  # only API stores: nothing for Scrapy to fetch
        stats = {"finish_reason": "finished"}
    api_sources.shutdown(wait=True)
    merge_stats(stats, api_run.result())
    complete = stats.get("finish_reason") in ("finished", "closespider_timeout") and failure is None
    if stats.get(FAILURE_STAT):
        result = summarise(
            stats, run_id=run_id, elapsed=time.perf_counter() - started, complete=False
        )
        result.resumed, result.failure = resumed, str(stats[FAILURE_STAT])
        close_failed_run(db_path, jobs, run_id, result)
        raise CrawlStorageFailed(result.failure, result)
    with Store.open(db_path) as db:
        if resumed:
            # listings an earlier process of this run stored count as this run's too
            stats["backrank/resumed_listings"] = db.count_offers(run_id)
            stats["backrank/resumed"] = 1
        result = summarise(
            stats, run_id=run_id, elapsed=time.perf_counter() - started, complete=complete
        )
        result.resumed = resumed
        if not complete:
            # Stopped early (Ctrl-C, SIGTERM): Scrapy saved its queue; the next run resumes.
            state_path.write_text(
                json.dumps({"run_id": run_id, "clean_stop": True}), encoding="utf-8"
            )
            return result
        close_complete_run(db, catalog, db_path, stats, result, store=store)
    shutil.rmtree(jobs, ignore_errors=True)
    return result


def close_failed_run(db_path: str, jobs: Path, run_id: int, result: CrawlResult) -> None:
    """Close a run a failed write stopped as failed, and drop its job folder.

    Scrapy's job state goes first (it may not have been saved whole, and it frees room for
    the one small write that closes the run). When even that write is refused, ``run.json``
    stays: the next crawl takes the run up again as after a kill, so no run is left open.
    """
    drop_scrapy_job_state(jobs)
    try:
        with Store.open(db_path) as db:
            db.finish_run(run_id, result.status, result.stats)
    except Exception as error:  # the driver's error, judged by storage_failure below
        if storage_failure(error, db_path) is None:
            raise
        return
    shutil.rmtree(jobs, ignore_errors=True)


def close_complete_run(
    db: Store,
    catalog: Catalog,
    db_path: str,
    stats: dict[str, Any],
    result: CrawlResult,
    *,
    store: str | None,
) -> None:
    """After a complete crawl: judge each store (drift, gone listings), close the run with its
    status and write the refresh report next to the database (paths set on `result`)."""
    assert result.run_id is not None
    names = [store] if store else [entry.name for entry in catalog.stores]
    health = assess_run(
        db, result.run_id, stats, names, gone_after_misses=catalog.crawl.gone_after_misses
    )
    result.drifted = [entry.store for entry in health if entry.status == "drifted"]
    result.status = run_status(stats, store_statuses=[entry.status for entry in health])
    db.finish_run(result.run_id, result.status, result.stats)
    report = build_report(db, result.run_id)
    json_path, html_path = write_report(report, db_path)
    result.report_json, result.report_html = str(json_path), str(html_path)


def scrapy_stores(catalog: Catalog, store: str | None = None) -> set[str]:
    """Names of the stores (all, or `store`) the Scrapy crawl fetches pages of."""
    return {
        entry.name
        for entry in catalog.stores
        if api_source(entry) is None and (store is None or entry.name == store)
    }


def merge_stats(stats: dict[str, Any], extra: Mapping[str, Any]) -> None:
    """Add `extra` to `stats`: counts add up, other values (texts) are set."""
    for key, value in extra.items():
        if isinstance(value, int) and isinstance(stats.get(key, 0), int):
            stats[key] = stats.get(key, 0) + value
        else:
            stats[key] = value


def run_api_sources(
    catalog: Catalog, db_path: str, run_id: int, *, store: str | None = None
) -> dict[str, Any]:
    """Read the API stores (Amazon through the Creators API) of the catalog (or `store`) into
    run `run_id`, as the item pipelines store listings; return their stats.

    Counts go under ``backrank/store/<name>/`` as the crawl's do (``api/calls``,
    ``api/items``, ``api/link_only``, ``errors/api_<refusal>``); the path each store took and
    why go under ``backrank/source/<name>/path`` and ``.../reason`` (text, no credential).
    """
    stats: dict[str, Any] = {}
    for entry in catalog.stores:
        if entry.allow_amazon_scraping and (store is None or entry.name == store):
            stats[f"backrank/source/{entry.name}/path"] = "amazon-html"
            stats[f"backrank/source/{entry.name}/reason"] = SCRAPING_WARNING
    stores = [
        entry
        for entry in catalog.stores
        if api_source(entry) is not None and (store is None or entry.name == store)
    ]
    if not stores:
        return stats
    with Store.open(db_path) as db:
        listings = db.read_listings()
        for entry in stores:
            source_class = api_source(entry)
            assert source_class is not None
            mine = listings[(listings["store"] == entry.name) & listings["asin"].notna()]
            source = source_class.for_store(entry, catalog)
            outcome = source.fetch(dict(zip(mine["asin"], mine["url"], strict=True)))
            db.save_store(entry.name, entry.platform, None)
            saved = db.save_listings(run_id, outcome.listings)
            prefix = f"backrank/store/{entry.name}/"
            merge_stats(stats, {"backrank/stored/listings": saved})
            merge_stats(stats, {f"{prefix}found/listings": len(entry.asins)})
            merge_stats(stats, {prefix + name: count for name, count in outcome.counts.items()})
            if outcome.refusal is not None:
                merge_stats(stats, {f"backrank/errors/api_{outcome.refusal}": 1})
            stats[f"backrank/source/{entry.name}/path"] = outcome.path
            if outcome.reason:
                stats[f"backrank/source/{entry.name}/reason"] = outcome.reason
    return stats


def _reactor_has_run() -> bool:
    if "twisted.internet.reactor" not in sys.modules:
        return False
    # Imported only once Twisted is loaded: importing the reactor module installs the default
    # reactor, and the crawl must install the asyncio one itself.
    from twisted.internet import reactor

    return bool(getattr(reactor, "_startedBefore", False))


def run_crawl_subprocess(
    catalog: Catalog | str | os.PathLike[str],
    db_path: str | os.PathLike[str],
    *,
    store: str | None = None,
    quiet: bool = False,
    polite: bool | None = None,
    run_id: int | None = None,
    timeout: float | None = None,
    settings: dict[str, Any] | None = None,
) -> CrawlResult:
    """`run_crawl` in a fresh ``python -m spiders.crawl`` process (a fresh reactor).

    Raises CrawlError when the process produced no result (e.g. the database is locked by
    another refresh: exit status 2 and the reason in the message).
    """
    catalog_path = catalog if isinstance(catalog, (str, os.PathLike)) else catalog.path
    with tempfile.TemporaryDirectory(prefix="backrank-crawl-") as scratch:
        stats_path = Path(scratch) / "result.json"
        command = [
            sys.executable, "-m", "spiders.crawl",
            "--catalog", os.fspath(catalog_path),
            "--db", os.fspath(db_path),
            "--json-stats", str(stats_path),
        ]  # fmt: skip
        if store:
            command += ["--store", store]
        if quiet:
            command.append("--quiet")
        if polite is not None:
            command.append("--polite" if polite else "--no-polite")
        if run_id is not None:
            command += ["--run-id", str(run_id)]
        for name, value in (settings or {}).items():
            command += ["--set", f"{name}={json.dumps(value)}"]
        completed = subprocess.run(
            command, capture_output=quiet, text=True, timeout=timeout, check=False
        )
        if not stats_path.exists():
            detail = (completed.stderr or "")[-4000:] if quiet else "see the output above"
            raise CrawlError(f"crawl process exited with {completed.returncode}: {detail}")
        return CrawlResult.from_dict(json.loads(stats_path.read_text(encoding="utf-8")))


def main(argv: list[str] | None = None) -> int:
    """``python -m spiders.crawl``: one crawl; exit 0 ok, 1 warnings, 2 nothing stored."""
    parser = argparse.ArgumentParser(prog="python -m spiders.crawl", description=main.__doc__)
    parser.add_argument("--catalog", required=True, help="catalog.toml")
    parser.add_argument("--db", required=True, help="SQLite path or database URL to store into")
    parser.add_argument("--store", help="crawl only this store")
    parser.add_argument("--quiet", action="store_true", help="no progress line, errors only")
    parser.add_argument(
        "--polite", action=argparse.BooleanOptionalAction, default=None,
        help="override the catalog's crawl.polite (robots.txt is obeyed either way)",
    )  # fmt: skip
    parser.add_argument("--run-id", type=int, help="an already started run to crawl into")
    parser.add_argument("--json-stats", help="write the crawl result as JSON to this file")
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=JSON",
        help="a Scrapy setting, value as JSON (e.g. DOWNLOAD_TIMEOUT=2)",
    )  # fmt: skip
    args = parser.parse_args(argv)

    extra = {}
    for assignment in args.set:
        name, _, value = assignment.partition("=")
        extra[name] = json.loads(value)
    try:
        result = run_crawl(
            load_catalog(args.catalog, PLATFORMS),
            args.db,
            store=args.store,
            quiet=args.quiet,
            polite=args.polite,
            run_id=args.run_id,
            settings=extra,
        )
    except LockBusy as busy:
        print(f"crawl not started: {busy}", file=sys.stderr)
        return EXIT_FAILED
    except CrawlStorageFailed as stopped:
        print(f"crawl failed: {stopped}", file=sys.stderr)
        result = stopped.result
        if args.json_stats:
            Path(args.json_stats).write_text(json.dumps(asdict(result), indent=1), encoding="utf-8")
        return EXIT_FAILED
    if args.json_stats:
        Path(args.json_stats).write_text(json.dumps(asdict(result), indent=1), encoding="utf-8")
    if not args.quiet:
        print(
            f"crawl {result.status}: {result.pages} pages, {result.listings} listings, "
            f"{result.reviews} reviews, {result.errors} errors, {result.blocked} blocked "
            f"({result.elapsed:.1f} s, run {result.run_id})"
        )
    return STATUS_EXIT[result.status]


if __name__ == "__main__":
    sys.exit(main())
