"""The behavioural suspicion model: gradient-boosted trees read from a table, scored in numpy."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


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

    def log_odds(self, features: pd.DataFrame) -> np.ndarray:
        """Summed tree outputs plus base for each row; a column the model needs must be there."""
        missing = [name for name in self.features if name not in features.columns]
        if missing:
            raise ValueError(f"suspicion model needs feature(s): {', '.join(missing)}")
        # one contiguous column per feature, so a split reads a single row of this array
        columns = np.ascontiguousarray(features[list(self.features)].to_numpy(dtype=float).T)
        rows = np.arange(columns.shape[1])
        total = np.full(columns.shape[1], self.base)
        splits = self.feature.shape[1]
        for tree in range(len(self.leaf)):
            node = np.zeros(columns.shape[1], dtype=np.intp)
            for _ in range(self.depth):
                value = columns[self.feature[tree, node], rows]
                left = value <= self.threshold[tree, node]
                left |= np.isnan(value) & self.missing_left[tree, node]
                node = 2 * node + np.where(left, 1, 2)
            total += self.leaf[tree, node - splits]
        return total
