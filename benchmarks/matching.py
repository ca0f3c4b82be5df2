"""Measure the product matcher on a labelled entity-matching dataset (tableA/tableB + pairs).

    python benchmarks/matching.py --dataset ../shared/matching/walmart_amazon --split valid
    python benchmarks/matching.py --dataset ../shared/matching/walmart_amazon --tune

The dataset is read in place: ``tableA.csv``, ``tableB.csv``, ``<split>.csv`` of
``ltable_id,rtable_id,label`` and ``columns.toml`` mapping its columns to listing fields.
``--tune`` fits the weights on train and picks the threshold on valid; it never reads test.
The last line printed is a JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tomllib
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.matching import (
    FEATURES,
    MatchConfig,
    decide,
    pair_signals,
    prepare_listings,
    score_pairs,
)

LISTING_FIELDS = ("title", "brand", "mpn", "price", "category", "description", "gtin", "asin")


@dataclass(frozen=True)
class LabelledPairs:
    """Row-aligned left and right listings of one split and whether each pair is a match."""

    left: pd.DataFrame
    right: pd.DataFrame
    labels: np.ndarray


def read_table(path: Path, columns: dict[str, str], store: str) -> pd.DataFrame:
    """One side of the dataset as listings (listing_id, store and the mapped fields)."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=True)
    table = pd.DataFrame({"listing_id": raw["id"].astype(int), "store": store})
    for listing_field in LISTING_FIELDS:
        source = columns.get(listing_field)
        table[listing_field] = raw[source] if source in raw.columns else None
    return table.set_index("listing_id", drop=False)


def read_split(dataset: Path, split: str) -> LabelledPairs:
    """The labelled pairs of one split, joined to both tables."""
    with (dataset / "columns.toml").open("rb") as handle:
        columns = tomllib.load(handle)
    table_a = read_table(dataset / "tableA.csv", columns, "A")
    table_b = read_table(dataset / "tableB.csv", columns, "B")
    pairs = pd.read_csv(dataset / f"{split}.csv")
    return LabelledPairs(
        left=table_a.loc[pairs["ltable_id"]].reset_index(drop=True),
        right=table_b.loc[pairs["rtable_id"]].reset_index(drop=True),
        labels=pairs["label"].to_numpy(dtype=bool),
    )


def figures(labels: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Precision, recall and F1 of predicted matches against the labels."""
    true_positive = int(np.sum(labels & predicted))
    precision = true_positive / max(int(predicted.sum()), 1)
    recall = true_positive / max(int(labels.sum()), 1)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def evaluate(pairs: LabelledPairs, config: MatchConfig) -> dict[str, float]:
    """Score every labelled pair with the pipeline's scorer; figures plus throughput."""
    started = time.perf_counter()
    scored = score_pairs(pairs.left, pairs.right, config)
    elapsed = time.perf_counter() - started
    result = figures(pairs.labels, scored["match"].to_numpy(dtype=bool))
    result |= {"pairs": len(pairs.labels), "pairs_per_s": len(pairs.labels) / max(elapsed, 1e-9)}
    return result


def signals_of(pairs: LabelledPairs, config: MatchConfig) -> pd.DataFrame:
    return pair_signals(prepare_listings(pairs.left), prepare_listings(pairs.right), config)


def fit_logistic(signals: np.ndarray, labels: np.ndarray, l2: float = 1.0) -> np.ndarray:
    """Bias and weights of an L2-regularised logistic regression, by Newton's method."""
    design = np.hstack([np.ones((len(signals), 1)), signals])
    weights = np.zeros(design.shape[1])
    penalty = np.full(design.shape[1], l2)
    penalty[0] = 0.0  # the bias is not shrunk
    target = labels.astype(float)
    for _ in range(50):
        probability = 1.0 / (1.0 + np.exp(-design @ weights))
        gradient = design.T @ (probability - target) + penalty * weights
        curvature = (design * (probability * (1 - probability))[:, None]).T @ design
        step = np.linalg.solve(curvature + np.diag(penalty) + 1e-9 * np.eye(len(weights)), gradient)
        weights -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return weights


def tune(dataset: Path, base: MatchConfig) -> MatchConfig:
    """Fit weights on train for each setting of the code/price knobs; pick by valid F1.

    Pairs an identifier rule decides are left out of the fit: the weights only judge the rest.
    """
    train, valid = read_split(dataset, "train"), read_split(dataset, "valid")
    best: tuple[float, MatchConfig] | None = None
    knobs = [(s, p) for s in (0.5, 0.6, 0.7) for p in (2.0, 3.0)]
    for similarity, price_limit in knobs:
        candidate = replace(base, code_variant_similarity=similarity, price_ratio_limit=price_limit)
        train_signals = signals_of(train, candidate)
        valid_signals = signals_of(valid, candidate)
        undecided = train_signals["identifier"].isna().to_numpy()
        for l2 in (0.03, 0.1, 0.3, 1.0):
            weights = fit_logistic(
                train_signals.loc[undecided, list(FEATURES)].to_numpy(dtype=float),
                train.labels[undecided],
                l2,
            )
            fitted = replace(
                candidate,
                bias=round(float(weights[0]), 3),
                **{name: round(float(w), 3) for name, w in zip(FEATURES, weights[1:])},
            )
            for threshold in np.arange(0.05, 0.951, 0.025):
                config = replace(fitted, threshold=round(float(threshold), 3))
                predicted = decide(valid_signals, config)["match"].to_numpy(dtype=bool)
                f1 = figures(valid.labels, predicted)["f1"]
                if best is None or f1 > best[0]:
                    best = (f1, config)
    assert best is not None
    return best[1]


def as_toml(config: MatchConfig) -> str:
    lines = ["[scoring.matching]"]
    lines += [f"{name} = {value}" for name, value in asdict(config).items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--split", choices=("train", "valid", "test"), default="valid")
    parser.add_argument("--tune", action="store_true", help="fit on train, choose on valid")
    args = parser.parse_args(argv)

    config = MatchConfig()
    if args.tune:
        config = tune(args.dataset, config)
        print("best config on valid:")
        print(as_toml(config))
        args.split = "valid"
    result = evaluate(read_split(args.dataset, args.split), config)
    print(f"dataset   {args.dataset.name} / {args.split} ({result['pairs']} pairs)")
    print(f"precision {result['precision']:.4f}")
    print(f"recall    {result['recall']:.4f}")
    print(f"F1        {result['f1']:.4f}")
    print(f"pairs/s   {result['pairs_per_s']:.0f}")
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
