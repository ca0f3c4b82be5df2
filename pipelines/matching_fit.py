"""Teach the matcher: the pairs it is least sure of, and weights refitted on labelled pairs.

Labels come from an owner's answers (``backrank matches review``) and, for free, from the
pairs identifiers decide (same GTIN, same brand and MPN). A refit starts from the shipped
weights and moves only as far as the labels pull it (a Gaussian prior centred on them), so
fifty answers adjust the matcher to a store's wording without forgetting what it knew.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from backrank.core.settings import MatchConfig
from pipelines.matching import (
    FEATURES,
    MatchOverrides,
    candidate_pairs,
    decide,
    feature_weights,
    pair_signals,
    prepare_listings,
    title_idf,
)

# How strongly a refit is held to the weights it starts from (the prior's precision).
# Chosen on the public datasets (benchmarks/matching.py --active 50: 5, 10 and 15 all keep
# valid F1 within 0.02 of a fit on the whole train split, 1 and 3 let fifty answers taken
# near the threshold drag the weights too far), never on an owner's data.
REFIT_PRIOR = 10.0
# The names a refit writes: the bias and one weight per feature (the threshold stays).
WEIGHT_NAMES = ("bias", *FEATURES)


def fit_logistic(
    signals: np.ndarray,
    labels: np.ndarray,
    l2: float = 1.0,
    prior: np.ndarray | None = None,
    sample_weight: np.ndarray | None = None,
) -> np.ndarray:
    """Bias and weights of an L2-regularised logistic regression, by Newton's method.

    ``prior`` (bias first) is where the penalty pulls the weights; zero when not given (and
    then the bias is not shrunk). ``sample_weight`` says how much each pair counts (1 each).
    """
    design = np.hstack([np.ones((len(signals), 1)), signals])
    centre = np.zeros(design.shape[1]) if prior is None else np.asarray(prior, dtype=float)
    weights = centre.copy()
    penalty = np.full(design.shape[1], l2)
    penalty[0] = 0.0 if prior is None else l2
    target = labels.astype(float)
    counts = np.ones(len(target)) if sample_weight is None else np.asarray(sample_weight, float)
    for _ in range(50):
        probability = 1.0 / (1.0 + np.exp(-np.clip(design @ weights, -500, 500)))
        gradient = design.T @ (counts * (probability - target)) + penalty * (weights - centre)
        curvature = (design * (counts * probability * (1 - probability))[:, None]).T @ design
        step = np.linalg.solve(curvature + np.diag(penalty) + 1e-9 * np.eye(len(weights)), gradient)
        weights -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return weights


def with_weights(config: MatchConfig, weights: np.ndarray) -> MatchConfig:
    """``config`` with the bias and feature weights of a fit (rounded to 3 places)."""
    return replace(
        config, **{name: round(float(w), 3) for name, w in zip(WEIGHT_NAMES, weights, strict=True)}
    )


def fit_weights(
    signals: pd.DataFrame,
    labels: np.ndarray,
    config: MatchConfig,
    *,
    l2: float = REFIT_PRIOR,
    from_scratch: bool = False,
    sample_weight: np.ndarray | None = None,
) -> MatchConfig:
    """``config`` refitted on labelled pairs' signals (``pair_signals`` rows).

    Unless ``from_scratch``, the fit is pulled towards ``config``'s own weights, so a few
    labels nudge rather than replace them. The threshold is kept.
    """
    labels = np.asarray(labels, dtype=bool)
    if len(labels) != len(signals):
        raise ValueError(f"{len(signals)} pairs but {len(labels)} labels")
    if not len(labels):
        return config
    prior = None if from_scratch else np.r_[config.bias, feature_weights(config)]
    fitted = fit_logistic(
        signals[list(FEATURES)].to_numpy(dtype=float), labels, l2, prior, sample_weight
    )
    return with_weights(config, fitted)


def uncertainty(scores: np.ndarray, threshold: float) -> np.ndarray:
    """How unsure each score is: its distance from the threshold in log-odds (smaller is less
    sure), so 0.39 against a threshold of 0.4 comes before 0.05 or 0.95."""
    clipped = np.clip(np.asarray(scores, dtype=float), 1e-9, 1 - 1e-9)
    edge = min(max(threshold, 1e-9), 1 - 1e-9)
    return np.abs(np.log(clipped / (1 - clipped)) - np.log(edge / (1 - edge)))


def least_sure(signals: pd.DataFrame, config: MatchConfig, count: int) -> np.ndarray:
    """Positions of the ``count`` pairs the weights are least sure of; pairs an identifier
    decides are never asked about."""
    scores = decide(signals, config)["score"].to_numpy()
    open_pairs = signals["identifier"].isna().to_numpy()
    distance = np.where(open_pairs, uncertainty(scores, config.threshold), np.inf)
    order = np.argsort(distance, kind="stable")
    return order[: min(count, int(open_pairs.sum()))]


def identifier_labels(signals: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the pairs identifiers decide, and their answers: free labels for a refit."""
    identifier = signals["identifier"].to_numpy(dtype=object)
    decided = np.flatnonzero(pd.notna(identifier))
    return decided, identifier[decided].astype(bool)


def free_label_weights(answered: int, decided: int) -> np.ndarray:
    """How much each of the ``answered`` owner pairs and ``decided`` identifier pairs counts.

    Pairs identifiers decide are easy ones (a shared GTIN or part number) and can be
    thousands: all of them together count as much as the owner's answers, so they inform the
    code and title weights without telling the bias that most pairs match.
    """
    share = min(1.0, max(answered, 1) / decided) if decided else 1.0
    return np.r_[np.ones(answered), np.full(decided, share)]


@dataclass(frozen=True)
class Candidates:
    """A store's cross-store candidate pairs, scored: positions into ``listings`` and signals."""

    listings: pd.DataFrame
    pairs: np.ndarray  # (n, 2) positions into listings
    signals: pd.DataFrame  # pair_signals, one row per pair
    scores: np.ndarray


def store_candidates(
    listings: pd.DataFrame,
    config: MatchConfig,
    extra_pairs: Sequence[tuple[int, int]] = (),
) -> Candidates:
    """Every pair the matcher would score in ``listings`` (blocked, across stores), plus
    ``extra_pairs`` (positions, e.g. pairs an owner answered about), with their signals."""
    frame = listings.reset_index(drop=True)
    prepared = prepare_listings(frame)
    found = candidate_pairs(prepared, config)
    stores = prepared["store"].astype(object).to_numpy()
    if len(found):
        across = np.array(
            [pd.isna(stores[a]) or stores[a] != stores[b] for a, b in found], dtype=bool
        )
        found = found[across]
    extra = np.array([sorted(p) for p in extra_pairs], dtype=np.int64).reshape(-1, 2)
    pairs = np.unique(np.vstack([found.reshape(-1, 2), extra]), axis=0)
    if not len(pairs):
        empty = pd.DataFrame(columns=[*FEATURES, "identifier"])
        return Candidates(frame, pairs, empty, np.zeros(0))
    signals = pair_signals(
        prepared.iloc[pairs[:, 0]].reset_index(drop=True),
        prepared.iloc[pairs[:, 1]].reset_index(drop=True),
        config,
        title_idf(prepared["_title"]),
    )
    return Candidates(frame, pairs, signals, decide(signals, config)["score"].to_numpy())


def answered_pairs(
    listings: pd.DataFrame, overrides: MatchOverrides
) -> dict[tuple[int, int], bool]:
    """The pairs (positions, smaller first) the owner's matches.toml answers, and the answer."""
    lookup: dict[str, int] = {}
    for column in ("listing_id", "canonical_url", "url"):
        if column in listings.columns:
            for position, value in enumerate(listings[column]):
                if not pd.isna(value):
                    lookup.setdefault(str(value), position)
    answers: dict[tuple[int, int], bool] = {}
    for groups, same in ((overrides.same, True), (overrides.different, False)):
        for group in groups:
            positions = sorted({lookup[name] for name in group if name in lookup})
            for i, a in enumerate(positions):
                for b in positions[i + 1 :]:
                    answers[(a, b)] = same
    return answers


def refit_on_answers(
    candidates: Candidates,
    answers: Mapping[tuple[int, int], bool],
    config: MatchConfig,
    *,
    l2: float = REFIT_PRIOR,
) -> MatchConfig:
    """``config`` refitted on the owner's answers plus the identifier-decided pairs."""
    index = {(int(a), int(b)): k for k, (a, b) in enumerate(candidates.pairs)}
    owner = [(index[pair], label) for pair, label in answers.items() if pair in index]
    decided, decided_labels = identifier_labels(candidates.signals)
    positions = np.r_[np.array([k for k, _ in owner], dtype=np.int64), decided]
    labels = np.r_[np.array([v for _, v in owner], dtype=bool), decided_labels]
    if not len(positions):
        return config
    weights = free_label_weights(len(owner), len(decided))
    return fit_weights(
        candidates.signals.iloc[positions], labels, config, l2=l2, sample_weight=weights
    )
