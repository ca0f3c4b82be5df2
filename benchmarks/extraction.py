"""Per-field extraction accuracy and speed over the saved real pages (../shared/realpages), and
F1 per attribute on the zyte benchmark pages (../shared/realpages/zyte) by that benchmark's rules."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from spiders import sources
from spiders.extract.golden import (
    BENCHMARK_ATTRIBUTES,
    LISTING_FIELDS,
    REVIEW_FIELDS,
    benchmark_counts,
    f1_score,
    matches,
    page_url,
    predicted,
    read_manifest,
    read_page,
    realpages_dir,
    truth_values,
    zyte_dir,
)
from spiders.normalise import normalise_listing, normalise_review


def outcome(expected: object, actual: object) -> str:
    """correct / wrong (a value that is not the page's) / missing (None where one was expected)."""
    if matches(expected, actual):
        return "correct"
    return "missing" if actual is None else "wrong"


def run(root: Path, repeat: int) -> dict:
    manifest = read_manifest(root)
    table: dict[str, dict[str, int]] = {}
    failures: list[str] = []
    pages = [
        (e, read_page(root, e)) for e in manifest if e["kind"] in ("product_page", "review_page")
    ]
    for entry, html in pages:
        url = page_url(entry)
        if entry["kind"] == "product_page":
            listing = normalise_listing(sources.parse_product_page(html, url).listing)
            for key, attr in LISTING_FIELDS.items():
                if key not in entry["expected"]:
                    continue
                result = outcome(entry["expected"][key], getattr(listing, attr))
                table.setdefault(key, {"correct": 0, "wrong": 0, "missing": 0})[result] += 1
                if result != "correct":
                    failures.append(
                        f"{entry['file']}: {key}: expected {entry['expected'][key]!r}, "
                        f"got {getattr(listing, attr)!r}"
                    )
        else:
            page = sources.parse_review_page(html, url)
            reviews = [normalise_review(r) for r in page.reviews]
            by_id = {r.review_id: r for r in reviews}
            for expected in entry["expected"]["reviews"]:
                review = by_id.get(expected["id"])
                for key, attr in REVIEW_FIELDS.items():
                    actual = getattr(review, attr) if review else None
                    result = outcome(expected[key], actual)
                    table.setdefault(f"review.{key}", {"correct": 0, "wrong": 0, "missing": 0})[
                        result
                    ] += 1
                    if result != "correct":
                        failures.append(
                            f"{entry['file']}: review {expected['id']} {key}: "
                            f"expected {expected[key]!r}, got {actual!r}"
                        )
    started, cpu_started = time.perf_counter(), time.process_time()
    for _ in range(repeat):
        for entry, html in pages:
            url = page_url(entry)
            if entry["kind"] == "product_page":
                sources.parse_product_page(html, url)
            else:
                sources.parse_review_page(html, url)
    elapsed = time.perf_counter() - started
    # CPU seconds of this process: one core's work, whatever else the machine runs meanwhile
    cpu = time.process_time() - cpu_started
    return {
        "fields": table,
        "failures": failures,
        "pages": len(pages),
        "pages_per_second": round(len(pages) * repeat / elapsed, 2) if elapsed else None,
        "pages_per_cpu_second": round(len(pages) * repeat / cpu, 2) if cpu else None,
    }


def run_benchmark(root: Path) -> dict:
    """F1 per attribute over the zyte pages, with each wrong or missing value for --failures."""
    counts: dict[str, list[tuple[int, int, int]]] = {key: [] for key in BENCHMARK_ATTRIBUTES}
    failures: list[str] = []
    manifest = read_manifest(root)
    for entry in manifest:
        page = sources.parse_product_page(read_page(root, entry), page_url(entry))
        listing = normalise_listing(page.listing) if page.listing else None
        for key in BENCHMARK_ATTRIBUTES:
            truth = truth_values(entry["expected"], key)
            answer = predicted(listing, key) if listing else None
            page_counts = benchmark_counts(key, truth, answer)
            counts[key].append(page_counts)
            if page_counts[1] or page_counts[2]:
                failures.append(f"zyte {entry['file']}: {key}: expected {truth!r}, got {answer!r}")
    scores = {key: f1_score(values) for key, values in counts.items()}
    return {"scores": scores, "failures": failures, "pages": len(manifest)}


def print_benchmark(figures: dict, show_failures: bool) -> None:
    print(f"\nzyte benchmark, {figures['pages']} pages (F1 as its evaluate.py computes it)")
    print(f"{'attribute':<16}{'tp':>5}{'fp':>5}{'fn':>5}{'precision':>11}{'recall':>8}{'F1':>7}")
    for key, score in figures["scores"].items():
        print(
            f"{key:<16}{score['tp']:>5}{score['fp']:>5}{score['fn']:>5}"
            f"{score['precision']:>11.3f}{score['recall']:>8.3f}{score['f1']:>7.3f}"
        )
    if show_failures:
        for failure in figures["failures"]:
            print("  " + failure)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=1, help="timing passes over the pages")
    parser.add_argument("--failures", action="store_true", help="list every wrong or missing value")
    args = parser.parse_args(argv)
    root = realpages_dir()
    if not (root / "manifest.json").exists():
        print(f"no realpages manifest under {root} (set BACKRANK_REALPAGES)", file=sys.stderr)
        return 2
    figures = run(root, args.repeat)
    print(f"{'field':<16}{'correct':>8}{'wrong':>7}{'missing':>9}{'accuracy':>10}")
    accuracy = {}
    for key, counts in figures["fields"].items():
        total = sum(counts.values())
        accuracy[key] = round(counts["correct"] / total, 3) if total else None
        print(
            f"{key:<16}{counts['correct']:>8}{counts['wrong']:>7}{counts['missing']:>9}"
            f"{accuracy[key]:>10.1%}"
        )
    if args.failures:
        for failure in figures["failures"]:
            print("  " + failure)
    print(
        f"{figures['pages']} pages, extraction alone: {figures['pages_per_second']} pages/s"
        f" wall clock, {figures['pages_per_cpu_second']} pages per CPU second (one core)"
    )
    summary = {
        "fields": figures["fields"],
        "accuracy": accuracy,
        "pages": figures["pages"],
        "pages_per_second": figures["pages_per_second"],
        "pages_per_cpu_second": figures["pages_per_cpu_second"],
    }
    zyte = zyte_dir()
    if (zyte / "manifest.json").exists():
        benchmark = run_benchmark(zyte)
        print_benchmark(benchmark, args.failures)
        summary["zyte_f1"] = {k: round(v["f1"], 3) for k, v in benchmark["scores"].items()}
    else:
        print(f"no zyte manifest under {zyte}: zyte benchmark skipped", file=sys.stderr)
    print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
