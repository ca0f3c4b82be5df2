"""Fit the behavioural suspicion model offline on a labelled review file (never at scoring).

    python scripts/tune_trust.py --reviews ../shared/trust/yelpchi_even_products.csv
    python scripts/tune_trust.py --reviews ... --write pipelines/trust/model.json

Fits gradient-boosted trees (logistic loss, Newton leaves, histogram splits, numpy only) on
``pipelines.trust.features.behaviour_features``; reports ROC AUC and average precision
cross-validated by product (5 folds: no product is in both the fitting and the scored part)
next to the in-sample figures, and with ``--write`` writes the model fitted on the whole file
as the JSON file the scoring reads (``pipelines/trust/model.json``). The ids are never
features; the label only fits.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.trust.features import FEATURES, behaviour_features
from pipelines.trust.judge import prepare_reviews
from pipelines.trust.metrics import average_precision, roc_auc
from pipelines.trust.model import TreeModel, model_document


@dataclass(frozen=True)
class BoostingSettings:
    """How the trees are fitted."""

    trees: int = 400
    depth: int = 3
    rate: float = 0.05
    min_leaf: int = 100  # fewest reviews on each side of a split
    l2: float = 1.0  # ridge on leaf values (in hessian units)
    bins: int = 64  # quantile bins per feature


def bin_edges(x: np.ndarray, bins: int) -> list[np.ndarray]:
    """Per feature, the distinct quantiles used as split thresholds."""
    quantiles = np.linspace(0, 1, bins + 1)[1:-1]
    edges = []
    for column in x.T:
        known = column[~np.isnan(column)]
        edges.append(np.unique(np.quantile(known, quantiles)) if known.size else np.array([]))
    return edges


def fit_trees(x: np.ndarray, y: np.ndarray, settings: BoostingSettings) -> TreeModel:
    """Gradient-boosted depth-limited trees for the log-odds of y, NaN sent to the better side."""
    n, width = x.shape
    edges = bin_edges(x, settings.bins)
    nan_bin = max(len(e) for e in edges) + 1
    slots = nan_bin + 1
    binned = np.empty((n, width), dtype=np.int64)
    for j, e in enumerate(edges):
        binned[:, j] = np.where(np.isnan(x[:, j]), nan_bin, np.searchsorted(e, x[:, j], "left"))
    rate = y.mean()
    base = float(np.log(rate / (1 - rate)))
    logit = np.full(n, base)
    splits = 2**settings.depth - 1
    features = np.zeros((settings.trees, splits), dtype=np.intp)
    thresholds = np.full((settings.trees, splits), np.inf)
    missing_left = np.ones((settings.trees, splits), dtype=bool)
    leaves = np.zeros((settings.trees, splits + 1))
    feature_offset = np.arange(width) * slots
    for tree in range(settings.trees):
        p = 1.0 / (1.0 + np.exp(-logit))
        grad, hess = p - y, p * (1 - p)
        node = np.zeros(n, dtype=np.intp)
        for level in range(settings.depth):
            first = 2**level - 1
            local = node - first
            nodes = 2**level
            index = (local[:, None] * (width * slots) + feature_offset[None, :] + binned).ravel()
            size = nodes * width * slots
            shape = (nodes, width, slots)
            g = np.bincount(index, np.repeat(grad, width), size).reshape(shape)
            h = np.bincount(index, np.repeat(hess, width), size).reshape(shape)
            c = np.bincount(index, None, size).reshape(shape)
            for k in range(nodes):
                best = _best_split(g[k], h[k], c[k], nan_bin, settings)
                if best is None:
                    continue
                j, b, nan_left = best
                features[tree, first + k] = j
                # past a feature's last edge the split only parts NaN from the rest
                thresholds[tree, first + k] = edges[j][b] if b < len(edges[j]) else np.inf
                missing_left[tree, first + k] = nan_left
            f = features[tree, node]
            value = x[np.arange(n), f]
            go_left = (value <= thresholds[tree, node]) | (
                np.isnan(value) & missing_left[tree, node]
            )
            node = 2 * node + np.where(go_left, 1, 2)
        leaf = node - splits
        g_leaf = np.bincount(leaf, grad, splits + 1)
        h_leaf = np.bincount(leaf, hess, splits + 1)
        leaves[tree] = -settings.rate * g_leaf / (h_leaf + settings.l2)
        logit += leaves[tree, leaf]
    return TreeModel(
        features=FEATURES,
        depth=settings.depth,
        base=base,
        feature=features,
        threshold=thresholds,
        missing_left=missing_left,
        leaf=leaves,
    )


def _best_split(
    g: np.ndarray, h: np.ndarray, c: np.ndarray, nan_bin: int, settings: BoostingSettings
) -> tuple[int, int, bool] | None:
    """(feature, bin, NaN goes left) of the split with the best Newton gain, None if none helps."""
    g_nan, h_nan, c_nan = g[:, nan_bin], h[:, nan_bin], c[:, nan_bin]
    g_left, h_left, c_left = (np.cumsum(a[:, : nan_bin - 1], axis=1) for a in (g, h, c))
    g_all, h_all, c_all = g.sum(axis=1)[:, None], h.sum(axis=1)[:, None], c.sum(axis=1)[:, None]
    l2 = settings.l2
    parent = g_all**2 / (h_all + l2)
    best_gain, best = 0.0, None
    for nan_left in (True, False):
        gl = g_left + (g_nan[:, None] if nan_left else 0.0)
        hl = h_left + (h_nan[:, None] if nan_left else 0.0)
        cl = c_left + (c_nan[:, None] if nan_left else 0)
        gain = gl**2 / (hl + l2) + (g_all - gl) ** 2 / (h_all - hl + l2) - parent
        allowed = (cl >= settings.min_leaf) & (c_all - cl >= settings.min_leaf)
        # the last real bin of a feature puts everything left: not a split
        gain = np.where(allowed, gain, -np.inf)
        j, b = np.unravel_index(np.argmax(gain), gain.shape)
        if gain[j, b] > best_gain + 1e-9:
            best_gain, best = float(gain[j, b]), (int(j), int(b), nan_left)
    if best is not None and c_nan[best[0]] == 0:
        # no NaN seen here: a missing value follows the larger side, the typical case
        j, b, _ = best
        best = (j, b, bool(c_left[j, b] >= c_all[j, 0] - c_left[j, b]))
    return best


def product_folds(products: pd.Series, folds: int, seed: int) -> np.ndarray:
    """Fold number per review: products shuffled by ``seed`` and dealt round-robin into folds."""
    names = np.sort(products.unique())
    shuffled = names[np.random.default_rng(seed).permutation(len(names))]
    fold_of = pd.Series(np.arange(len(names)) % folds, index=shuffled)
    return products.map(fold_of).to_numpy()


def fitting_rows(products: pd.Series, labels: np.ndarray, min_reviews: int) -> np.ndarray:
    """False for the reviews of products whose labels look absent: all 0 or all 1 over many.

    YelpChi has such products (one of 1,151 reviews with none filtered, one of 40 with all
    filtered), which a filter with a 14% rate does not produce; fitting on them teaches the
    trees that product context means nothing. They are left out of fitting only: every
    product is still scored and measured.
    """
    rate = pd.Series(labels).groupby(products.to_numpy()).transform("mean").to_numpy()
    size = products.groupby(products).transform("size").to_numpy()
    return ~(((rate == 0) | (rate == 1)) & (size >= min_reviews))


def cross_validated(
    x: np.ndarray,
    labels: np.ndarray,
    products: pd.Series,
    usable: np.ndarray,
    settings: BoostingSettings,
    folds: int,
    seed: int,
) -> np.ndarray:
    """Out-of-fold log-odds: each fold's products scored by trees fitted on the other folds."""
    features = pd.DataFrame(x, columns=list(FEATURES))
    fold = product_folds(products, folds, seed)
    scores = np.empty(len(x))
    for k in range(folds):
        fitting = (fold != k) & usable
        model = fit_trees(x[fitting], labels[fitting], settings)
        scores[fold == k] = model.log_odds(features[fold == k])
    return scores


def nested_choice(
    x: np.ndarray,
    labels: np.ndarray,
    products: pd.Series,
    usable: np.ndarray,
    grid: tuple[BoostingSettings, ...],
    folds: int,
    seed: int,
) -> tuple[np.ndarray, list[dict]]:
    """Out-of-fold log-odds where each outer fold's settings are chosen by inner CV on the rest."""
    features = pd.DataFrame(x, columns=list(FEATURES))
    fold = product_folds(products, folds, seed)
    scores = np.empty(len(x))
    chosen = []
    for k in range(folds):
        outer = fold != k
        inner_auc = [
            roc_auc(
                labels[outer],
                cross_validated(
                    x[outer],
                    labels[outer],
                    products[outer].reset_index(drop=True),
                    usable[outer],
                    settings,
                    folds - 1,
                    seed + 1,
                ),
            )
            for settings in grid
        ]
        best = grid[int(np.argmax(inner_auc))]
        chosen.append(
            {"fold": k, "settings": vars(best), "inner_roc_auc": round(max(inner_auc), 4)}
        )
        model = fit_trees(x[outer & usable], labels[outer & usable], best)
        scores[~outer] = model.log_odds(features[~outer])
    return scores, chosen


# the settings a nested run chooses among (each outer fold by inner CV on its training part)
GRID = (
    BoostingSettings(),
    BoostingSettings(trees=600, depth=2),
    BoostingSettings(trees=300, depth=4, min_leaf=200),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reviews", required=True)
    parser.add_argument("--trees", type=int, default=BoostingSettings.trees)
    parser.add_argument("--depth", type=int, default=BoostingSettings.depth)
    parser.add_argument("--rate", type=float, default=BoostingSettings.rate)
    parser.add_argument("--min-leaf", type=int, default=BoostingSettings.min_leaf)
    parser.add_argument("--l2", type=float, default=BoostingSettings.l2)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="fold shuffles")
    parser.add_argument(
        "--min-unlabelled-reviews",
        type=int,
        default=20,
        help="leave out of fitting products with this many reviews or more, all labelled alike",
    )
    parser.add_argument(
        "--nested", action="store_true", help="also nested CV over GRID (first seed; slow)"
    )
    parser.add_argument("--write", type=Path, help="write the model JSON here")
    args = parser.parse_args()
    settings = BoostingSettings(
        trees=args.trees, depth=args.depth, rate=args.rate, min_leaf=args.min_leaf, l2=args.l2
    )
    table = pd.read_csv(args.reviews, dtype={"review_id": str, "reviewer_id": str})
    labels = table.pop("label").to_numpy().astype(float)
    reviews = prepare_reviews(table)
    x = behaviour_features(reviews).to_numpy(dtype=float)
    products = reviews["product_id"]
    usable = fitting_rows(products, labels, args.min_unlabelled_reviews)
    # folds by product: a product's reviews are fitted or scored, never both
    cv_auc, cv_ap = [], []
    for seed in args.seeds:
        cross = cross_validated(x, labels, products, usable, settings, args.folds, seed)
        cv_auc.append(roc_auc(labels, cross))
        cv_ap.append(average_precision(labels, cross))
        print(json.dumps({"seed": seed, "cv_roc_auc": round(cv_auc[-1], 4)}), flush=True)
    model = fit_trees(x[usable], labels[usable], settings)
    inside = model.log_odds(pd.DataFrame(x, columns=list(FEATURES)))
    summary = {
        "settings": vars(settings),
        "reviews": len(x),
        "fitted_reviews": int(usable.sum()),
        "folds": args.folds,
        "seeds": list(args.seeds),
        "cv_roc_auc": round(float(np.mean(cv_auc)), 4),
        "cv_roc_auc_spread": round(float(np.std(cv_auc)), 4),
        "cv_average_precision": round(float(np.mean(cv_ap)), 4),
        "in_sample_roc_auc": round(roc_auc(labels, inside), 4),
        "in_sample_average_precision": round(average_precision(labels, inside), 4),
    }
    if args.nested:
        nested, chosen = nested_choice(x, labels, products, usable, GRID, args.folds, args.seeds[0])
        summary["nested_cv_roc_auc"] = round(roc_auc(labels, nested), 4)
        print(json.dumps({"nested_choices": chosen}))
    print(json.dumps(summary))
    if args.write:
        args.write.write_text(model_document(model, summary), encoding="utf-8")
        print(f"wrote {args.write}")


if __name__ == "__main__":
    main()
