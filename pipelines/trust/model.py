"""The behavioural suspicion model: gradient-boosted trees read from ``model.json``, scored in numpy."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

# the code of a NaN value: above every threshold code
MISSING = 255
# the fitted model, beside this module; scripts/tune_trust.py writes it
MODEL_FILE = "model.json"
ABOUT = (
    "Suspicion model fitted by scripts/tune_trust.py (regenerate with it; do not edit by hand). "
    "Gradient-boosted trees of one depth in heap order (node i has children 2i+1 and 2i+2); "
    "per tree: the split nodes' feature (index into features), threshold (a row goes left when "
    "its value <= threshold; null: only a missing value can go left) and missing side (L/R), "
    "then the 2**depth leaf values, added on the log-odds scale to base."
)


@dataclass(frozen=True)
class TreeModel:
    """Full binary trees of one depth, in heap order (node i has children 2i+1 and 2i+2).

    Per tree: ``feature``, ``threshold`` and ``missing_left`` of the 2**depth - 1 split nodes
    (a row goes left when its value <= threshold, or when it is NaN and missing_left), and the
    2**depth leaf values, added on the log-odds scale to ``base``.
    """

    features: tuple[str, ...]
    depth: int
    base: float
    feature: np.ndarray  # (trees, 2**depth - 1) int
    threshold: np.ndarray  # (trees, 2**depth - 1) float
    missing_left: np.ndarray  # (trees, 2**depth - 1) bool
    leaf: np.ndarray  # (trees, 2**depth) float

    @classmethod
    def from_rows(
        cls,
        features: tuple[str, ...],
        depth: int,
        base: float,
        rows: tuple[tuple[tuple[int, ...], tuple[float, ...], str, tuple[float, ...]], ...],
    ) -> TreeModel:
        """From the table rows ``(features, thresholds, "LR.." missing sides, leaves)``."""
        splits = 2**depth - 1
        for number, (feature, threshold, missing, leaf) in enumerate(rows):
            if (
                not (len(feature) == len(threshold) == len(missing) == splits)
                or len(leaf) != splits + 1
            ):
                raise ValueError(f"tree {number}: needs {splits} splits and {splits + 1} leaves")
        return cls(
            features=tuple(features),
            depth=depth,
            base=float(base),
            feature=np.array([row[0] for row in rows], dtype=np.intp).reshape(-1, splits),
            threshold=np.array([row[1] for row in rows], dtype=float).reshape(-1, splits),
            missing_left=np.array(
                [[side == "L" for side in row[2]] for row in rows], dtype=bool
            ).reshape(-1, splits),
            leaf=np.array([row[3] for row in rows], dtype=float).reshape(-1, splits + 1),
        )

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> TreeModel:
        """From a parsed ``model.json`` (see ABOUT); ValueError naming what is wrong."""
        try:
            rows = tuple(
                (
                    tuple(int(j) for j in tree["feature"]),
                    tuple(math.inf if v is None else float(v) for v in tree["threshold"]),
                    str(tree["missing"]),
                    tuple(float(v) for v in tree["leaf"]),
                )
                for tree in document["trees"]
            )
            features = tuple(str(name) for name in document["features"])
            depth, base = int(document["depth"]), float(document["base"])
        except (KeyError, TypeError) as error:
            raise ValueError(f"suspicion model document lacks or garbles {error}") from None
        if any(not 0 <= j < len(features) for row in rows for j in row[0]):
            raise ValueError("suspicion model splits on a feature it does not list")
        return cls.from_rows(features, depth, base, rows)

    def log_odds(self, features: pd.DataFrame) -> np.ndarray:
        """Summed tree outputs plus base for each row; a column the model needs must be there."""
        missing = [name for name in self.features if name not in features.columns]
        if missing:
            raise ValueError(f"suspicion model needs feature(s): {', '.join(missing)}")
        edges, node_code = self._split_codes
        # each feature once as a small code: code <= k exactly when value <= the k-th edge, and
        # NaN gets MISSING; comparing 1-byte codes is far cheaper than float columns
        codes = np.empty((len(self.features), len(features)), dtype=np.uint8)
        for j, name in enumerate(self.features):
            values = features[name].to_numpy(dtype=float)
            codes[j] = np.searchsorted(edges[j], values, "left")
            codes[j][np.isnan(values)] = MISSING
        has_nan = (codes == MISSING).any(axis=1)
        total = np.full(len(features), self.base)
        for tree in range(len(self.leaf)):
            leaf = np.zeros(len(features), dtype=np.uint8)
            for bit in self._path_bits(tree, 0, 0, codes, node_code, has_nan):
                leaf = (leaf << 1) | bit.view(np.uint8)
            total += self.leaf[tree][leaf]
        return total

    @cached_property
    def _split_codes(self) -> tuple[list[np.ndarray], np.ndarray]:
        """Per feature its sorted distinct finite thresholds; per split node its threshold's code."""
        edges = []
        node_code = np.zeros(self.threshold.shape, dtype=np.uint8)
        for j in range(len(self.features)):
            used = self.feature == j
            finite = np.unique(self.threshold[used & np.isfinite(self.threshold)])
            if len(finite) >= MISSING:
                raise ValueError(f"feature {self.features[j]}: too many distinct thresholds")
            edges.append(finite)
            # +inf (a split that only parts NaN from the rest) becomes the largest code in use
            node_code[used] = np.searchsorted(finite, self.threshold[used], "left")
        return edges, node_code

    def _path_bits(
        self,
        tree: int,
        node: int,
        level: int,
        codes: np.ndarray,
        node_code: np.ndarray,
        has_nan: np.ndarray,
    ) -> list[np.ndarray]:
        """Per level below ``node``, whether each row turns right there (its leaf, in binary).

        Every split compares a whole 1-byte code row and the branches are merged with boolean
        masks: 2**depth contiguous comparisons beat gathering one value per row and level.
        """
        if level == self.depth:
            return []
        feature = self.feature[tree, node]
        code = codes[feature]
        right = code > node_code[tree, node]  # NaN (MISSING) goes right here
        if has_nan[feature] and self.missing_left[tree, node]:
            right &= code != MISSING
        args = (codes, node_code, has_nan)
        left_bits = self._path_bits(tree, 2 * node + 1, level + 1, *args)
        right_bits = self._path_bits(tree, 2 * node + 2, level + 1, *args)
        return [right] + [(right & r) | (~right & left) for left, r in zip(left_bits, right_bits)]


def model_document(model: TreeModel, summary: Mapping[str, Any]) -> str:
    """``model.json`` text for a fitted model and how it was fitted: one line per tree.

    Thresholds are exact (they are data values; a rounded one would flip rows lying on it);
    the base keeps 6 decimals and leaves 5 significant digits.
    """
    trees = []
    for tree in range(len(model.leaf)):
        threshold = [float(v) if math.isfinite(v) else None for v in model.threshold[tree]]
        entry = {
            "feature": [int(v) for v in model.feature[tree]],
            "threshold": threshold,
            "missing": "".join("L" if v else "R" for v in model.missing_left[tree]),
            "leaf": [float(f"{v:.5g}") for v in model.leaf[tree]],
        }
        trees.append("    " + json.dumps(entry))
    head = {
        "about": ABOUT,
        "summary": dict(summary),
        "features": list(model.features),
        "depth": model.depth,
        "base": round(float(model.base), 6),
    }
    head_text = json.dumps(head, indent=2)[:-2]  # without the closing brace
    return head_text + ',\n  "trees": [\n' + ",\n".join(trees) + "\n  ]\n}\n"


@cache
def _fitted() -> dict[str, Any]:
    text = resources.files(__package__).joinpath(MODEL_FILE).read_text(encoding="utf-8")
    return json.loads(text)


@cache
def suspicion_model() -> TreeModel:
    """The fitted model shipped in ``pipelines/trust/model.json`` (read once)."""
    return TreeModel.from_document(_fitted())


def fit_summary() -> dict[str, Any]:
    """How the shipped model was fitted: settings, review counts, ROC AUC and average
    precision cross-validated by product and in-sample."""
    return dict(_fitted()["summary"])
