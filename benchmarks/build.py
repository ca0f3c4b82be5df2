"""Site build speed at scale: cold build pages/s, then incremental rebuilds after 1% change.

Synthetic products go through the real path (site_context -> render -> write):
    .venv/bin/python benchmarks/build.py [--products 10000] [--out benchmarks/out/site]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd

from backrank.core.config import DEFAULT_CATEGORIES, Catalog, SiteConfig
from reports.build import reuse_for, write_context
from reports.pages import site_context
from reports.write import spare_dir, twin_dir

NOW = datetime(2024, 7, 2, 12, 0, tzinfo=UTC)
STORES = ("shop-a", "shop-b", "shop-c")


def synthetic_frames(
    n: int, seed: int = 7
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(products, product_listings, offers, history)`` for ``n`` products, two listings each."""
    rng = random.Random(seed)
    categories = [c.slug for c in DEFAULT_CATEGORIES]
    products, links, offers = [], [], []
    for i in range(n):
        category = categories[i % len(categories)]
        price = Decimal(rng.randrange(2000, 40000)) / 100
        products.append({
            "product_id": f"gtin-{i:013d}", "name": f"Product {i} {category.replace('-', ' ')}",
            "brand": f"Brand {i % 97}", "category": category, "subcategory": category,
            "listings": 2, "best_price": price, "currency": "USD", "best_store": STORES[i % 3],
            "in_stock": True, "rating": 3 + rng.random() * 2, "review_count": rng.randrange(5, 3000),
            "adjusted_rating": 3 + rng.random() * 2, "rank": i // len(categories) + 1,
            "trust_grade": "ABCDF"[i % 5], "composite_score": round(rng.random() * 10, 2),
            "score_breakdown": [{"component": "rating", "label": "Rating", "weight": 0.6,
                                 "value": 8.0, "contribution": 4.8},
                                {"component": "value", "label": "Value", "weight": 0.4,
                                 "value": 5.0, "contribution": 2.0}],
            "rating_histogram": {str(s): rng.randrange(0, 300) for s in range(1, 6)},
            "specs": {"max_user_weight_lb": {"value": 300, "unit": "lb", "source": "shop-a"}},
        })  # fmt: skip
        for j, store in enumerate((STORES[i % 3], STORES[(i + 1) % 3])):
            listing_id = 2 * i + j
            links.append({"product_id": f"gtin-{i:013d}", "listing_id": listing_id})
            offers.append({
                "listing_id": listing_id, "store": store, "url": f"https://{store}.example/p/{i}",
                "canonical_url": None, "title": f"Product {i}", "brand": None,
                "price": price + j, "currency": "USD", "availability": "in_stock",
                "rating": None, "review_count": None, "gtin": None, "mpn": None, "sku": None,
                "asin": None, "fetched_at": (NOW - timedelta(hours=2)).isoformat(),
                "category": None, "image_url": None, "run_id": 2,
            })  # fmt: skip
    offers_frame = pd.DataFrame(offers)
    earlier = offers_frame.assign(fetched_at=(NOW - timedelta(days=7)).isoformat(), run_id=1)
    history = pd.concat([earlier, offers_frame], ignore_index=True)
    return pd.DataFrame(products), pd.DataFrame(links), offers_frame, history


def catalog() -> Catalog:
    return Catalog(
        path=Path("bench.toml"), site=SiteConfig(name="Bench Picks", base_url="https://example.com")
    )


def build(
    products: pd.DataFrame,
    links: pd.DataFrame,
    offers: pd.DataFrame,
    history: pd.DataFrame,
    out: Path,
) -> tuple[float, float, int, int, float]:
    """``(context seconds, total seconds, files rendered, files written, CPU seconds)`` of one build.

    CPU seconds (this process, user + system) are printed beside wall time: on a shared
    machine the wall clock also measures the neighbours.
    """
    start, cpu = time.perf_counter(), time.process_time()
    reviews = pd.DataFrame(columns=["listing_id", "store", "body"])
    context = site_context(
        catalog(),
        products,
        links,
        offers,
        reviews,
        NOW,
        offer_history=history,
        reuse=reuse_for(catalog(), out),
    )
    built = time.perf_counter()
    result = write_context(context, out)
    return (
        built - start,
        time.perf_counter() - start,
        result.rendered,
        result.written,
        time.process_time() - cpu,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/site"))
    args = parser.parse_args()
    for folder in (args.out, spare_dir(args.out), twin_dir(args.out)):  # a truly cold start
        shutil.rmtree(folder, ignore_errors=True)
    products, links, offers, history = synthetic_frames(args.products)

    context_s, total_s, rendered, written, cpu_s = build(products, links, offers, history, args.out)
    pages = sum(1 for p in args.out.rglob("*") if p.is_file()) - 1  # minus the manifest
    home = (args.out / "index.html").stat().st_size
    print(
        f"cold build: {pages:,} files for {args.products:,} products in {total_s:.2f} s "
        f"({pages / total_s:,.0f} pages/s; CPU {cpu_s:.2f} s; context {context_s:.2f} s, "
        f"rendered {rendered:,}); home page {home / 1024:,.0f} KiB"
    )

    # The cold build leaves the writer's spare tree ready (a hard-link twin of the site), so the
    # first refresh already touches only the files that differ, like every later one.
    for label, seed in (("first incremental rebuild", 1), ("steady-state rebuild", 2)):
        changed = products.sample(frac=0.01, random_state=seed).index
        products.loc[changed, "composite_score"] = products.loc[changed, "composite_score"] / 2
        context_s, total_s, rendered, written, cpu_s = build(
            products, links, offers, history, args.out
        )
        print(
            f"{label} after {len(changed):,} products changed: {total_s:.2f} s "
            f"(CPU {cpu_s:.2f} s; context {context_s:.2f} s, rendered {rendered:,}, written {written:,})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
