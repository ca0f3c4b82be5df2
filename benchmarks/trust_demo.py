"""Measure the trust tests on the demo marketplace's planted patterns, at any scale, without a crawl.

    python benchmarks/trust_demo.py                      # the demo catalog (56 models), seed 7
    python benchmarks/trust_demo.py --seeds 1-10         # ten demo catalogs
    python benchmarks/trust_demo.py --scale 2000         # 2,000 models

Every review of every listing is generated as the stores show it and grouped by its true
product (so matching errors do not count here; tests/test_accuracy_demo.py measures the two
together after a real crawl). A planted pattern is *found* when the trust test made for it
gives Fail on the planted product; a clean product (nothing planted) *fails* when any test
gives Fail. Per pattern recall and the clean fail rate are printed; the last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import pandas as pd

from backrank.marketplace.catalog import PATTERN_TEST, build_catalog
from backrank.marketplace.frames import review_frame
from pipelines.trust.judge import judge_reviews


def run(seed: int, scale: int | None) -> dict:
    """Found / planted per pattern and failed / clean products for one catalog."""
    catalog = build_catalog(seed, scale)
    reviews = review_frame(catalog)
    reviews = reviews.assign(reviewer_id=reviews["store"] + ":" + reviews["author"])
    result = judge_reviews(reviews.drop(columns=["author", "pattern"]))
    status = {
        (product_id, row["test"]): row["status"]
        for product_id, card in result.report_cards.items()
        for row in card
    }
    found: dict[str, list[int]] = {pattern: [0, 0] for pattern in PATTERN_TEST}
    planted_products = set()
    for listing in catalog.planted:
        product_id = listing.product.product_id
        planted_products.add(product_id)
        found[listing.pattern][1] += 1
        found[listing.pattern][0] += (
            status.get((product_id, PATTERN_TEST[listing.pattern])) == "Fail"
        )
    failing: dict[str, list[str]] = {}
    for (product_id, test), outcome in status.items():
        if outcome == "Fail" and product_id not in planted_products:
            failing.setdefault(product_id, []).append(test)
    clean = {p.product_id for p in catalog.products} - planted_products
    reviewed = set(reviews["product_id"])
    return {
        "found": found,
        "clean": len(clean & reviewed),
        "clean_failed": len(failing),
        "clean_failures": failing,
    }


def _seeds(text: str) -> list[int]:
    if "-" in text:
        first, last = text.split("-", 1)
        return list(range(int(first), int(last) + 1))
    return [int(part) for part in text.split(",")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=None, help="product models (default: demo)")
    parser.add_argument("--seeds", default="7", help="e.g. 7, 1-10 or 3,7,11")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    total = {pattern: [0, 0] for pattern in PATTERN_TEST}
    clean = clean_failed = 0
    failures: dict[str, dict] = {}
    for seed in _seeds(args.seeds):
        figures = run(seed, args.scale)
        for pattern, (hit, planted) in figures["found"].items():
            total[pattern][0] += hit
            total[pattern][1] += planted
        clean += figures["clean"]
        clean_failed += figures["clean_failed"]
        if figures["clean_failures"]:
            failures[str(seed)] = figures["clean_failures"]
    print(f"seeds {args.seeds}, scale {args.scale or 'demo'}")
    for pattern, (hit, planted) in total.items():
        print(f"  {pattern:24s} recall {hit}/{planted} = {hit / max(planted, 1):.2f}")
    hits = sum(h for h, _ in total.values())
    planted = sum(p for _, p in total.values())
    tests = pd.Series([t for seed in failures.values() for tests in seed.values() for t in tests])
    print(f"overall recall {hits}/{planted} = {hits / max(planted, 1):.3f}")
    print(f"clean products failed {clean_failed}/{clean} = {clean_failed / max(clean, 1):.3f}"
          f" (by test: {tests.value_counts().to_dict()})")  # fmt: skip
    print(
        json.dumps(
            {
                "recall": round(hits / max(planted, 1), 4),
                "recall_by_pattern": {p: round(h / max(n, 1), 4) for p, (h, n) in total.items()},
                "clean_fail_rate": round(clean_failed / max(clean, 1), 4),
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
