"""Run the trust stage on a review table and, when it has labels, measure the suspicion score.

    python benchmarks/trust.py --reviews FILE.csv --output SCORES.csv
    python benchmarks/trust.py --amazon-jsonl reviews.json.gz --output SCORES.csv
    python benchmarks/trust.py --synthetic 1000000

A ``label`` column is dropped before scoring (never read by it) and used only for ROC AUC and
average precision. The last line printed is a JSON object of the figures.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.trust.judge import judge_reviews
from pipelines.trust.metrics import average_precision, roc_auc
from pipelines.trust.model import fit_summary


def load_amazon_jsonl(path: Path) -> pd.DataFrame:
    """Amazon review JSON lines (overall, verified, reviewTime, reviewerID, asin, ...) as a table.

    The 5-core files repeat one review once per product variant (same reviewer, product,
    day and text); those repeats are one review and are dropped.
    """
    with gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else path.open() as lines:
        raw = pd.read_json(lines, lines=True, dtype=False)
    table = pd.DataFrame(
        {
            "reviewer_id": raw["reviewerID"],
            "author": raw.get("reviewerName"),
            "product_id": raw["asin"],
            "rating": pd.to_numeric(raw["overall"], errors="coerce"),
            "date": pd.to_datetime(raw["reviewTime"], format="%m %d, %Y", errors="coerce"),
            "verified": raw.get("verified"),
            "title": raw.get("summary"),
            "body": raw.get("reviewText"),
        }
    )
    key = ["reviewer_id", "product_id", "date", "body"]
    table = table.drop_duplicates(subset=key).reset_index(drop=True)
    ids = pd.util.hash_pandas_object(table[key].astype(str), index=False)
    table.insert(0, "review_id", ids.map("{:016x}".format))
    return table


def synthetic_reviews(count: int, seed: int = 7) -> pd.DataFrame:
    """A random review table of ``count`` rows with text, verified flag and brand (benchmark)."""
    rng = np.random.default_rng(seed)
    products = max(count // 100, 1)
    words = np.array(
        ["great", "table", "back", "pain", "relief", "sturdy", "easy", "assemble", "straps", "foam"]
    )
    phrases = pd.Series([" ".join(rng.choice(words, 12)) for _ in range(5000)])
    product = rng.integers(0, products, count)
    return pd.DataFrame(
        {
            "review_id": np.arange(count).astype(str),
            "reviewer_id": rng.integers(0, count // 3 + 1, count).astype(str),
            "product_id": product.astype(str),
            "brand": (product % max(products // 5, 1)).astype(str),
            "rating": rng.choice([1, 2, 3, 4, 5], count, p=[0.1, 0.05, 0.1, 0.25, 0.5]),
            "date": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1500, count), "D"),
            "verified": rng.random(count) < 0.8,
            "title": "Review",
            "body": phrases.to_numpy()[rng.integers(0, len(phrases), count)],
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--reviews", type=Path, help="CSV with review_id, reviewer_id, ...")
    source.add_argument("--amazon-jsonl", type=Path, help="Amazon review JSON lines (.gz ok)")
    source.add_argument("--synthetic", type=int, help="score this many random reviews")
    parser.add_argument("--output", type=Path, help="write review_id, suspicion, flags here")
    args = parser.parse_args()

    if args.reviews:
        table = pd.read_csv(args.reviews, dtype={"review_id": str, "reviewer_id": str})
    elif args.amazon_jsonl:
        table = load_amazon_jsonl(args.amazon_jsonl)
    else:
        table = synthetic_reviews(args.synthetic)
    labels = table.pop("label") if "label" in table.columns else None

    started = time.perf_counter()
    result = judge_reviews(table)
    seconds = time.perf_counter() - started

    if args.output:
        result.reviews[["review_id", "suspicion", "flags"]].to_csv(args.output, index=False)
    products = result.products
    flags = result.reviews["flags"].str.split(",").explode()
    figures: dict[str, object] = {
        "reviews": len(table),
        "products": len(products),
        "seconds": round(seconds, 2),
        "mean_suspicion": round(float(result.reviews["suspicion"].mean()), 4),
        "kept_share": round(float(result.reviews["kept"].mean()), 4),
        "flag_counts": {k: int(v) for k, v in flags[flags != ""].value_counts().items()},
        "grades": {
            k: int(v) for k, v in products["trust_grade"].value_counts().sort_index().items()
        },
        "tests_failed": {
            test: int(
                sum(
                    row["test"] == test and row["status"] == "Fail"
                    for card in result.report_cards.values()
                    for row in card
                )
            )
            for test in sorted(
                {row["test"] for card in result.report_cards.values() for row in card}
            )
        },
        "skipped_tests": result.skipped_tests,
    }
    if labels is not None:
        y = labels.to_numpy()
        scores = result.reviews["suspicion"].to_numpy()
        figures["label_rate"] = round(float(np.mean(y)), 4)
        figures["roc_auc"] = round(roc_auc(y, scores), 4)
        figures["average_precision"] = round(average_precision(y, scores), 4)
        print(
            f"ROC AUC {figures['roc_auc']:.4f}  average precision {figures['average_precision']:.4f}"
        )
        # the honest figure is the cross-validated one; scripts/tune_trust.py recomputes it
        model_fit = fit_summary()
        print(
            "suspicion model as fitted: ROC AUC {in_sample_roc_auc} in-sample, {cv_roc_auc} "
            "+- {cv_roc_auc_spread} cross-validated by product ({folds} folds x {n_seeds} "
            "shuffles, {reviews} reviews; scripts/tune_trust.py)".format(
                n_seeds=len(model_fit["seeds"]), **model_fit
            )
        )
        figures["model_cv_roc_auc"] = model_fit["cv_roc_auc"]
        figures["model_in_sample_roc_auc"] = model_fit["in_sample_roc_auc"]
    print(f"{len(table)} reviews, {len(products)} products scored in {seconds:.2f} s")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
