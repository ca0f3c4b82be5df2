"""The `backrank` command line: one subcommand per stage, plus refresh, demo, export and serve."""

from __future__ import annotations

import argparse
import os
import sys
import threading
import traceback
from dataclasses import replace
from pathlib import Path

from rich.console import Console

from backrank.app.demo import AMAZON_MODES, run_demo
from backrank.app.export import export_table
from backrank.app.failures import CommandError, failure_message
from backrank.app.links import links_step
from backrank.app.matches import review_matches
from backrank.app.probe import run_probe
from backrank.app.publish import TARGETS, PublishSetupError, publish_step
from backrank.app.refresh import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_WARNINGS,
    Context,
    build_step,
    crawl_step,
    refresh,
    resolve_db,
    score_step,
)
from backrank.app.runs import print_runs
from backrank.app.serve import check_port, serve_site
from backrank.core.config import DEFAULT_USER_AGENT, CatalogError, check_catalog, load_catalog
from backrank.core.lock import refresh_lock
from backrank.core.store.target import masked, require_existing
from backrank.marketplace import Marketplace
from backrank.marketplace.faults import PROFILES
from backrank.marketplace.shopify import REVIEW_APPS
from spiders.distributed import serve_crawls
from spiders.sources import PLATFORMS

DEFAULT_CATALOG = "catalog.toml"
DEFAULT_SITE_DIR = "site"
DEMO_DIR = Path("backrank-demo")


class UsageError(CommandError):
    """Options that do not go together, printed as one line (exit 2)."""


def main(argv: list[str] | None = None) -> int:
    """Run one command; its exit status: 0 ok, 1 warnings, 2 failed (one line on stderr saying
    what failed and what to do; ``--debug`` adds the traceback)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    console = Console(stderr=True, quiet=getattr(args, "quiet", False))
    try:
        return int(args.handler(args, console) or EXIT_OK)
    except KeyboardInterrupt:
        console.print("interrupted")
        return 130
    except BrokenPipeError:
        # `backrank export offers | head`: the reader left; say nothing, as cat would
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except Exception as error:  # every failure ends as one line and exit 2, bugs included
        message = failure_message(error, writing=_output_of(args), database=_database_of(args))
        if args.debug:
            traceback.print_exc()
        # shown even with --quiet (cron mails it); a catalog error keeps FILE:LINE: up front
        prefix = "" if isinstance(error, CatalogError) else "backrank: "
        print(f"{prefix}{message}", file=sys.stderr)
        return EXIT_FAILED


def _output_of(args: argparse.Namespace) -> str | None:
    """What the command writes besides the database (export's file, the site folder)."""
    output = getattr(args, "output", None) or getattr(args, "out", None)
    return str(output) if output else None


def _database_of(args: argparse.Namespace) -> str | None:
    """The --db given, as it may be shown (no password)."""
    db = getattr(args, "db", None)
    return masked(str(db)) if db else None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="backrank",
        description="Crawl stores, judge reviews, rank products, publish a comparison site.",
    )
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    # --debug also after the command (`backrank build --debug`); absent there, the global one holds
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str, handler, help_text: str, *, out: bool = False
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text, parents=[debug])
        sub.add_argument(
            "--catalog", default=DEFAULT_CATALOG, help="catalog file (default: %(default)s)"
        )
        sub.add_argument(
            "--db",
            help="SQLite path or postgresql:// URL (default: $BACKRANK_DB, else the catalog's "
            "[site] db, else ./backrank.db)",
        )
        sub.add_argument(
            "--quiet", action="store_true", help="no progress, only errors and the summary line"
        )
        if out:
            sub.add_argument(
                "--out", default=DEFAULT_SITE_DIR, help="site folder (default: %(default)s)"
            )
        sub.set_defaults(handler=handler)
        return sub

    command("check", cmd_check, "validate a catalog and report every problem as FILE:LINE")
    crawl = command("crawl", cmd_crawl, "crawl the catalog's stores into the database")
    crawl.add_argument("--store", help="crawl only this store")
    add_distributed_options(crawl)
    command("score", cmd_score, "group listings into products and rank them")
    command("build", cmd_build, "render the static comparison site", out=True)
    refresh = command("refresh", cmd_refresh, "crawl, score and build in one go", out=True)
    refresh.add_argument("--store", help="crawl only this store")
    refresh.add_argument(
        "--publish", choices=TARGETS, help="then publish to this target (wordpress)"
    )
    add_distributed_options(refresh)

    publish = command(
        "publish", cmd_publish, "publish the scored comparisons into a WordPress site"
    )
    publish.add_argument("target", choices=TARGETS, help="where to publish")
    publish.add_argument(
        "--url", help="the WordPress site (default: the catalog's [wordpress] url)"
    )
    publish.add_argument(
        "--dry-run", action="store_true", help="print what would be created, updated and left alone"
    )

    worker = commands.add_parser(
        "worker",
        parents=[debug],
        help="join a distributed crawl from this machine (see `crawl --workers`)",
        description="Work on the distributed crawl running on a Redis until it is drained.",
    )
    worker.add_argument("--redis", default=os.environ.get("BACKRANK_REDIS"), help=REDIS_HELP)
    worker.add_argument("--crawl", help="crawl id (default: the oldest crawl in progress)")
    worker.add_argument("--db", help="database (default: the one the coordinator uses)")
    worker.add_argument("--forever", action="store_true", help="join every crawl that starts")
    worker.add_argument(
        "--wait", type=float, default=60.0, help="seconds to wait for a crawl (default: 60)"
    )
    worker.add_argument("--quiet", action="store_true", help="errors only")
    worker.set_defaults(handler=cmd_worker, catalog=None)

    links = command(
        "links",
        cmd_links,
        "check the affiliate links already published on the WordPress site (read-only)",
    )
    links.add_argument("--url", help="the site (default: the catalog's [wordpress] url)")

    command("runs", cmd_runs, "list past crawl runs with their status and figures")

    probe = commands.add_parser(
        "probe",
        help="show what backrank would use on a store (run it first on a new store)",
        description="Probe a store: platform, robots.txt rules for the crawler, /products.json, "
        "the WooCommerce Store API, the review app, sitemaps, structured data on a product "
        "page, and a suggested [[stores]] entry.",
    )
    probe.add_argument("url", help="the store's home page or any of its pages")
    probe.add_argument(
        "--user-agent", default=DEFAULT_USER_AGENT, help="the User-Agent to ask robots.txt for"
    )
    probe.set_defaults(handler=cmd_probe, catalog=None)

    export = command("export", cmd_export, "write offers, reviews or products as CSV or JSON lines")
    export.add_argument("table", choices=["offers", "reviews", "products"])
    export.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    export.add_argument("--output", help="file to write (default: standard output)")

    matches = commands.add_parser(
        "matches", help="teach the matcher", description="Teach the product matcher."
    )
    matches_commands = matches.add_subparsers(dest="matches_command", required=True)
    review = matches_commands.add_parser(
        "review",
        help="answer the pairs the matcher is least sure of (y / n / skip / quit)",
        description="Show the listing pairs the matcher is least sure of, side by side; the "
        "answers go to matches.toml beside the catalog and the weights are refitted on them. "
        "Answers are read from standard input, so they can be piped.",
    )
    review.add_argument(
        "--catalog", default=DEFAULT_CATALOG, help="catalog file (default: %(default)s)"
    )
    review.add_argument("--db", help="SQLite path or postgresql:// URL (as `score`)")
    review.add_argument(
        "--questions", type=int, default=10, help="pairs to ask about (default: %(default)s)"
    )
    review.add_argument("--quiet", action="store_true", help="errors only")
    review.set_defaults(handler=cmd_matches_review)

    serve = command("serve", cmd_serve, "serve a built site on 127.0.0.1", out=True)
    serve.add_argument("--port", type=int, default=8000)

    market = command("marketplace", cmd_marketplace, "serve the demo marketplace's four stores")
    market.add_argument(
        "--port", type=int, default=8701, help="first of four ports (0: free ports)"
    )
    market.add_argument("--seed", type=int, default=7)
    market.add_argument("--scale", type=int, default=None, help="number of product models")
    market.add_argument("--truth", help="write the marketplace's ground truth JSON here")
    market.add_argument("--catalog-out", help="write a catalog for the live stores here")
    market.add_argument(
        "--faults", default="none", choices=PROFILES, help="fault profile (default: none)"
    )
    market.add_argument(
        "--no-store-api",
        action="store_true",
        help="the WooCommerce store disables its Store API (401), as some real stores do",
    )
    market.add_argument(
        "--review-apps",
        default=",".join(REVIEW_APPS),
        help="the Shopify store's review apps, taken in turn by its products "
        "(comma-separated: judgeme,yotpo; default: %(default)s)",
    )

    demo = commands.add_parser(
        "demo",
        parents=[debug],
        help="run the whole job on the bundled demo marketplace and serve the site",
        description="Start the demo marketplace, refresh the demo catalog against it, build the "
        "site and serve it on http://127.0.0.1:8000 until Ctrl-C.",
    )
    demo.add_argument(
        "--out", default=str(DEMO_DIR / "site"), help="site folder (default: %(default)s)"
    )
    demo.add_argument(
        "--db", default=str(DEMO_DIR / "backrank.db"), help="SQLite path or postgresql:// URL"
    )
    demo.add_argument("--no-serve", action="store_true", help="stop after the build")
    demo.add_argument("--port", type=int, default=8000, help="port to serve the site on")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--quiet", action="store_true")
    demo.add_argument(
        "--faults", default="none", choices=PROFILES, help="fault profile of the demo stores"
    )
    demo.add_argument(
        "--amazon",
        default="api",
        choices=AMAZON_MODES,
        help="api: Amazon offers from the demo Creators API (demo credentials); link-only: "
        "no API credentials, Amazon offers as links only (default: %(default)s)",
    )
    demo.set_defaults(handler=cmd_demo, catalog=None)
    return parser


DEBUG_HELP = "on a failure, show the traceback as well as the one-line message"
REDIS_HELP = "Redis URL of the distributed crawl (default: $BACKRANK_REDIS)"


def add_distributed_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--workers", type=int, metavar="N",
        help="distributed crawl: N local worker processes sharing a Redis queue "
        "(0: only workers started elsewhere with `backrank worker`)",
    )  # fmt: skip
    sub.add_argument("--redis", default=os.environ.get("BACKRANK_REDIS"), help=REDIS_HELP)


def distributed(context: Context, args: argparse.Namespace) -> Context:
    """The context with the distributed crawl's options, checked."""
    if args.workers is None:
        return context
    if args.workers < 0:
        raise UsageError("--workers must be 0 or more")
    if not args.redis:
        raise UsageError("--workers needs --redis URL or BACKRANK_REDIS")
    return replace(context, workers=args.workers, redis_url=args.redis)


def open_context(args: argparse.Namespace, console: Console, *, reading: bool = False) -> Context:
    """The catalog and database of a command; ``reading``: the command only uses what the
    store holds, so a SQLite file that is not there is refused (a typo), never created."""
    catalog = load_catalog(args.catalog, PLATFORMS)
    db_path = resolve_db(args.db, catalog)
    if reading:
        require_existing(db_path)
    return Context(catalog=catalog, db_path=db_path, console=console, quiet=args.quiet)


def cmd_check(args: argparse.Namespace, console: Console) -> int:
    """Errors and warnings as plain FILE:LINE lines (never wrapped); exit 2 on an error, 1 on
    a warning only."""
    checked = check_catalog(args.catalog, PLATFORMS)
    for problem in sorted(checked.errors + checked.warnings, key=lambda p: p.line):
        print(problem, file=sys.stderr)
    if checked.catalog is None:
        return EXIT_FAILED
    count = len(checked.warnings)
    warned = f", {count} warning{'s' if count > 1 else ''}" if count else ""
    stores, programs = len(checked.catalog.stores), len(checked.catalog.affiliates)
    print(f"{args.catalog}: ok ({stores} stores, {programs} affiliate programs{warned})")
    return EXIT_WARNINGS if count else EXIT_OK


def cmd_crawl(args: argparse.Namespace, console: Console) -> int:
    context = distributed(open_context(args, console), args)
    with refresh_lock(context.db_path, "crawl"):
        return crawl_step(context, store=args.store).exit_code


def cmd_score(args: argparse.Namespace, console: Console) -> int:
    context = open_context(args, console, reading=True)
    with refresh_lock(context.db_path, "score"):
        return score_step(context).exit_code


def cmd_build(args: argparse.Namespace, console: Console) -> int:
    context = open_context(args, console, reading=True)
    with refresh_lock(context.db_path, "build"):
        return build_step(context, Path(args.out)).exit_code


def cmd_refresh(args: argparse.Namespace, console: Console) -> int:
    context = distributed(open_context(args, console), args)
    with refresh_lock(context.db_path, "refresh"):
        status = refresh(context, Path(args.out), store=args.store)
        if args.publish and status != EXIT_FAILED:
            status = max(status, _publish(context, args.publish, None, dry_run=False))
        return status


def cmd_publish(args: argparse.Namespace, console: Console) -> int:
    context = open_context(args, console)
    with refresh_lock(context.db_path, "publish"):
        return _publish(context, args.target, args.url, dry_run=args.dry_run)


def cmd_links(args: argparse.Namespace, console: Console) -> int:
    try:
        return links_step(open_context(args, console), args.url).exit_code
    except PublishSetupError as error:
        print(f"backrank: {error}", file=sys.stderr)
        return EXIT_FAILED


def _publish(context: Context, target: str, url: str | None, *, dry_run: bool) -> int:
    try:
        return publish_step(context, target, url=url, dry_run=dry_run).exit_code
    except PublishSetupError as error:
        print(f"backrank: {error}", file=sys.stderr)
        return EXIT_FAILED


def cmd_runs(args: argparse.Namespace, console: Console) -> int:
    print_runs(open_context(args, console, reading=True).db_path)
    return EXIT_OK


def cmd_worker(args: argparse.Namespace, console: Console) -> int:
    if not args.redis:
        console.print("[red]backrank worker needs --redis URL or BACKRANK_REDIS[/red]")
        return EXIT_FAILED
    return serve_crawls(
        args.redis, crawl_id=args.crawl, db=args.db, quiet=args.quiet,
        forever=args.forever, wait=args.wait,
    )  # fmt: skip


def cmd_export(args: argparse.Namespace, console: Console) -> int:
    context = open_context(args, console, reading=True)
    rows = export_table(context.db_path, args.table, args.format, args.output)
    if args.output:
        print(f"export: {rows} {args.table} rows -> {args.output}")
    return EXIT_OK


def cmd_matches_review(args: argparse.Namespace, console: Console) -> int:
    if args.questions < 1:
        raise UsageError("--questions must be 1 or more")
    context = open_context(args, console)
    review_matches(
        context.catalog, context.db_path, questions=args.questions, answers=sys.stdin,
        out=sys.stdout,
    )  # fmt: skip
    return EXIT_OK


def cmd_serve(args: argparse.Namespace, console: Console) -> int:
    if not Path(args.out).is_dir():
        console.print(
            f"[red]{args.out} is not a built site; run `backrank build --out {args.out}`[/red]"
        )
        return EXIT_FAILED
    serve_site(Path(args.out), port=args.port)
    return EXIT_OK


def cmd_probe(args: argparse.Namespace, console: Console) -> int:
    return run_probe(args.url, args.user_agent)


def cmd_marketplace(args: argparse.Namespace, console: Console) -> int:
    check_port(args.port)
    marketplace = Marketplace(
        seed=args.seed,
        scale=args.scale,
        faults=args.faults,
        woo_store_api=not args.no_store_api,
        review_apps=tuple(app.strip() for app in args.review_apps.split(",") if app.strip()),
    ).start(port=args.port)
    try:
        if args.truth:
            marketplace.write_truth(args.truth)
        if args.catalog_out:
            Path(args.catalog_out).write_text(marketplace.demo_catalog_text(), encoding="utf-8")
        for name, url in marketplace.store_urls.items():
            print(f"{name:12} {url}", flush=True)
        print("demo marketplace running (Ctrl-C to stop)", flush=True)
        threading.Event().wait()
    finally:
        marketplace.stop()
    return EXIT_OK


def cmd_demo(args: argparse.Namespace, console: Console) -> int:
    return run_demo(
        out_dir=Path(args.out),
        db_path=args.db,
        seed=args.seed,
        serve_port=None if args.no_serve else args.port,
        console=console,
        quiet=args.quiet,
        faults=args.faults,
        amazon=args.amazon,
    )


if __name__ == "__main__":
    sys.exit(main())
