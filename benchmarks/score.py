"""Time the whole scoring stage on synthetic store-shaped data: full, then incremental rescoring.

    python benchmarks/score.py --products 10000 --reviews 1000000

Listings and reviews are generated as the store returns them (``read_offers``,
``read_reviews``): several stores per product, GTIN/ASIN/MPN identifiers, titles naming
brand, model, kind and capacity, dated over two years, most verified. Review text
(``--text``):

- ``varied`` (the default): sentences composed word by word from a large vocabulary, as
  varied as real text, so the sentiment cache cannot answer for the scorer: function words
  (negations and boosters among them), the content words of the real review set
  (``--vocabulary``, read in place, e.g. ``../shared/realpages/reviews/``), VADER's own
  sentiment words (positive ones more likely in higher-rated reviews) and the back-care
  aspect words; a few stock phrases repeat, as they do in real reviews. The share of unique
  sentences the scorer saw is printed.
- ``templates``: the earlier small template grammar (most sentences repeat), kept to compare.

The real ``pipelines.run.score`` runs on them; the incremental part saves the first run's
per-product inputs and sentence cache to a store (``--db``), adds new reviews
(``--new-share`` of the total, on ``--touched-share`` of the products) and rescores with what
the store hands back. Wall time and CPU time (this process plus its worker processes) are
printed for both; on a shared machine the CPU time is the steadier figure. The last line
printed is a JSON object of the figures.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import re
import resource
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
from vaderSentiment import vaderSentiment

from backrank.core.config import DEFAULT_CATEGORIES
from backrank.core.store import Store
from pipelines.run import score
from pipelines.sentiment import SENTIMENT_VERSION

REPO = Path(__file__).resolve().parents[1]
REAL_REVIEWS = Path("realpages/reviews/amazon-fashion-5core-reviews.json.gz")

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


# --- varied review text: composed from a large vocabulary ---------------------------------
FUNCTION_WORDS = (
    "i", "it", "the", "a", "and", "but", "not", "very", "really", "so", "my", "this", "was",
    "is", "for", "with", "to", "of", "on", "in", "after", "too", "just", "never", "no",
    "quite", "more", "than", "when", "we", "they", "would", "could", "have", "had", "be",
    "been", "that", "at", "as", "because", "still", "even", "also", "only", "much", "its",
    "an", "or", "if", "about", "didn't", "doesn't", "isn't", "can't", "extremely", "barely",
)  # fmt: skip
DOMAIN_WORDS = (
    *ASPECT_WORDS, "table", "stretcher", "traction", "belt", "inversion", "lumbar", "spine",
    "sciatica", "pain", "relief", "neck", "posture", "decompression", "wheel", "bar", "door",
    "ankle", "foam", "strap", "buckle", "pump", "collar", "assembly", "bolts", "manual",
    "warranty", "shipping", "box", "seller", "refund", "return", "squeak", "wobble",
)  # fmt: skip
STOCK_SENTENCES = OPENERS + ("Five Stars", "Four Stars", "Love it", "Great product")
# word classes of a sentence: function, content, sentiment, aspect words
WORD_CLASS_SHARES = (0.38, 0.45, 0.12, 0.05)
STOCK_SHARE = 0.05  # sentences that are stock phrases ("Love it!", "Five stars.")
ENDINGS = np.array([".", "!", "?"], dtype=object)
TEXT_CHUNK = 50_000  # reviews whose text is composed at once


def default_vocabulary() -> Path | None:
    """The real review set beside the repository (``../shared``), if there."""
    for shared in (REPO.parent / "shared", REPO.parent.parent / "shared"):
        if (shared / REAL_REVIEWS).is_file():
            return shared / REAL_REVIEWS
    return None


@dataclass(frozen=True)
class Vocabulary:
    """Word pools, each most frequent first: content words of real reviews, VADER's
    positive and negative words, and the back-care aspect words."""

    content: np.ndarray
    positive: np.ndarray
    negative: np.ndarray
    function: np.ndarray
    aspect: np.ndarray


def load_vocabulary(real_reviews: Path) -> Vocabulary:
    """Pools from the real review set (JSON lines, gzipped, read in place) and VADER's lexicon."""
    lexicon: dict[str, float] = {}
    lexicon_file = Path(vaderSentiment.__file__).with_name("vader_lexicon.txt")
    for line in lexicon_file.read_text(encoding="utf-8").splitlines():
        word, valence, *_ = line.split("\t")
        if re.fullmatch(r"[a-z]{3,}", word):
            lexicon[word] = float(valence)
    counts: dict[str, int] = {}
    with gzip.open(real_reviews, "rt", encoding="utf-8") as lines:
        for line in lines:
            review = json.loads(line)
            for key in ("reviewText", "summary"):
                text = review.get(key)
                for word in re.findall(
                    r"[a-z][a-z']+", text.lower() if isinstance(text, str) else ""
                ):
                    counts[word] = counts.get(word, 0) + 1
    skip = set(FUNCTION_WORDS) | set(lexicon)
    content = sorted((w for w in counts if w not in skip), key=lambda w: -counts[w])
    by_use = sorted(lexicon, key=lambda w: -counts.get(w, 0))  # words real reviews use first
    return Vocabulary(
        content=np.array(content, dtype=object),
        positive=np.array([w for w in by_use if lexicon[w] >= 0.5], dtype=object),
        negative=np.array([w for w in by_use if lexicon[w] <= -0.5], dtype=object),
        function=np.array(FUNCTION_WORDS, dtype=object),
        aspect=np.array(DOMAIN_WORDS, dtype=object),
    )


def _ranked(rng: np.random.Generator, pool: np.ndarray, count: int) -> np.ndarray:
    """``count`` words of ``pool``, frequent (early) ones likelier, as word use is skewed."""
    return pool[(len(pool) * rng.random(count) ** 2.5).astype(np.int64)]


def composed_sentences(
    rng: np.random.Generator, vocabulary: Vocabulary, lengths: np.ndarray, positive: np.ndarray
) -> list[str]:
    """One sentence per entry of ``lengths`` (words); ``positive`` (per sentence) is the
    chance that a sentiment word is a positive one. Vectorised over all words at once."""
    total = int(lengths.sum())
    owner = np.repeat(np.arange(len(lengths)), lengths)
    kind = rng.choice(4, total, p=WORD_CLASS_SHARES)
    words = np.empty(total, dtype=object)
    for code, pool in ((0, vocabulary.function), (1, vocabulary.content), (3, vocabulary.aspect)):
        where = kind == code
        words[where] = _ranked(rng, pool, int(where.sum()))
    feeling = kind == 2
    upbeat = rng.random(total) < positive[owner]
    for where, pool in (
        (feeling & upbeat, vocabulary.positive),
        (feeling & ~upbeat, vocabulary.negative),
    ):
        words[where] = _ranked(rng, pool, int(where.sum()))
    ends = np.cumsum(lengths)
    starts = ends - lengths
    words[starts] = [word.capitalize() for word in words[starts]]
    endings = ENDINGS[rng.choice(3, len(lengths), p=(0.8, 0.15, 0.05))]
    words[ends - 1] = words[ends - 1] + endings
    flat = words.tolist()
    sentences = [" ".join(flat[a:b]) for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]
    stock = np.flatnonzero(rng.random(len(lengths)) < STOCK_SHARE)
    for index, phrase in zip(stock.tolist(), rng.choice(STOCK_SENTENCES, len(stock)), strict=True):
        sentences[index] = phrase if phrase[-1] in ".!?" else phrase + "!"
    return sentences


def varied_texts(
    rng: np.random.Generator, vocabulary: Vocabulary, rating: np.ndarray
) -> tuple[list[str], list[str]]:
    """``(titles, bodies)``: a title of 3-7 words and 1-4 sentences of 3-30 words per review
    (made a chunk of reviews at a time: the word arrays of a million reviews take gigabytes)."""
    titles: list[str] = []
    bodies: list[str] = []
    for start in range(0, len(rating), TEXT_CHUNK):
        chunk_titles, chunk_bodies = _varied_chunk(
            rng, vocabulary, rating[start : start + TEXT_CHUNK]
        )
        titles += chunk_titles
        bodies += chunk_bodies
    return titles, bodies


def _varied_chunk(
    rng: np.random.Generator, vocabulary: Vocabulary, rating: np.ndarray
) -> tuple[list[str], list[str]]:
    count = len(rating)
    positive = (rating - 1) / 4 * 0.8 + 0.1
    titles = composed_sentences(rng, vocabulary, rng.integers(3, 8, count), positive)
    per_review = rng.integers(1, 5, count)
    lengths = np.clip(rng.poisson(9, int(per_review.sum())) + 3, 3, 30)
    sentences = composed_sentences(rng, vocabulary, lengths, np.repeat(positive, per_review))
    ends = np.cumsum(per_review).tolist()
    starts = [0, *ends[:-1]]
    bodies = [" ".join(sentences[a:b]) for a, b in zip(starts, ends, strict=True)]
    return titles, bodies


def template_texts(rng: np.random.Generator, rating: np.ndarray) -> tuple[list[str], list[str]]:
    """``(titles, bodies)`` from the small template grammar (the earlier benchmark's text)."""
    texts, titles = [], []
    for stars in rating:
        texts.append(" ".join(_sentence(rng, stars) for _ in range(int(rng.integers(1, 5)))))
        titles.append(str(rng.choice(OPENERS)))
    return titles, texts


def synthetic_reviews(
    listings: pd.DataFrame, count: int, rng: np.random.Generator, *, start: int = 0,
    products: np.ndarray | None = None, vocabulary: Vocabulary | None = None,
) -> pd.DataFrame:  # fmt: skip
    """``read_reviews``-shaped reviews, popular listings getting most (Zipf-like); text
    composed from ``vocabulary``, or from the template grammar without one."""
    pool = listings if products is None else listings[listings["model"].isin(products)]
    weights = 1.0 / np.arange(1, len(pool) + 1) ** 0.8
    picked = rng.choice(len(pool), count, p=weights / weights.sum())
    chosen = pool.iloc[rng.permutation(len(pool))].iloc[picked]
    rating = np.clip(np.round(rng.normal(4.1, 1.1, count)), 1, 5)
    days = rng.integers(0, 730, count)
    if vocabulary is None:
        titles, texts = template_texts(rng, rating)
    else:
        titles, texts = varied_texts(rng, vocabulary, rating)
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


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process so far (None once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


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
    worker processes count while they run (ru_maxrss only knows the largest child), and the
    CPU seconds each descendant used (its last sample; workers are not our children, so
    RUSAGE_CHILDREN never sees them)."""

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self.peak_total_kb = 0
        self.peak_worker_kb = 0
        self.worker_cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        me = os.getpid()
        while not self._stop.is_set():
            descendants = _descendants(me)
            workers = [_rss_kb(pid) for pid in descendants]
            self.peak_total_kb = max(self.peak_total_kb, _rss_kb(me) + sum(workers))
            self.peak_worker_kb = max([self.peak_worker_kb, *workers])
            for pid in descendants:
                used = _cpu_seconds(pid)
                if used is not None:
                    self.worker_cpu[pid] = used
            self._stop.wait(self.interval)

    def workers_cpu_seconds(self) -> float:
        """CPU seconds of every descendant seen so far (to within one sampling interval)."""
        return sum(self.worker_cpu.values())

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
        "--text", choices=("varied", "templates"), default="varied",
        help="review text: composed from a large vocabulary, or the old template grammar",
    )  # fmt: skip
    parser.add_argument(
        "--vocabulary", type=Path, default=default_vocabulary(),
        help=f"the real review set the content words come from (default: ../shared/{REAL_REVIEWS})",
    )  # fmt: skip
    parser.add_argument(
        "--db", help="store for the incremental part: SQLite path or postgresql:// URL "
        "(default: a temporary SQLite file)",
    )  # fmt: skip
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    vocabulary = None
    if args.text == "varied":
        if args.vocabulary is None or not args.vocabulary.is_file():
            parser.error(f"no real review set at {args.vocabulary}: pass --vocabulary PATH")
        vocabulary = load_vocabulary(args.vocabulary)

    started = time.perf_counter()
    listings = synthetic_listings(args.products, rng)
    reviews = synthetic_reviews(listings, args.reviews, rng, vocabulary=vocabulary)
    offers = listings.drop(columns=["model"])
    print(f"generated {len(offers)} listings, {len(reviews)} reviews"
          f" ({time.perf_counter() - started:.1f} s)", flush=True)  # fmt: skip

    memory = PeakMemory()
    memory.start()
    started, cpu_started = time.perf_counter(), time.process_time()
    full = score(offers, reviews, categories=DEFAULT_CATEGORIES, catalog_scoring={}, now=NOW)
    full_seconds = time.perf_counter() - started
    full_cpu = time.process_time() - cpu_started + memory.workers_cpu_seconds()
    counts = full.summary["counts"]
    sentences = full.new_sentence_cache_rows["sentence"]
    unique_share = sentences.nunique() / max(len(sentences), 1)
    print(f"full scoring: {full_seconds:.1f} s ({full_cpu:.1f} s CPU, main and workers),"
          f" {counts['products']} products, {counts['sentences_computed']} sentences,"
          f" {unique_share:.1%} of them unique"
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
        new = synthetic_reviews(
            listings, new_count, rng, start=len(reviews), products=touched, vocabulary=vocabulary
        )
        refreshed = pd.concat([reviews, new], ignore_index=True)

        workers_before = memory.workers_cpu_seconds()
        started, cpu_started = time.perf_counter(), time.process_time()
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
        incremental_cpu = (
            time.process_time() - cpu_started + memory.workers_cpu_seconds() - workers_before
        )
    counts = again.summary["counts"]
    print(f"incremental rescoring after {new_count} new reviews on {len(touched)} models:"
          f" {incremental_seconds:.1f} s ({incremental_cpu:.1f} s CPU),"
          f" {counts['products_rescored']} products rescored,"
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
                "text": args.text,
                "unique_sentence_share": round(unique_share, 4),
                "full_seconds": round(full_seconds, 2),
                "full_cpu_seconds": round(full_cpu, 2),
                "reviews_per_second": round(len(reviews) / full_seconds),
                "new_reviews": new_count,
                "incremental_seconds": round(incremental_seconds, 2),
                "incremental_cpu_seconds": round(incremental_cpu, 2),
                "products_rescored": counts["products_rescored"],
                "full_steps": full_steps,
                "incremental_steps": again.summary["timings"],
                "peak_rss_mb": rss,
            }
        )
    )


if __name__ == "__main__":
    main()
