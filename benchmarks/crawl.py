"""Crawl speed: the demo marketplace at --scale N with politeness off, beside `scrapy bench`.

    python benchmarks/crawl.py --scale 1000
    python benchmarks/crawl.py --scale 200 --profile /tmp/crawl-profile   # where the time goes
    python benchmarks/crawl.py --workers 1,2,4 --scale 10000 --pages 20000   # distributed

``--workers 1,2,4`` measures the distributed crawl (`backrank crawl --workers N`, Redis from
``--redis`` or $BACKRANK_REDIS) with each worker count, and the single process beside it,
over the same first ``--pages`` pages of the same marketplace (a whole scale-10000 crawl is
some 150,000 pages per run): pages/s from the command's start (worker start-up included)
until the crawl's shared stats count that many responses, then the crawl is stopped.

Starts the marketplace in its own process, runs `python -m spiders.crawl` against it in
another (the same code path as `backrank crawl`: spider, extraction, item pipelines, SQLite),
then runs `scrapy bench` on the same machine, and prints pages/s, items/s and peak RSS of
both, with their ratio, and pages per CPU second (crawler plus server), whose ratio holds
when other work shares the cores. The last line is a JSON object of the figures.

``--profile DIR`` samples both processes with py-spy (``pip install py-spy``): the crawl from
its start, the marketplace while the crawl runs. It writes their collapsed stacks to DIR and
prints each one's top functions by own and by inclusive samples, with CPU seconds, so one
sees whether the server or the crawler is the bottleneck. Sampling slows the crawl a little:
compare figures of profiled runs with each other, not with plain ones.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from redis import Redis

from backrank.core.store import Store
from spiders.distributed import CrawlSpec, live_crawls
from spiders.redis_queue import CrawlKeys

REPO = Path(__file__).resolve().parent.parent


def start_marketplace(scale: int, seed: int, workdir: Path) -> tuple[subprocess.Popen, Path]:
    catalog = workdir / "catalog.toml"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "backrank.app.cli",
            "marketplace",
            "--port",
            "0",
            "--seed",
            str(seed),
            "--scale",
            str(scale),
            "--catalog-out",
            str(catalog),
            "--truth",
            str(workdir / "truth.json"),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    for line in process.stdout:
        if "running" in line:
            return process, catalog
    raise RuntimeError(f"the marketplace did not start (exit {process.wait()})")


def run_measured(
    command: list[str], cwd: Path, ok_codes: tuple[int, ...] = (0, 1)
) -> tuple[float, int, float, str]:
    """Run a command; return its wall seconds, peak RSS in bytes, CPU seconds and its stderr."""
    with tempfile.TemporaryFile("w+") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        stderr.seek(0)
        log = stderr.read()
    if process.returncode not in ok_codes:
        raise RuntimeError(f"{' '.join(command)} exited {process.returncode}:\n{log[-3000:]}")
    return wall, usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime, log


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a running process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def py_spy() -> str:
    found = shutil.which(
        "py-spy", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    )
    if found is None:
        raise SystemExit("--profile needs py-spy: pip install py-spy")
    return found


def sampled(target: list[str], output: Path) -> list[str]:
    """py-spy sampling `target` (``["--", *command]`` to run a command, ``["--pid", PID]`` to
    attach), writing collapsed stacks (one line per stack) to `output`."""
    return [
        py_spy(),
        "record",
        "--format",
        "raw",
        "--function",
        "--nonblocking",
        "--rate",
        "200",
        "--output",
        str(output),
        *target,
    ]


def top_functions(stacks: Path, limit: int = 20) -> str:
    """A table of the functions with the most samples: own (self) and inclusive, in percent."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in stacks.read_text(encoding="utf-8").splitlines():
        frames_text, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_short_frame(frame) for frame in frames_text.split(";") if frame]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    if not total:
        return "  (no samples)"
    rows = [f"  {total} samples; own% = in the function itself, incl% = with what it calls"]
    rows += [f"  own {100 * n / total:5.1f}%  {name}" for name, n in own.most_common(limit)]
    rows += [
        f"  incl {100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(limit + 10)
    ]
    return "\n".join(rows)


def _short_frame(frame: str) -> str:
    """``parse (/work/main/.venv/lib/python3.11/site-packages/parsel/selector.py:12)`` -> short."""
    frame = re.sub(r"\(/.*?/(?:site-packages|lib/python3\.\d+)/", "(", frame)
    return frame.replace(f"({REPO}/", "(")


def crawl_figures(
    catalog: Path, workdir: Path, profile: Path | None = None, pages: int | None = None
) -> dict:
    stats_file = workdir / "crawl-stats.json"
    command = [
        sys.executable,
        "-m",
        "spiders.crawl",
        "--catalog",
        str(catalog),
        "--db",
        str(workdir / "bench.db"),
        "--quiet",
        "--json-stats",
        str(stats_file),
    ]
    if pages:  # the first N pages only (Scrapy's CloseSpider extension)
        command += ["--set", f"CLOSESPIDER_PAGECOUNT={pages}"]
    if profile is not None:
        command = sampled(["--", *command], profile / "crawl-stacks.txt")
    # A crawl stopped at its page budget is incomplete: the run closes as failed (exit 2).
    wall, peak_rss, cpu, _ = run_measured(
        command, cwd=REPO, ok_codes=(0, 1, 2) if pages else (0, 1)
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
        "wall_seconds": round(wall, 2),  # from the command's start: Python start-up included
        "pages_per_wall_s": round(result["pages"] / wall, 1),
        "peak_rss_mb": round(peak_rss / 2**20, 1),
        "cpu_seconds": round(cpu, 1),
    }


def distributed_figures(
    catalog: Path, workdir: Path, workers: int, pages: int, redis_url: str
) -> dict:
    """`backrank crawl --workers N` until the crawl's shared stats count `pages` responses
    (then stopped with Ctrl-C: the workers give their requests back and leave)."""

    db = workdir / f"bench-{workers}-workers.db"
    command = [
        sys.executable, "-m", "backrank.app.cli", "crawl", "--catalog", str(catalog), "--db", str(db),
        "--workers", str(workers), "--redis", redis_url, "--quiet",
    ]  # fmt: skip
    server = Redis.from_url(redis_url)
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL)
    keys, done, stats, usage = None, 0, {}, None
    while done < pages:
        pid, _, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:  # the whole crawl ended within the budget
            break
        if keys is None:
            for crawl_id in live_crawls(server):
                spec = server.get(CrawlKeys(crawl_id).spec)
                if spec and CrawlSpec.from_json(spec).db == str(db):
                    keys = CrawlKeys(crawl_id)
        else:
            stats = {k.decode(): v.decode() for k, v in server.hgetall(keys.stats).items()}
            done = int(stats.get("response_received_count", 0))
        time.sleep(0.1)
    elapsed = time.perf_counter() - started
    if not pid:
        process.send_signal(signal.SIGINT)
        _, _, usage = os.wait4(process.pid, 0)  # its workers' CPU included: it waits for them
    else:  # finished: the run's stats are in the store (the crawl's keys are gone)
        with Store.open(db) as store:
            stats = store.runs()["stats"].iloc[-1]
        done = int(stats.get("response_received_count", 0))
    listings = int(stats.get("backrank/stored/listings", 0))
    return {
        "workers": workers,
        "pages": done,
        "listings": listings,
        "seconds": round(elapsed, 2),
        "pages_per_s": round(done / elapsed, 1),
        "pages_per_s_per_worker": round(done / elapsed / workers, 1),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
        "pages_per_cpu_s": round(done / max(usage.ru_utime + usage.ru_stime, 0.1), 1),
        "requeued": int(stats.get("backrank/requeued", 0)),
    }


def scrapy_bench_figures(seconds: int) -> dict:
    # Run outside the project so its polite settings don't apply to the reference figure.
    with tempfile.TemporaryDirectory() as outside:
        _, peak_rss, cpu, log = run_measured(
            [
                sys.executable,
                "-m",
                "scrapy.cmdline",
                "bench",
                "-s",
                f"CLOSESPIDER_TIMEOUT={seconds}",
            ],
            cwd=Path(outside),
        )
    pages = int(re.search(r"'downloader/response_count': (\d+)", log).group(1))
    elapsed = float(re.search(r"'elapsed_time_seconds': ([\d.]+)", log).group(1))
    return {
        "pages": pages,
        "seconds": round(elapsed, 2),
        "pages_per_s": round(pages / elapsed, 1),
        "peak_rss_mb": round(peak_rss / 2**20, 1),
        "cpu_seconds": round(cpu, 1),  # its mock server included: bench waits for it
        "pages_per_cpu_s": round(pages / cpu, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1000, help="product models in the marketplace")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--bench-seconds", type=int, default=10, help="how long `scrapy bench` runs"
    )
    parser.add_argument(
        "--workers",
        help="comma-separated worker counts for the distributed crawl, e.g. 1,2,4",
    )
    parser.add_argument(
        "--pages",
        type=int,
        help="measure the first N pages only (default with --workers: 10000; else the whole crawl)",
    )
    parser.add_argument(
        "--redis",
        default=os.environ.get("BACKRANK_REDIS", "redis://127.0.0.1:6379/0"),
        help="Redis for --workers (default: $BACKRANK_REDIS, else the local one)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="sample both processes with py-spy; stacks and top functions go to DIR",
    )
    args = parser.parse_args()
    if args.workers:
        return distributed_main(args)
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="backrank-bench-") as tmp:
        workdir = Path(tmp)
        marketplace, catalog = start_marketplace(args.scale, args.seed, workdir)
        server_sampler = None
        if args.profile is not None:
            server_sampler = subprocess.Popen(
                sampled(["--pid", str(marketplace.pid)], args.profile / "marketplace-stacks.txt"),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        try:
            server_cpu_before = cpu_seconds(marketplace.pid)
            crawl = crawl_figures(catalog, workdir, args.profile, args.pages)
            crawl["marketplace_cpu_seconds"] = round(
                cpu_seconds(marketplace.pid) - server_cpu_before, 1
            )
        finally:
            if server_sampler is not None:
                server_sampler.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
                server_sampler.wait(timeout=60)
            marketplace.terminate()
            marketplace.wait()
    bench = scrapy_bench_figures(args.bench_seconds)
    ratio = round(crawl["pages_per_s"] / bench["pages_per_s"], 2)
    # Pages per CPU second (crawler and server together, as bench's figure holds its server):
    # what the ratio would be on an idle machine, when other work shares the cores.
    crawl["pages_per_cpu_s"] = round(
        crawl["pages"] / (crawl["cpu_seconds"] + crawl["marketplace_cpu_seconds"]), 1
    )
    cpu_ratio = round(crawl["pages_per_cpu_s"] / bench["pages_per_cpu_s"], 2)

    print(f"backrank crawl, marketplace --scale {args.scale}, politeness off:")
    print(
        f"  {crawl['pages']} pages, {crawl['listings']} listings, {crawl['reviews']} reviews, "
        f"{crawl['errors']} errors in {crawl['seconds']} s"
    )
    print(
        f"  {crawl['pages_per_s']} pages/s, {crawl['items_per_s']} items/s, "
        f"peak RSS {crawl['peak_rss_mb']} MB"
    )
    print(
        f"  CPU seconds: crawl {crawl['cpu_seconds']}, marketplace "
        f"{crawl['marketplace_cpu_seconds']}: {crawl['pages_per_cpu_s']} pages per CPU second"
    )
    print(
        f"scrapy bench on this machine: {bench['pages_per_s']} pages/s "
        f"({bench['pages']} pages in {bench['seconds']} s), peak RSS {bench['peak_rss_mb']} MB, "
        f"{bench['pages_per_cpu_s']} pages per CPU second"
    )
    print(f"ratio backrank / scrapy bench: {ratio} (per CPU second: {cpu_ratio})")
    if args.profile is not None:
        for name in ("crawl", "marketplace"):
            stacks = args.profile / f"{name}-stacks.txt"
            summary = top_functions(stacks) if stacks.exists() else "  (py-spy wrote nothing)"
            (args.profile / f"{name}-top.txt").write_text(summary + "\n", encoding="utf-8")
            print(f"{name} profile (py-spy, {stacks}):\n{summary}")
    print(
        json.dumps(
            {
                "scale": args.scale,
                "crawl": crawl,
                "scrapy_bench": bench,
                "ratio": ratio,
                "cpu_ratio": cpu_ratio,
            }
        )
    )
    return 0


def distributed_main(args: argparse.Namespace) -> int:
    """--workers: each worker count and the single process over the same first pages."""
    counts = [int(count) for count in args.workers.split(",")]
    pages = args.pages or 10000
    with tempfile.TemporaryDirectory(prefix="backrank-bench-") as tmp:
        workdir = Path(tmp)
        marketplace, catalog = start_marketplace(args.scale, args.seed, workdir)
        try:
            single = crawl_figures(catalog, workdir, pages=pages)
            runs = [
                distributed_figures(catalog, workdir, count, pages, args.redis) for count in counts
            ]
        finally:
            marketplace.terminate()
            marketplace.wait()
    bench = scrapy_bench_figures(args.bench_seconds)
    cores = os.cpu_count()
    print(
        f"backrank crawl, marketplace --scale {args.scale}, politeness off, the first {pages} "
        f"pages of each run (pages/s from the command's start; CPU s of the crawl's processes, "
        f"not of Redis or the marketplace; {cores} cores shared by all):"
    )
    print(
        f"  {'workers':>8} {'pages':>7} {'seconds':>8} {'pages/s':>8} {'per worker':>10} "
        f"{'CPU s':>7} {'pages/CPU s':>11} {'listings':>8}"
    )
    print(
        f"  {'single':>8} {single['pages']:>7} {single['wall_seconds']:>8} "
        f"{single['pages_per_wall_s']:>8} {single['pages_per_wall_s']:>10} "
        f"{single['cpu_seconds']:>7} {round(single['pages'] / single['cpu_seconds'], 1):>11} "
        f"{single['listings']:>8}  (one process, no Redis)"
    )
    for run in runs:
        print(
            f"  {run['workers']:>8} {run['pages']:>7} {run['seconds']:>8} {run['pages_per_s']:>8} "
            f"{run['pages_per_s_per_worker']:>10} {run['cpu_seconds']:>7} "
            f"{run['pages_per_cpu_s']:>11} {run['listings']:>8}"
        )
    print(
        f"scrapy bench on this machine: {bench['pages_per_s']} pages/s "
        f"({bench['pages']} pages in {bench['seconds']} s)"
    )
    print(
        "  (the queue's order differs: workers reach product pages sooner, the single process "
        "goes deeper into review pages; the listings column shows the mix)"
    )
    for run in runs:
        print(
            f"  {run['workers']} workers / scrapy bench: "
            f"{round(run['pages_per_s'] / bench['pages_per_s'], 2)}; "
            f"/ single process: {round(run['pages_per_s'] / single['pages_per_wall_s'], 2)}"
        )
    print(
        json.dumps(
            {"scale": args.scale, "pages": pages, "cores": cores, "single": single,
             "distributed": runs, "scrapy_bench": bench}
        )
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
