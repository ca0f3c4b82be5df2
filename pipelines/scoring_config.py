"""What the scoring chain reads from the catalog's [scoring] settings, built once per run."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from backrank.core.settings import (
    BadgeRules,
    MatchConfig,
    PriceRules,
    ScoringConfig,
    TrustConfig,
    scoring_config,
)
from pipelines.aspects import AspectRule, aspect_lexicon
from pipelines.categories import CategoryRuleLike
from pipelines.sentiment import SENTIMENT_VERSION
from pipelines.subcategories import SubcategoryRule, subcategory_rules

# Bump when a per-product step (trust, specs, pros and cons) changes what it computes, so
# results stored by an older version are rescored instead of reused.
SCORING_VERSION = "backrank-scoring-2"  # 2: boosted-tree suspicion model


@dataclass(frozen=True, kw_only=True)
class ScoringSettings:
    """The catalog's ScoringConfig with what the chain derives from it: the aspect lexicon,
    the subcategory rules and a fingerprint of the per-product settings."""

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
    def from_config(
        cls, config: ScoringConfig, *, categories: Iterable[CategoryRuleLike]
    ) -> ScoringSettings:
        """Settings from the catalog's parsed [scoring] table (``catalog.scoring``)."""
        raw = config.raw
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
            prior_strength=config.prior_strength,
            weights=config.weights,
            matching=config.matching,
            trust=config.trust,
            lexicon=aspect_lexicon(config.aspects),
            badges=config.badges,
            prices=config.prices,
            subcategories=tuple(subcategory_rules(categories, config.subcategory_specs)),
            fingerprint=digest[:16],
        )

    @classmethod
    def from_scoring(
        cls,
        scoring: ScoringConfig | Mapping[str, Any] | None,
        *,
        categories: Iterable[CategoryRuleLike],
        max_price_age_hours: float | None = None,
    ) -> ScoringSettings:
        """Settings from ``catalog.scoring``, or from a raw [scoring] table (parsed here;
        ValueError names the first bad key). ``max_price_age_hours`` overrides the config's."""
        categories = tuple(categories)
        if not isinstance(scoring, ScoringConfig):
            scoring = scoring_config(
                dict(scoring or {}),
                category_slugs=[rule.slug for rule in categories],
                max_price_age_hours=(
                    PriceRules().max_age_hours
                    if max_price_age_hours is None
                    else max_price_age_hours
                ),
            )
        elif max_price_age_hours is not None:
            prices = replace(scoring.prices, max_age_hours=float(max_price_age_hours))
            scoring = replace(scoring, prices=prices)
        return cls.from_config(scoring, categories=categories)

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
