"""The methodology page's figures, read from the scoring config and the last run's summary."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from backrank.core import amazon_rules
from backrank.core.config import Catalog
from reports import values

TRUST_THRESHOLD_LABELS = {
    "min_subset": "Reviews needed in a subset for a test to count",
    "min_rest": "Reviews needed outside the subset",
    "warn_p": "p-value below which a test warns",
    "fail_p": "p-value below which a test fails",
    "min_effect": "Smallest rating gap (stars) that can warn or fail",
    "inflation_only": "Only subsets that raise the rating fail",
    "burst_ratio": "Burst day: times the median daily review count",
    "burst_min": "Burst day: at least this many reviews",
    "short_words": "Short review: at most this many words",
    "duplicate_min_words": "Repeated-text check: reviews of at least this many words",
    "single_brand_min_reviews": "Single-brand reviewer: at least this many reviews",
    "gating_low_stars": "Review gating: a rating at or below this many stars is low",
    "gating_min_reviews": "Review gating: rated reviews a store needs to be tested",
    "gating_min_others": "Review gating: rated reviews at other stores to compare with",
    "gating_base_rate": "Review gating: share of low ratings expected of any product, "
    "when other stores have too few",
    "gating_max_ratio": "Review gating: a store's low share must be at most this times the "
    "reference to warn or fail",
}


@dataclass(frozen=True, kw_only=True)
class Setting:
    """One named figure as shown on the page."""

    name: str
    value: str


@dataclass(frozen=True, kw_only=True)
class Methodology:
    prior_strength: str
    min_reviews: str
    weights: tuple[Setting, ...]
    trust_thresholds: tuple[Setting, ...]
    grade_bounds: tuple[Setting, ...]
    sensitivity: tuple[Setting, ...]
    other_settings: tuple[Setting, ...]
    summary_run: str | None
    amazon: bool = False  # an Amazon program is configured: its data is shown, not analysed


def shown(value: Any) -> str:
    """A config value for people: numbers without float noise, booleans as yes/no."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return ", ".join(shown(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {shown(v)}" for k, v in value.items())
    return "—" if values.missing(value) else str(value)


def flatten(table: Mapping[str, Any], prefix: str = "") -> tuple[Setting, ...]:
    """Nested tables as ``a.b = value`` rows, in key order."""
    rows: list[Setting] = []
    for key in sorted(table, key=str):
        value = table[key]
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows.extend(flatten(value, f"{name}."))
        else:
            rows.append(Setting(name=name, value=shown(value)))
    return tuple(rows)


def methodology(catalog: Catalog, summary: Mapping[str, Any] | None) -> Methodology:
    """Every figure the ranking uses, from the objects the scoring reads (``catalog.scoring``)."""
    scoring = catalog.scoring
    raw = dict(scoring.raw)
    summary = dict(summary or {})
    # the run's weights; before any run, the catalog's as the scoring will use them (summing to 1)
    configured = scoring.weights if "weights" in raw else {}
    weights = values.mapping(summary.get("weights")) or dict(configured)
    trust = scoring.trust
    thresholds = tuple(
        Setting(name=label, value=shown(getattr(trust, name)))
        for name, label in TRUST_THRESHOLD_LABELS.items()
    )
    bounds = tuple(
        Setting(name=grade, value=f"at least {share:.0%} of reviews kept")
        for grade, share in trust.grade_bounds
    ) + (Setting(name="F", value=f"under {trust.grade_bounds[-1][1]:.0%} kept"),)
    shown_keys = {"weights", "trust", "prior_strength", "min_reviews"}
    others = flatten({k: v for k, v in raw.items() if k not in shown_keys})
    extra_summary = {
        k: v for k, v in summary.items() if k not in ("weights", "sensitivity", "run_id")
    }
    return Methodology(
        prior_strength=shown(scoring.prior_strength),
        min_reviews=shown(scoring.badges.min_reviews),
        weights=flatten(weights),
        trust_thresholds=thresholds,
        grade_bounds=bounds,
        sensitivity=flatten(values.mapping(summary.get("sensitivity")))
        if isinstance(summary.get("sensitivity"), dict)
        else (
            (Setting(name="sensitivity", value=shown(summary["sensitivity"])),)
            if "sensitivity" in summary
            else ()
        ),
        other_settings=others + flatten(extra_summary, "run."),
        summary_run=values.text(summary.get("run_id")),
        amazon=amazon_rules.program_configured(catalog),
    )
