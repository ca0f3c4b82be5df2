"""Time the whole scoring stage on synthetic store-shaped data: full, then incremental rescoring.

    python benchmarks/score.py --products 10000 --reviews 1000000

Listings and reviews are generated as the store returns them (``read_offers``,
``read_reviews``): several stores per product, GTIN/ASIN/MPN identifiers, titles naming
brand, model, kind and capacity, and review text from a small template grammar (stock
phrases repeat, as they do in real reviews; most long sentences are unique), dated over two
years, most verified. The real ``pipelines.run.score`` runs on them; the incremental part
saves the first run's per-product inputs and sentence cache to a store (``--db``), adds new
reviews (``--new-share`` of the total, on ``--touched-share`` of the products) and rescores
with what the store hands back. The last line printed is a JSON object of the figures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from backrank.core.config import DEFAULT_CATEGORIES
from backrank.core.store import Store
from pipelines.run import score
from pipelines.sentiment import SENTIMENT_VERSION

NOW = datetime(2024, 7, 1, 12, tzinfo=UTC)
STORES = ("demo-amazon", "demo-shopify", "demo-woo", "demo-walmart")
KINDS = (
    ("Inversion Table", "inversion tables"),
    ("Back Stretcher", "back stretchers"),
    ("Lumbar Traction Device", "traction"),
    ("Decompression Belt", "decompression belts"),
    ("Neck Traction Device", "neck traction"),
    ("Posture Corrector", "posture"),
)
SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ra",
    "ve",
    "to",
    "su",
    "ne",
    "pa",
    "di",
    "gor",
    "tek",
    "vex",
    "lum",
    "ar",
    "is",
    "on",
]
FIRST = [
    "Ann",
    "Ben",
    "Cara",
    "Dan",
    "Eve",
    "Finn",
    "Gia",
    "Hal",
    "Ida",
    "Jon",
    "Kim",
    "Leo",
    "Mia",
    "Ned",
    "Ola",
    "Pat",
    "Rae",
    "Sam",
    "Tia",
    "Uma",
]
OPENERS = (
    "Great product.", "Works as described.", "Love it!", "Not worth the money.",
    "Five stars.", "Does the job.", "Returned it.", "Highly recommend.", "Meh.", "Solid buy.",
)  # fmt: skip
ASPECT_WORDS = (
    "frame", "assembly", "straps", "padding", "ankle holders", "foam", "instructions",
    "hinge", "belt", "handles", "price", "customer service", "delivery", "size", "locking pin",
)  # fmt: skip
GOOD = ("sturdy", "easy", "comfortable", "solid", "well made", "quick", "excellent", "fine")
BAD = ("flimsy", "wobbly", "awful", "cheap", "confusing", "squeaky", "loose", "broken")
CLAUSES = (
    " after {n} uses", " for the price", " considering it cost ${n}", " after {n} weeks",
    " compared to my old one", " for someone my size", " on day {n}", " so far",
    ", at least for now", " even after {n} months", " out of the box", " for a {n} lb table",
)  # fmt: skip
PAIN = (
    "my lower back pain is gone after {n} days",
    "my sciatica eased within {n} weeks",
    "the back pain came back after {n} days",
    "it did nothing for my neck pain after {n} weeks",
    "I use it {n} minutes every morning",
    "my husband is {h} and it fits him",
)


def _gtin(number: int) -> str:
    body = f"{number:012d}"
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(body.zfill(13)))
    return body + str((10 - total % 10) % 10)


def synthetic_listings(products: int, rng: np.random.Generator) -> pd.DataFrame:
    """``read_offers``-shaped listings: 1-4 stores per product model."""
    brands = [
        "".join(rng.choice(SYLLABLES, 2)).capitalize() + suffix
        for suffix in rng.choice(["", " Fitness", " Health", " Pro"], 150)
    ]
    rows = []
    listing_id = 0
    for model in range(products):
        brand = brands[model % len(brands)]
        kind, breadcrumb = KINDS[int(rng.integers(len(KINDS)))]
        code = f"{''.join(rng.choice(list('ABCDEFGHJKLMNPRSTX'), 2))}-{rng.integers(100, 9999)}"
        capacity = int(rng.choice([250, 275, 300, 350]))
        base_price = Decimal(int(rng.integers(20, 400))) + Decimal("0.99")
        has_gtin = rng.random() < 0.6
        for store in rng.choice(STORES, int(rng.integers(1, 5)), replace=False):
            listing_id += 1
            title = f"{brand} {code} {kind}, {capacity} lb capacity"
            if rng.random() < 0.3:
                title = f"{kind} by {brand} - Model {code}"
            price = base_price + Decimal(int(rng.integers(-10, 10)))
            rows.append(
                {
                    "model": model,
                    "store": store,
                    "url": f"https://{store}.test/p/{listing_id}",
                    "canonical_url": None,
                    "title": title,
                    "brand": brand,
                    "price": price if price > 0 else None,
                    "currency": "USD",
                    "availability": "in_stock" if rng.random() < 0.9 else "out_of_stock",
                    "rating": round(float(rng.uniform(3.0, 5.0)), 1),
                    "review_count": int(rng.integers(0, 3000)),
                    "gtin": _gtin(10_000_000 + model) if has_gtin else None,
                    "mpn": code if rng.random() < 0.5 else None,
                    "sku": None,
                    "asin": f"B0{model:08d}" if store == "demo-amazon" else None,
                    "fetched_at": (NOW - timedelta(hours=2)).isoformat(),
                    "listing_id": listing_id,
                    "category": f"Health > Back care > {breadcrumb}",
                    "image_url": None,
                    "run_id": 1,
                    "description": f"Supports users up to {capacity} lbs. {int(rng.integers(1, 6))}"
                    " year warranty.",
                }
            )
    return pd.DataFrame(rows)


def _sentence(rng: np.random.Generator, rating: float) -> str:
    roll = rng.random()
    if roll < 0.25:
        return str(rng.choice(OPENERS))
    if roll < 0.65:
        word, other = rng.choice(ASPECT_WORDS, 2, replace=False)
        quality, second = rng.choice(GOOD if rng.random() < rating / 5 else BAD, 2)
        extra = str(rng.choice(CLAUSES)).format(n=rng.integers(2, 60)) if rng.random() < 0.6 else ""
        more = f" and the {other} is {second}" if rng.random() < 0.4 else ""
        return f"The {word} is {quality}{more}{extra}."
    phrase = str(rng.choice(PAIN)).format(n=rng.integers(2, 30), h=f"6'{rng.integers(0, 5)}")
    return phrase[0].upper() + phrase[1:] + "."


def synthetic_reviews(
    listings: pd.DataFrame, count: int, rng: np.random.Generator, *, start: int = 0,
    products: np.ndarray | None = None,
) -> pd.DataFrame:  # fmt: skip
    """``read_reviews``-shaped reviews, popular listings getting most (Zipf-like)."""
    pool = listings if products is None else listings[listings["model"].isin(products)]
    weights = 1.0 / np.arange(1, len(pool) + 1) ** 0.8
    picked = rng.choice(len(pool), count, p=weights / weights.sum())
    chosen = pool.iloc[rng.permutation(len(pool))].iloc[picked]
    rating = np.clip(np.round(rng.normal(4.1, 1.1, count)), 1, 5)
    days = rng.integers(0, 730, count)
    texts, titles = [], []
    for stars in rating:
        texts.append(" ".join(_sentence(rng, stars) for _ in range(int(rng.integers(1, 5)))))
        titles.append(str(rng.choice(OPENERS)))
    authors = [
        f"{FIRST[a % len(FIRST)]} {chr(65 + b % 26)}. {c}"
        for a, b, c in zip(
            rng.integers(0, 1000, count), rng.integers(0, 26, count),
            rng.integers(0, 20_000, count), strict=True,
        )
    ]  # fmt: skip
    frame = pd.DataFrame(
        {
            "store": chosen["store"].to_numpy(),
            "url": chosen["url"].to_numpy(),
            "review_id": [f"r{start + i}" for i in range(count)],
            "author": authors,
            "rating": rating,
            "title": titles,
            "body": texts,
            "date": [(NOW - timedelta(days=int(d))).date().isoformat() for d in days],
            "verified": pd.array(rng.random(count) < 0.8, dtype="boolean"),
            "helpful_votes": pd.array(rng.integers(0, 20, count), dtype="Int64"),
            "listing_id": pd.array(chosen["listing_id"].to_numpy(), dtype="Int64"),
        }
    )
    frame["content_hash"] = [
        hashlib.sha1(f"{u}\x1f{a}\x1f{t}\x1f{b}".encode()).hexdigest()
        for u, a, t, b in zip(frame["url"], frame["author"], frame["title"], frame["body"])
    ]
    return frame


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):  # the process ended while we looked
        return 0
    return 0


def _descendants(root: int) -> list[int]:
    """Every process under ``root`` (workers, the forkserver), from /proc parent ids."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii") as handle:
                stat = handle.read()
        except (FileNotFoundError, ProcessLookupError):
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(parent, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


class PeakMemory:
    """Samples the resident memory of this process and all its descendants together, so
    worker processes count while they run (ru_maxrss only knows the largest child)."""

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self.peak_total_kb = 0
        self.peak_worker_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        me = os.getpid()
        while not self._stop.is_set():
            workers = [_rss_kb(pid) for pid in _descendants(me)]
            self.peak_total_kb = max(self.peak_total_kb, _rss_kb(me) + sum(workers))
            self.peak_worker_kb = max([self.peak_worker_kb, *workers])
            self._stop.wait(self.interval)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def peak_rss_mb(memory: PeakMemory) -> dict[str, float]:
    """Peak resident MB: the main process (its own high-water mark), the largest worker and
    all of them together (sampled; workers are the forkserver's children, so the kernel's
    RUSAGE_CHILDREN never sees them)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "main": round(own, 1),
        "largest_worker": round(memory.peak_worker_kb / 1024, 1),
        "total": round(memory.peak_total_kb / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--reviews", type=int, default=1_000_000)
    parser.add_argument("--new-share", type=float, default=0.01, help="new reviews / reviews")
    parser.add_argument("--touched-share", type=float, default=0.01, help="products they hit")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--db", help="store for the incremental part: SQLite path or postgresql:// URL "
        "(default: a temporary SQLite file)",
    )  # fmt: skip
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)

    started = time.perf_counter()
    listings = synthetic_listings(args.products, rng)
    reviews = synthetic_reviews(listings, args.reviews, rng)
    offers = listings.drop(columns=["model"])
    print(f"generated {len(offers)} listings, {len(reviews)} reviews"
          f" ({time.perf_counter() - started:.1f} s)", flush=True)  # fmt: skip

    memory = PeakMemory()
    memory.start()
    started = time.perf_counter()
    full = score(offers, reviews, categories=DEFAULT_CATEGORIES, catalog_scoring={}, now=NOW)
    full_seconds = time.perf_counter() - started
    counts = full.summary["counts"]
    print(f"full scoring: {full_seconds:.1f} s, {counts['products']} products,"
          f" {counts['sentences_computed']} sentences"
          f" ({len(reviews) / full_seconds:,.0f} reviews/s)", flush=True)  # fmt: skip
    print(f"  steps: {full.summary['timings']}", flush=True)

    with (
        tempfile.TemporaryDirectory() as folder,
        Store.open(args.db or Path(folder) / "bench.db") as store,
    ):
        started = time.perf_counter()
        store.save_product_inputs(1, full.product_inputs)
        store.save_review_sentences(full.new_sentence_cache_rows, SENTIMENT_VERSION)
        save_seconds = time.perf_counter() - started
        print(f"saved first run's product inputs and sentence cache ({save_seconds:.1f} s)",
              flush=True)  # fmt: skip
        full_steps = full.summary["timings"]
        del full

        new_count = int(len(reviews) * args.new_share)
        models = listings["model"].unique()
        touched = rng.choice(models, max(1, int(len(models) * args.touched_share)), False)
        new = synthetic_reviews(listings, new_count, rng, start=len(reviews), products=touched)
        refreshed = pd.concat([reviews, new], ignore_index=True)

        started = time.perf_counter()
        previous_inputs = store.read_product_inputs()
        again = score(
            offers,
            refreshed,
            categories=DEFAULT_CATEGORIES,
            catalog_scoring={},
            sentence_cache=lambda h: store.read_review_sentences(SENTIMENT_VERSION, h),
            previous_inputs=previous_inputs,
            now=NOW,
        )
        store.save_product_inputs(2, again.product_inputs)
        store.save_review_sentences(again.new_sentence_cache_rows, SENTIMENT_VERSION)
        incremental_seconds = time.perf_counter() - started
    counts = again.summary["counts"]
    print(f"incremental rescoring after {new_count} new reviews on {len(touched)} models:"
          f" {incremental_seconds:.1f} s, {counts['products_rescored']} products rescored,"
          f" {counts['products_reused']} reused", flush=True)  # fmt: skip
    print(f"  steps: {again.summary['timings']}", flush=True)
    memory.stop()
    rss = peak_rss_mb(memory)
    print(f"peak RSS: {rss['total']:.0f} MB main and workers together ({rss['main']:.0f} MB"
          f" main, {rss['largest_worker']:.0f} MB largest worker)")  # fmt: skip
    print(
        json.dumps(
            {
                "products": args.products,
                "listings": len(offers),
                "reviews": len(reviews),
                "full_seconds": round(full_seconds, 2),
                "reviews_per_second": round(len(reviews) / full_seconds),
                "new_reviews": new_count,
                "incremental_seconds": round(incremental_seconds, 2),
                "products_rescored": counts["products_rescored"],
                "full_steps": full_steps,
                "incremental_steps": again.summary["timings"],
                "peak_rss_mb": rss,
            }
        )
    )


if __name__ == "__main__":
    main()
