"""The [scoring] table read once into every scoring step's settings (ValueError names a bad key)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from pipelines.aspects import AspectRule, aspect_lexicon
from pipelines.badges import BadgeRules
from pipelines.categories import CategoryRuleLike
from pipelines.matching import MatchConfig
from pipelines.prices import PriceRules
from pipelines.scores import scoring_weights
from pipelines.sentiment import SENTIMENT_VERSION
from pipelines.subcategories import SubcategoryRule, subcategory_rules
from pipelines.trust.config import DEFAULT_WEIGHTS as TRUST_WEIGHTS
from pipelines.trust.config import TrustConfig

DEFAULT_PRIOR_STRENGTH = 10.0
# Bump when a per-product step (trust, specs, pros and cons) changes what it computes, so
# results stored by an older version are rescored instead of reused.
SCORING_VERSION = "backrank-scoring-2"  # 2: boosted-tree suspicion model


def trust_config(table: Mapping[str, Any]) -> TrustConfig:
    """TrustConfig from a [scoring.trust] table; unknown keys and bad values raise ValueError."""
    if not isinstance(table, Mapping):
        raise TypeError("scoring.trust: must be a table")
    default = TrustConfig()
    known = {f.name for f in fields(TrustConfig)}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ValueError(f"scoring.trust.{unknown[0]}: unknown key")
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key == "weights":
            values[key] = _trust_weights(value)
        elif key == "grade_bounds":
            values[key] = _grade_bounds(value)
        else:
            kind = type(getattr(default, key))
            if kind is bool:
                if not isinstance(value, bool):
                    raise ValueError(f"scoring.trust.{key}: must be true or false")
                values[key] = value
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"scoring.trust.{key}: must be a number (got {value!r})")
            if kind is int and value != int(value):
                raise ValueError(f"scoring.trust.{key}: must be a whole number (got {value!r})")
            if value < 0:
                raise ValueError(f"scoring.trust.{key}: must not be negative (got {value!r})")
            values[key] = kind(value)
    config = TrustConfig(**values)
    if not 0 < config.fail_p <= config.warn_p < 1:
        raise ValueError("scoring.trust.fail_p: need 0 < fail_p <= warn_p < 1")
    return config


def _trust_weights(value: Any) -> dict[str, float]:
    if not isinstance(value, Mapping):
        raise TypeError("scoring.trust.weights: must be a table")
    unknown = sorted(set(value) - set(TRUST_WEIGHTS))
    if unknown:
        raise ValueError(f"scoring.trust.weights.{unknown[0]}: unknown weight")
    for key, weight in value.items():
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            raise TypeError(f"scoring.trust.weights.{key}: must be a number (got {weight!r})")
    return TRUST_WEIGHTS | {key: float(weight) for key, weight in value.items()}


def _grade_bounds(value: Any) -> tuple[tuple[str, float], ...]:
    """``[["A", 0.95], ["B", 0.85], ...]``: grades best first, shares falling."""
    bounds = []
    for entry in value if isinstance(value, list) else [None]:
        if (
            not isinstance(entry, list)
            or len(entry) != 2
            or not isinstance(entry[0], str)
            or isinstance(entry[1], bool)
            or not isinstance(entry[1], int | float)
            or not 0 <= entry[1] <= 1
        ):
            raise ValueError('scoring.trust.grade_bounds: must be a list of ["A", 0.95] pairs')
        bounds.append((entry[0], float(entry[1])))
    shares = [share for _, share in bounds]
    if shares != sorted(shares, reverse=True):
        raise ValueError("scoring.trust.grade_bounds: shares must fall from the best grade")
    return tuple(bounds)


def match_config(table: Mapping[str, Any]) -> MatchConfig:
    """MatchConfig from a [scoring.matching] table."""
    if not isinstance(table, Mapping):
        raise TypeError("scoring.matching: must be a table")
    try:
        return MatchConfig.from_mapping(table)
    except (TypeError, ValueError) as error:
        raise ValueError(f"scoring.matching: {error}") from error


def _subtable(name: str, parse: Callable[[Mapping[str, Any]], Any]) -> Callable[[Mapping], Any]:
    return lambda raw: parse(raw.get(name, {}) if isinstance(raw, Mapping) else {})


# One parser per [scoring] sub-table, so catalog validation can point at the failing table.
SUBTABLE_PARSERS: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "weights": scoring_weights,
    "matching": _subtable("matching", match_config),
    "trust": _subtable("trust", trust_config),
    "aspects": aspect_lexicon,
    "badges": BadgeRules.from_scoring,
    "prices": PriceRules.from_scoring,
}


def scoring_problems(
    raw: Mapping[str, Any], categories: Iterable[CategoryRuleLike] = ()
) -> list[tuple[str, str]]:
    """``(sub-table, message)`` for every [scoring] sub-table the scoring steps reject."""
    problems = []
    parsers: dict[str, Callable[[Mapping[str, Any]], Any]] = dict(SUBTABLE_PARSERS)
    parsers["subcategory_specs"] = lambda scoring: subcategory_rules(categories, scoring)
    for name, parse in parsers.items():
        if name not in raw:
            continue
        try:
            parse(raw)
        except (TypeError, ValueError) as error:
            problems.append((name, str(error)))
    return problems


@dataclass(frozen=True, kw_only=True)
class ScoringSettings:
    """Everything the scoring chain reads from the catalog, parsed and checked once."""

    prior_strength: float
    weights: dict[str, float]
    matching: MatchConfig
    trust: TrustConfig
    lexicon: dict[str, AspectRule]
    badges: BadgeRules
    prices: PriceRules
    subcategories: tuple[SubcategoryRule, ...]
    fingerprint: str  # changes whenever any setting a per-product result depends on changes

    @classmethod
    def from_scoring(
        cls,
        raw: Mapping[str, Any],
        *,
        categories: Iterable[CategoryRuleLike],
        prior_strength: float | None = None,
        max_price_age_hours: float = 24.0,
    ) -> ScoringSettings:
        """Settings from the raw [scoring] table (``catalog.scoring.raw``) and the categories."""
        raw = dict(raw or {})
        strength = prior_strength if prior_strength is not None else raw.get("prior_strength")
        strength = DEFAULT_PRIOR_STRENGTH if strength is None else float(strength)
        if strength < 0:
            raise ValueError(f"scoring.prior_strength: must not be negative (got {strength})")
        rules = tuple(subcategory_rules(categories, raw))
        # Per-product results (trust, specs, pros and cons) depend on these alone; weights,
        # priors, badges and prices feed the cross-product steps every run recomputes.
        described = {
            "trust": raw.get("trust", {}),
            "aspects": raw.get("aspects", {}),
            "versions": [SCORING_VERSION, SENTIMENT_VERSION],
        }
        digest = hashlib.sha1(
            json.dumps(described, sort_keys=True, default=str).encode("utf-8")
        ).hexdigest()
        return cls(
            prior_strength=strength,
            weights=scoring_weights(raw),
            matching=SUBTABLE_PARSERS["matching"](raw),
            trust=SUBTABLE_PARSERS["trust"](raw),
            lexicon=aspect_lexicon(raw),
            badges=BadgeRules.from_scoring(raw),
            prices=PriceRules.from_scoring(raw, max_price_age_hours),
            subcategories=rules,
            fingerprint=digest[:16],
        )

    def thresholds(self) -> dict[str, Any]:
        """The figures a reader of the methodology page needs, as plain values."""
        trust = {
            f.name: getattr(self.trust, f.name) for f in fields(TrustConfig) if f.name != "weights"
        }
        return {
            "prior_strength": self.prior_strength,
            "match_threshold": self.matching.threshold,
            "trust": trust,
            "badges": {
                "min_reviews": self.badges.min_reviews,
                "min_contenders": self.badges.min_contenders,
                "trusted_grades": list(self.badges.trusted_grades),
            },
            "prices": {
                "max_age_hours": self.prices.max_age_hours,
                "good_within": str(self.prices.good_within),
                "min_history_days": self.prices.min_history_days,
            },
        }
