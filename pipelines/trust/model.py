"""The behavioural suspicion model: gradient-boosted trees read from a table, scored in numpy."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

# the code of a NaN value: above every threshold code
MISSING = 255


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
