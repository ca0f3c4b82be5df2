"""How stable the top products stay when each composite weight moves: Kendall tau per run."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from pipelines.scores import composite_order, composite_values, score_components, subcategory_of


def kendall_tau_b(x: Any, y: Any) -> float:
    """Kendall's tau-b of two equal-length sequences (ties corrected); NaN when undefined
    (fewer than two items, or one side all tied)."""
    a = np.asarray(x, dtype=float)
    b = np.asarray(y, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(
            f"kendall_tau_b needs two 1-d sequences of one length, got {a.shape}, {b.shape}"
        )
    n = a.size
    if n < 2:
        return math.nan
    upper = np.triu_indices(n, k=1)
    da = np.sign(a[:, None] - a[None, :])[upper]
    db = np.sign(b[:, None] - b[None, :])[upper]
    pairs = n * (n - 1) / 2
    tied_a = np.count_nonzero(da == 0)
    tied_b = np.count_nonzero(db == 0)
    denominator = math.sqrt((pairs - tied_a) * (pairs - tied_b))
    if denominator == 0:
        return math.nan
    return float(np.sum(da * db) / denominator)


def perturbed_weights(weights: Mapping[str, float], key: str, factor: float) -> dict[str, float]:
    """``weights`` with ``key`` multiplied by ``factor``, renormalised to sum 1."""
    moved = {k: (w * factor if k == key else w) for k, w in weights.items()}
    total = sum(moved.values())
    return {k: w / total for k, w in moved.items()}


def _stability(
    products: pd.DataFrame,
    components: pd.DataFrame,
    weights: Mapping[str, float],
    perturbation: float,
    top_n: int,
) -> dict[str, Any] | None:
    """Runs for one group of products; None when fewer than two of them are scored."""
    baseline, _ = composite_values(components, weights)
    scored = baseline.notna()
    if scored.sum() < 2:
        return None
    order = composite_order(products[scored], baseline[scored])
    top = list(order[:top_n])
    # Display positions: the baseline top in order 0..k-1, compared with where the same products
    # land in the whole group's ranking when the weights move (the site's tie-break).
    runs = []
    for key in weights:
        if weights[key] <= 0:
            continue  # moving a zero weight by a share changes nothing
        for direction, factor in (("up", 1 + perturbation), ("down", 1 - perturbation)):
            moved, _ = composite_values(components, perturbed_weights(weights, key, factor))
            new_order = list(composite_order(products[scored], moved[scored]))
            position = {label: place for place, label in enumerate(new_order)}
            tau = kendall_tau_b(range(len(top)), [position[label] for label in top])
            runs.append(
                {
                    "weight": key,
                    "direction": direction,
                    "kendall_tau": None if math.isnan(tau) else tau,
                    "top1_same": bool(new_order[0] == top[0]),
                }
            )
    taus = [run["kendall_tau"] for run in runs if run["kendall_tau"] is not None]
    return {
        "products": int(scored.sum()),
        "top": [str(products.loc[label, "product_id"]) for label in top],
        "runs": runs,
        "min_tau": min(taus) if taus else None,
        "mean_tau": sum(taus) / len(taus) if taus else None,
        "top1_share": sum(run["top1_same"] for run in runs) / len(runs) if runs else None,
    }


def weight_sensitivity(
    products: pd.DataFrame,
    weights: Mapping[str, float],
    perturbation: float = 0.2,
    top_n: int = 5,
) -> dict[str, Any]:
    """For the methodology page: each weight moved up and down by ``perturbation``, how the
    top ``top_n`` reorders, overall and per subcategory (groups of fewer than two scored
    products are left out).

    Each run compares the baseline top with the perturbed ranking of those same products:
    ``kendall_tau`` (1 = same order, -1 = reversed) and whether the first stays first.
    """
    if not 0 < perturbation < 1:
        raise ValueError(f"perturbation must be between 0 and 1, got {perturbation}")
    if top_n < 2:
        raise ValueError(f"top_n must be at least 2, got {top_n}")
    products = products.reset_index(drop=True)
    components = score_components(products)
    subcategory = subcategory_of(products).fillna("")
    by_subcategory = {}
    for slug in sorted(subcategory.unique()):
        mask = subcategory == slug
        result = _stability(products[mask], components[mask], weights, perturbation, top_n)
        if result is not None:
            by_subcategory[slug] = result
    return {
        "weights": {k: float(w) for k, w in weights.items()},
        "perturbation": perturbation,
        "top_n": top_n,
        "overall": _stability(products, components, weights, perturbation, top_n),
        "subcategories": by_subcategory,
    }


__all__ = ["kendall_tau_b", "perturbed_weights", "weight_sensitivity"]
