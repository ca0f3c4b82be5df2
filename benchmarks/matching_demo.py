"""Measure the product matcher on the demo marketplace's ground truth, at any scale, without a crawl.

    python benchmarks/matching_demo.py                 # the demo catalog (56 models)
    python benchmarks/matching_demo.py --scale 10000   # 10,000 models, about 29,000 listings

Listings are built from the marketplace's truth as a crawl stores them (titles as each store
words them; GTIN, MPN, SKU, ASIN only where the page shows them), the matcher groups them,
and pairwise precision / recall / F1 are counted against the true products (same product_id
<=> same product). The last line printed is a JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import pandas as pd

from backrank.marketplace import Marketplace
from backrank.marketplace.frames import listing_frame
from pipelines.matching import match_listings


def pair_count(groups: pd.Series) -> int:
    sizes = groups.value_counts().to_numpy(dtype=np.int64)
    return int((sizes * (sizes - 1) // 2).sum())


def pairwise_figures(true_product: pd.Series, found_product: pd.Series) -> dict[str, float]:
    """Pairwise precision, recall and F1 of a grouping, counted by group sizes (no pair lists)."""
    truth_pairs = pair_count(true_product)
    found_pairs = pair_count(found_product)
    both = pd.Series(list(zip(true_product, found_product)))
    correct = pair_count(both)
    precision = correct / found_pairs if found_pairs else 1.0
    recall = correct / truth_pairs if truth_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "true_pairs": truth_pairs}


def run(seed: int, scale: int | None) -> dict[str, float]:
    with Marketplace(seed=seed, scale=scale).start() as marketplace:
        truth = marketplace.truth()
    listings = listing_frame(truth)
    started = time.perf_counter()
    matched = match_listings(listings.drop(columns=["product_id"]))
    elapsed = time.perf_counter() - started
    result = pairwise_figures(
        listings["product_id"].reset_index(drop=True), matched["product_id"].reset_index(drop=True)
    )
    return result | {
        "listings": len(listings),
        "products": len(truth["products"]),
        "seconds": elapsed,
        "listings_per_s": len(listings) / max(elapsed, 1e-9),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=None, help="product models (default: demo)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    result = run(args.seed, args.scale)
    print(
        f"marketplace seed {args.seed}, {result['products']} models, {result['listings']} listings"
    )
    print(f"precision  {result['precision']:.4f}")
    print(f"recall     {result['recall']:.4f}")
    print(f"F1         {result['f1']:.4f}")
    print(f"listings/s {result['listings_per_s']:.0f} ({result['seconds']:.2f} s)")
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
