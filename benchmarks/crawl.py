"""Crawl speed: the demo marketplace at --scale N with politeness off, beside `scrapy bench`.

    python benchmarks/crawl.py --scale 1000

Starts the marketplace in its own process, runs `python -m backrank.crawl` against it in
another (the same code path as `backrank crawl`: spider, extraction, item pipelines, SQLite),
then runs `scrapy bench` on the same machine, and prints pages/s, items/s and peak RSS of
both, with their ratio. The last line is a JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def start_marketplace(scale: int, seed: int, workdir: Path) -> tuple[subprocess.Popen, Path]:
    catalog = workdir / "catalog.toml"
    process = subprocess.Popen(
        [sys.executable, "-m", "backrank.cli", "marketplace", "--port", "0", "--seed", str(seed),
         "--scale", str(scale), "--catalog-out", str(catalog), "--truth", str(workdir / "truth.json")],
        stdout=subprocess.PIPE, text=True, cwd=REPO,
    )
    for line in process.stdout:
        if "running" in line:
            return process, catalog
    raise RuntimeError(f"the marketplace did not start (exit {process.wait()})")


def run_measured(command: list[str], cwd: Path) -> tuple[float, int, str]:
    """Run a command; return its wall seconds, peak RSS in bytes and its stderr."""
    with tempfile.TemporaryFile("w+") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        stderr.seek(0)
        log = stderr.read()
    if process.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(command)} exited {process.returncode}:\n{log[-3000:]}")
    return wall, usage.ru_maxrss * 1024, log


def crawl_figures(catalog: Path, workdir: Path) -> dict:
    stats_file = workdir / "crawl-stats.json"
    wall, peak_rss, _ = run_measured(
        [sys.executable, "-m", "backrank.crawl", "--catalog", str(catalog), "--db",
         str(workdir / "bench.db"), "--quiet", "--json-stats", str(stats_file)],
        cwd=REPO,
    )
    result = json.loads(stats_file.read_text())
    elapsed = result["elapsed"] or wall
    items = result["listings"] + result["reviews"]
    return {
        "pages": result["pages"],
        "listings": result["listings"],
        "reviews": result["reviews"],
        "errors": result["errors"],
        "seconds": round(elapsed, 2),
        "pages_per_s": round(result["pages"] / elapsed, 1),
        "items_per_s": round(items / elapsed, 1),
        "peak_rss_mb": round(peak_rss / 2**20, 1),
    }


def scrapy_bench_figures(seconds: int) -> dict:
    # Run outside the project so its polite settings don't apply to the reference figure.
    with tempfile.TemporaryDirectory() as outside:
        _, peak_rss, log = run_measured(
            [sys.executable, "-m", "scrapy.cmdline", "bench", "-s", f"CLOSESPIDER_TIMEOUT={seconds}"],
            cwd=Path(outside),
        )
    pages = int(re.search(r"'downloader/response_count': (\d+)", log).group(1))
    elapsed = float(re.search(r"'elapsed_time_seconds': ([\d.]+)", log).group(1))
    return {
        "pages": pages,
        "seconds": round(elapsed, 2),
        "pages_per_s": round(pages / elapsed, 1),
        "peak_rss_mb": round(peak_rss / 2**20, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1000, help="product models in the marketplace")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--bench-seconds", type=int, default=10, help="how long `scrapy bench` runs")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="backrank-bench-") as tmp:
        workdir = Path(tmp)
        marketplace, catalog = start_marketplace(args.scale, args.seed, workdir)
        try:
            crawl = crawl_figures(catalog, workdir)
        finally:
            marketplace.terminate()
            marketplace.wait()
    bench = scrapy_bench_figures(args.bench_seconds)
    ratio = round(crawl["pages_per_s"] / bench["pages_per_s"], 2)

    print(f"backrank crawl, marketplace --scale {args.scale}, politeness off:")
    print(f"  {crawl['pages']} pages, {crawl['listings']} listings, {crawl['reviews']} reviews, "
          f"{crawl['errors']} errors in {crawl['seconds']} s")
    print(f"  {crawl['pages_per_s']} pages/s, {crawl['items_per_s']} items/s, "
          f"peak RSS {crawl['peak_rss_mb']} MB")
    print(f"scrapy bench on this machine: {bench['pages_per_s']} pages/s "
          f"({bench['pages']} pages in {bench['seconds']} s), peak RSS {bench['peak_rss_mb']} MB")
    print(f"ratio backrank / scrapy bench: {ratio}")
    print(json.dumps({"scale": args.scale, "crawl": crawl, "scrapy_bench": bench, "ratio": ratio}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
