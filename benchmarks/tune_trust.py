"""Fit the behavioural suspicion weights offline on a labelled review file (never at scoring).

    python benchmarks/tune_trust.py --reviews ../shared/trust/yelpchi_even_products.csv

Fits an L2-penalised logistic regression (numpy Newton steps) on the raw-scale features of
``pipelines.trust_features``, reports ROC AUC cross-validated by product (5 folds), and prints
the weights fitted on the whole file, to be rounded into ``TrustConfig`` defaults by hand.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd

from pipelines.trust import prepare_reviews
from pipelines.trust_features import behaviour_features
from pipelines.trust_metrics import average_precision, roc_auc


def fit_logistic(x: np.ndarray, y: np.ndarray, penalty: float = 1.0) -> np.ndarray:
    """Coefficients (intercept first) of an L2-penalised logistic regression by Newton steps."""
    design = np.c_[np.ones(len(x)), x]
    beta = np.zeros(design.shape[1])
    ridge = np.full(design.shape[1], penalty)
    ridge[0] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-design @ beta))
        gradient = design.T @ (y - p) - ridge * beta
        hessian = (design * (p * (1 - p))[:, None]).T @ design + np.diag(ridge)
        step = np.linalg.solve(hessian, gradient)
        beta += step
        if np.abs(step).max() < 1e-8:
            break
    return beta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reviews", required=True)
    parser.add_argument("--penalty", type=float, default=1.0)
    parser.add_argument("--drop", default="", help="comma-separated features to leave out")
    args = parser.parse_args()
    table = pd.read_csv(args.reviews)
    labels = table.pop("label").to_numpy()
    reviews = prepare_reviews(table)
    features = behaviour_features(reviews)
    dropped = [name for name in args.drop.split(",") if name]
    features = features.drop(columns=dropped)
    x = features.to_numpy(dtype=float)
    products = reviews["product_id"].to_numpy()
    fold = pd.Series(products).astype("category").cat.codes.to_numpy() % 5
    scores = np.empty(len(x))
    for k in range(5):
        train = fold != k
        beta = fit_logistic(x[train], labels[train], args.penalty)
        scores[~train] = np.c_[np.ones((~train).sum()), x[~train]] @ beta
    beta = fit_logistic(x, labels, args.penalty)
    weights = {"intercept": round(float(beta[0]), 3)}
    weights.update({name: round(float(b), 3) for name, b in zip(features.columns, beta[1:])})
    print(json.dumps(weights, indent=1))
    print(
        json.dumps(
            {
                "cv_roc_auc": round(roc_auc(labels, scores), 4),
                "cv_average_precision": round(average_precision(labels, scores), 4),
            }
        )
    )


if __name__ == "__main__":
    main()
