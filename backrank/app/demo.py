"""`backrank demo`: the demo marketplace, a refresh of the demo catalog against it, the site."""

from __future__ import annotations

import socket
from pathlib import Path

from rich.console import Console

from backrank.app.refresh import EXIT_FAILED, Context, refresh
from backrank.app.serve import make_site_server, serve_forever
from backrank.core.config import load_catalog
from backrank.core.lock import refresh_lock
from backrank.core.store import Store
from backrank.core.store.target import masked, sqlite_file
from backrank.marketplace import Marketplace

PREFERRED_MARKETPLACE_PORT = 8701
FAULT_DEMO_TIMEOUT = 5  # seconds: DOWNLOAD_TIMEOUT while the demo stores misbehave


def ports_free(first: int, count: int = 4) -> bool:
    for port in range(first, first + count):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            # as the marketplace's own servers do: a port the last demo just closed is free
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def _previous_runs(db_path: Path | str) -> int:
    if sqlite_file(db_path) is not None and not Path(db_path).exists():
        return 0
    with Store.open(db_path) as store:
        return len(store.runs())


def run_demo(
    *,
    out_dir: Path,
    db_path: Path | str,
    seed: int,
    serve_port: int | None,
    console: Console,
    quiet: bool,
    faults: str = "none",
) -> int:
    """The demo from start to served site; the exit status of its refresh."""
    # The site's port is taken first: a busy one is a message now, not after the whole refresh.
    site_server = make_site_server(out_dir, port=serve_port) if serve_port is not None else None
    try:
        status = _refresh_demo(
            out_dir=out_dir, db_path=db_path, seed=seed, console=console, quiet=quiet,
            faults=faults,
        )  # fmt: skip
    except BaseException:
        if site_server is not None:
            site_server.server_close()
        raise
    if status == EXIT_FAILED:
        if site_server is not None:
            site_server.server_close()
        return status
    print(f"site: {out_dir.resolve()}/index.html")
    if site_server is not None:
        serve_forever(site_server, out_dir)
    return status


def _refresh_demo(
    *, out_dir: Path, db_path: Path | str, seed: int, console: Console, quiet: bool, faults: str
) -> int:
    """Start the marketplace, write its catalog, refresh it into ``out_dir``; stop it again."""
    # A SQLite demo keeps its catalog beside the database; a server database's demo, beside
    # the site folder.
    db_file = sqlite_file(db_path)
    demo_dir = db_file.parent if db_file is not None else out_dir.parent
    demo_dir.mkdir(parents=True, exist_ok=True)
    # Listings are keyed by URL, and the URLs carry the marketplace's ports: the demo keeps
    # the same ports across runs so its database grows a price history instead of duplicates.
    port = PREFERRED_MARKETPLACE_PORT if ports_free(PREFERRED_MARKETPLACE_PORT) else 0
    busy = f"ports {PREFERRED_MARKETPLACE_PORT}-{PREFERRED_MARKETPLACE_PORT + 3} are busy"
    if port == 0 and db_file is not None and db_file.exists():
        console.print(f"{busy}: starting a fresh demo database at {db_file}")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_file}{suffix}").unlink(missing_ok=True)
    elif port == 0 and db_file is None:
        # A server database is never dropped by the demo: it gets these ports' listings too.
        console.print(f"{busy}: the demo's listings in {masked(db_path)} get new URLs")
    marketplace = Marketplace(seed=seed, faults=faults)
    crawl_settings = None
    if faults != "none":
        # A slow page need not take Scrapy's 30 s timeout to show: both shrink for the demo.
        marketplace.faults.slow_seconds = FAULT_DEMO_TIMEOUT + 3
        crawl_settings = {"DOWNLOAD_TIMEOUT": FAULT_DEMO_TIMEOUT}
        # Each demo refresh is the stores' next day, so delistings and a redesign show up.
        marketplace.day = _previous_runs(db_path)
    marketplace.start(port=port)
    try:
        catalog_path = demo_dir / "catalog.toml"
        catalog_db = db_file.name if db_file is not None else None
        catalog_path.write_text(marketplace.demo_catalog_text(db=catalog_db), encoding="utf-8")
        console.print(f"demo marketplace: {', '.join(marketplace.store_urls.values())}")
        context = Context(
            catalog=load_catalog(catalog_path), db_path=db_path, console=console, quiet=quiet,
            crawl_settings=crawl_settings,
        )  # fmt: skip
        with refresh_lock(db_path):
            status = refresh(context, out_dir)
    finally:
        marketplace.stop()
    return status
