"""The catalog's [scoring] settings and their defaults, parsed once; problems as key paths.

Every figure the scorer, the badges and the methodology page use is read from the objects
made here (``ScoringConfig`` and its parts), so they cannot disagree. A problem is a
``Problem`` whose ``path`` names the key (``("scoring", "trust", "grade_bounds")``); the
catalog loader maps that path to a line of the file. Standard library only.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

KeyPath = tuple[str | int, ...]

DEFAULT_PRIOR_STRENGTH = 10.0
DEFAULT_MAX_PRICE_AGE_HOURS = 24.0

# Specs read from listing text; a category may bound them (``min_max_user_weight_lb = 300``).
SPEC_NAMES = (
    "max_user_weight_lb", "height_min_in", "height_max_in", "traction_force_lb",
    "waist_min_in", "waist_max_in", "warranty_years",
)  # fmt: skip
SPEC_BOUND_KEYS = tuple(f"{kind}_{name}" for kind in ("min", "max") for name in SPEC_NAMES)

# Trust grade as points on the 0-10 composite component scale, best first.
GRADE_POINTS: dict[str, float] = {"A": 10.0, "B": 7.5, "C": 5.0, "D": 2.5, "F": 0.0}

# Composite weights when the catalog's [scoring.weights] table says nothing (normalised on use).
COMPOSITE_WEIGHTS: dict[str, float] = {
    "rating": 0.35,
    "wilson": 0.2,
    "value": 0.2,
    "volume": 0.1,
    "trust": 0.15,
}

# Weights of the per-review suspicion score, on the log-odds scale. The behavioural part is
# a gradient-boosted tree model (pipelines/trust/model.json) fitted offline by
# `scripts/tune_trust.py` on the YelpChi even-product file with Yelp's filter as the label;
# "behaviour" scales its log-odds (0 turns it off). The scoring never reads a label or an id's
# order. The text / purchase weights (incentivised, repeated_text, unverified, short_five_star,
# single_brand) cannot be fitted on YelpChi (no text, no verified flag, no brand) and are set
# by judgment: each roughly doubles the odds or more.
TRUST_WEIGHTS: dict[str, float] = {
    # trees: ROC AUC 0.815 in-sample, 0.760 +- 0.004 cross-validated by product on YelpChi-even
    # (scripts/tune_trust.py)
    "behaviour": 1.0,
    "intercept": 0.0,
    # judgment weights (features that YelpChi lacks), on 0/1 flags
    "unverified": 0.7,
    "incentivised": 1.5,
    "repeated_text": 1.0,
    "single_brand": 0.5,
    "short_five_star": 0.4,
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a setting: the key path it is at and what is wrong."""

    path: KeyPath
    message: str

    def __str__(self) -> str:
        return f"{key_label(self.path)}: {self.message}"


def key_label(path: KeyPath) -> str:
    """A key path as people write it: ``stores[1].name``, ``scoring.trust.grade_bounds``."""
    label = ""
    for part in path:
        if isinstance(part, int):
            label += f"[{part}]"
        else:
            label = f"{label}.{part}" if label else str(part)
    return label


@dataclass(frozen=True)
class TrustConfig:
    """Every threshold of the trust stage (the catalog's [scoring.trust] table)."""

    # a test counts only with at least this many reviews in the subset and in the rest
    min_subset: int = 5
    min_rest: int = 5
    # two-sided p-value of Welch's t below which a test warns / fails
    warn_p: float = 0.05
    fail_p: float = 0.01
    # and the mean rating gap (stars) it must reach to warn / fail at all
    min_effect: float = 0.25
    # only a subset that lifts the rating fails (ReviewMeta's stance); False: any difference
    inflation_only: bool = True
    # burst day: more than burst_ratio x the product's median daily count, and at least burst_min
    burst_ratio: float = 3.0
    burst_min: int = 4
    # short review: at most this many words (title not counted)
    short_words: int = 8
    # repeated phrasing: word shingles, MinHash bands x rows; texts under min_words are skipped
    shingle_words: int = 3
    minhash_bands: int = 10
    minhash_rows: int = 4
    duplicate_min_words: int = 8
    # a single-brand reviewer has at least this many reviews, all of one brand
    single_brand_min_reviews: int = 2
    # review gating (a store hiding low ratings): ratings at or below gating_low_stars are low;
    # a store is tested with at least gating_min_reviews rated reviews of the product, against
    # the product's other stores when they have gating_min_others rated reviews (one-sided
    # Fisher exact test), else against gating_base_rate, a low share even well-liked products
    # get (one-sided binomial test); it can warn / fail (warn_p / fail_p, Bonferroni over the
    # product's stores) only when its low share is at most gating_max_ratio x the reference
    gating_low_stars: int = 3
    gating_min_reviews: int = 20
    gating_min_others: int = 10
    gating_base_rate: float = 0.05
    gating_max_ratio: float = 0.5
    # trust grade from the share of reviews kept: at least the figure for that grade
    grade_bounds: tuple[tuple[str, float], ...] = (
        ("A", 0.95),
        ("B", 0.85),
        ("C", 0.70),
        ("D", 0.50),
    )  # below the last bound: F
    # suspicion score weights (see TRUST_WEIGHTS)
    weights: dict[str, float] = field(default_factory=lambda: dict(TRUST_WEIGHTS))
    seed: int = 20240607  # MinHash permutations; fixed so runs are reproducible


@dataclass(frozen=True, kw_only=True)
class MatchConfig:
    """Weights and thresholds of the matcher; the catalog's [scoring.matching] table overrides them.

    A pair's score is the logistic of ``bias + sum(weight * signal)`` over the matcher's
    FEATURES; title signals are in [0, 1], the others are 0/1 flags. Weights were fitted on
    the public train splits of Walmart-Amazon (brand, model and price columns) and WDC
    computers (one free-text title) together, and the threshold chosen on their valid splits
    as the best worst F1 with precision >= 0.90 on both (``python benchmarks/matching.py
    --tune``); nothing of an owner's is needed. An owner's answers (``backrank matches
    review``) refit them into matches.toml's [weights] table.
    """

    bias: float = -2.253
    title_token_set: float = -1.179
    title_token_sort: float = -1.294
    title_partial: float = 1.038
    code_strong: float = 2.649
    code_weak: float = 0.732
    code_variant: float = -1.025
    code_disjoint: float = -1.568
    code_extra: float = -2.126
    code_long: float = 0.912
    brand_match: float = -2.925
    brand_conflict: float = -3.903
    price_far: float = 0.454
    price_log_ratio: float = -1.455
    colour_conflict: float = -2.498
    quantity_conflict: float = -1.544
    title_idf_cosine: float = 1.871
    title_idf_coverage: float = 0.688
    title_idf_missing: float = -0.688
    number_overlap: float = 0.964
    title_token_set_squared: float = 0.117
    title_x_code: float = -0.669
    title_sort_x_code: float = 0.017
    idf_cosine_x_code: float = -1.057
    title_x_variant: float = -1.279
    title_x_brand: float = 0.201
    code_suffixed: float = -0.815
    code_for_device: float = -0.382
    colour_one_sided: float = -0.273
    aftermarket_one_sided: float = -1.146
    quantity_agree: float = 0.358
    price_missing: float = -0.246
    title_rarest_shared: float = 4.001
    title_rarest_unshared: float = -1.196
    mpn_in_other: float = 1.511
    threshold: float = 0.5125  # a pair with score >= threshold is the same product
    # Below the threshold, a pair of listings that are each other's best candidate in the
    # other's store, with agreeing brands and no conflicting model code or colour, is still
    # one product if it scores at least this (a store lists a product once: unique mapping).
    # Chosen on the demo marketplace (benchmarks/matching_demo.py --scale 10000), as the
    # Walmart-Amazon pairs never meet this pass.
    mutual_threshold: float = 0.003
    # the highest score a pair of which only one is a compatible, remanufactured or
    # refurbished stand-in can get: below the threshold, so only identifiers or the owner merge it
    stand_in_score: float = 0.25
    price_ratio_limit: float = 2.0  # prices further apart than this ratio are suspicious
    code_variant_similarity: float = 0.7  # normalised Levenshtein above which codes are variants
    candidate_cutoff: float = 60.0  # token_set_ratio a same-block pair needs to be scored at all
    candidates_per_listing: int = 8  # nearest titles per listing in a block that get scored
    max_block_size: int = 100  # larger blocks are compared by sorted neighbourhood instead
    neighbourhood_window: int = 8

    @classmethod
    def from_mapping(cls, table: Mapping[str, Any]) -> MatchConfig:
        """A config from a [scoring.matching] table; a bad key raises ValueError naming it."""
        problems: list[Problem] = []
        config = _figures(cls, table, ("scoring", "matching"), problems, signed=True)
        _raise_first(problems)
        return config


@dataclass(frozen=True, kw_only=True)
class BadgeRules:
    """Who may wear a badge (``min_reviews`` in [scoring], the rest in [scoring.badges])."""

    # a product needs at least this many reviews (and to be in stock with a price)
    min_reviews: int = 10
    # "best in" and "best budget" only where this many products compete in the subcategory
    min_contenders: int = 2
    # "most trusted" only for these trust grades
    trusted_grades: tuple[str, ...] = ("A", "B")


@dataclass(frozen=True, kw_only=True)
class PriceRules:
    """When a price counts as current and as a good price ([scoring.prices], [site])."""

    # a snapshot older than this (hours before `now`) is not a current price ([site])
    max_age_hours: float = DEFAULT_MAX_PRICE_AGE_HOURS
    # a good price is at most this share above the recorded low ...
    good_within: Decimal = Decimal("0.05")
    # ... on a history spanning at least this many days (short history says nothing)
    min_history_days: int = 35


@dataclass(frozen=True, kw_only=True)
class AspectOverride:
    """One [scoring.aspects] entry: new keywords (None keeps the default's), label, extras."""

    name: str
    label: str | None = None
    keywords: tuple[str, ...] | None = None
    extra_keywords: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class SpecBounds:
    """Spec bounds of a category: ``{"max_user_weight_lb": 300.0}`` as minimums, maximums."""

    minimums: dict[str, float] = field(default_factory=dict)
    maximums: dict[str, float] = field(default_factory=dict)


def _normalised(weights: Mapping[str, float]) -> dict[str, float]:
    total = sum(weights.values())
    return {key: value / total for key, value in weights.items()}


@dataclass(frozen=True, kw_only=True)
class ScoringConfig:
    """The catalog's [scoring] table, parsed; ``raw`` keeps it as written (for the page)."""

    prior_strength: float = DEFAULT_PRIOR_STRENGTH
    weights: dict[str, float] = field(default_factory=lambda: _normalised(COMPOSITE_WEIGHTS))
    trust: TrustConfig = field(default_factory=TrustConfig)
    matching: MatchConfig = field(default_factory=MatchConfig)
    badges: BadgeRules = field(default_factory=BadgeRules)
    prices: PriceRules = field(default_factory=PriceRules)
    aspects: tuple[AspectOverride, ...] = ()
    subcategory_specs: dict[str, SpecBounds] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def min_reviews(self) -> int:
        """Reviews a product needs to wear a badge."""
        return self.badges.min_reviews


SCORING_TABLES = ("weights", "trust", "matching", "badges", "prices", "aspects",
                  "subcategory_specs")  # fmt: skip


def parse_scoring(
    table: Mapping[str, Any],
    *,
    category_slugs: Iterable[str] | None = None,
    max_price_age_hours: float = DEFAULT_MAX_PRICE_AGE_HOURS,
) -> tuple[ScoringConfig, list[Problem]]:
    """The [scoring] table as a ScoringConfig, and every problem in it.

    ``category_slugs`` (the catalog's categories) checks [scoring.subcategory_specs];
    ``max_price_age_hours`` is the [site] figure the price rules use. A key with a problem
    keeps its default. Keys of [scoring] not listed here are kept in ``raw`` only.
    """
    problems: list[Problem] = []
    path: KeyPath = ("scoring",)
    sub = {name: _subtable(table, name, problems) for name in SCORING_TABLES}
    default_prior = field_default(ScoringConfig, "prior_strength")
    prior = _setting(table, "prior_strength", "number", path, problems, default_prior)
    badges = _badges(table, sub["badges"], problems)
    config = ScoringConfig(
        prior_strength=float(prior),
        weights=_composite_weights(sub["weights"], problems),
        trust=_trust(sub["trust"], problems),
        matching=_figures(MatchConfig, sub["matching"], (*path, "matching"), problems, signed=True),
        badges=badges,
        prices=_prices(sub["prices"], max_price_age_hours, problems),
        aspects=_aspects(sub["aspects"], problems),
        subcategory_specs=_subcategory_specs(sub["subcategory_specs"], category_slugs, problems),
        raw=dict(table),
    )
    return config, problems


def scoring_config(
    table: Mapping[str, Any],
    *,
    category_slugs: Iterable[str] | None = None,
    max_price_age_hours: float = DEFAULT_MAX_PRICE_AGE_HOURS,
) -> ScoringConfig:
    """``parse_scoring`` for a table that did not come from a catalog file: ValueError
    ("scoring.trust.warn_p: must be a number ...") on the first problem."""
    config, problems = parse_scoring(
        table, category_slugs=category_slugs, max_price_age_hours=max_price_age_hours
    )
    _raise_first(problems)
    return config


def _raise_first(problems: list[Problem]) -> None:
    if problems:
        raise ValueError(str(problems[0]))


# --- value checks shared with the catalog loader ---------------------------------------


def is_http_url(value: str) -> bool:
    """True for an http(s) URL with a host."""
    try:
        parts = urlsplit(value)
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # "http://[::1" and other URLs urllib cannot split
        return False


def type_name(value: Any) -> str:
    """What a TOML value is, for messages: "a string", "an integer", "a list"."""
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}.get(
        type(value), f"a {type(value).__name__}"
    )


def type_problem(value: Any, kind: str) -> str | None:
    """What is wrong with ``value`` as a ``kind`` (str, bool, int, number, url, strings, urls,
    signed), or None. Numbers are finite and, but for ``signed``, not negative."""
    got = f"(got {type_name(value)})"
    if kind == "str" and not isinstance(value, str):
        return f"must be a string {got}"
    if kind == "bool" and not isinstance(value, bool):
        return f"must be true or false {got}"
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            return f"must be an integer {got}"
        if value < 0:
            return f"must not be negative (got {value})"
    if kind in ("number", "signed"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"must be a number {got}"
        if not math.isfinite(value):
            return f"must be a finite number (got {value})"
        if kind == "number" and value < 0:
            return f"must not be negative (got {value})"
    if kind == "url":
        if not isinstance(value, str):
            return f"must be a string {got}"
        if not is_http_url(value):
            return f'must be an http(s) URL (got "{value}")'
    if kind in ("strings", "urls"):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return f"must be a list of strings {got}"
        if kind == "urls":
            for item in value:
                if not is_http_url(item):
                    return f'must hold http(s) URLs (got "{item}")'
    return None


def unknown_key(key: str, known: Iterable[str]) -> str:
    """The message for a key that is not one of ``known``, with the closest as a hint."""
    close = difflib.get_close_matches(str(key), list(known), n=1)
    return f"unknown key (did you mean {close[0]}?)" if close else "unknown key"


def field_default(cls: type, name: str) -> Any:
    """The default of dataclass field ``name``: the one place a default is written."""
    for item in fields(cls):
        if item.name == name:
            if item.default is not MISSING:
                return item.default
            if item.default_factory is not MISSING:
                return item.default_factory()
    raise KeyError(name)


def value_problem(
    value: Any, kind: str, check: Callable[[Any], str | None] | None = None
) -> str | None:
    """What is wrong with a setting's ``value``: not a ``kind`` (``type_problem``), or what
    ``check`` says of it; None when nothing is."""
    problem = type_problem(value, kind)
    if problem is None and check is not None:
        problem = check(value)
    return problem


def _setting(
    table: Mapping[str, Any],
    key: str,
    kind: str,
    path: KeyPath,
    problems: list[Problem],
    default: Any,
    check: Callable[[Any], str | None] | None = None,
) -> Any:
    """``table[key]`` if it is a good ``kind`` (and passes ``check``), else ``default``."""
    if key not in table:
        return default
    value = table[key]
    problem = value_problem(value, kind, check)
    if problem is not None:
        problems.append(Problem((*path, key), problem))
        return default
    return value


def _at_least(minimum: float) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if value >= minimum else f"must be at least {minimum:g} (got {value})"

    return check


def _subtable(table: Mapping[str, Any], name: str, problems: list[Problem]) -> Mapping[str, Any]:
    value = table.get(name, {})
    if isinstance(value, Mapping):
        return value
    problems.append(Problem(("scoring", name), f"must be a table (got {type_name(value)})"))
    return {}


def _unknown(
    table: Mapping[str, Any], known: Iterable[str], path: KeyPath, problems: list[Problem]
) -> None:
    known = list(known)
    for key in table:
        if key not in known:
            problems.append(Problem((*path, key), unknown_key(key, known)))


# --- the [scoring] sub-tables -----------------------------------------------------------


def _composite_weights(table: Mapping[str, Any], problems: list[Problem]) -> dict[str, float]:
    """Composite weights: a key given replaces its default, 0 drops a component."""
    path: KeyPath = ("scoring", "weights")
    weights = dict(COMPOSITE_WEIGHTS)
    for key in table:
        if key not in COMPOSITE_WEIGHTS:
            known = ", ".join(COMPOSITE_WEIGHTS)
            problems.append(Problem((*path, key), f"unknown weight (known: {known})"))
            continue
        weights[key] = float(_setting(table, key, "number", path, problems, weights[key]))
    if sum(weights.values()) <= 0:
        problems.append(Problem(path, "at least one weight must be above 0"))
        weights = dict(COMPOSITE_WEIGHTS)
    return _normalised(weights)


def _figures(
    cls: type,
    table: Mapping[str, Any],
    path: KeyPath,
    problems: list[Problem],
    signed: bool,
    other_keys: tuple[str, ...] = (),
) -> Any:
    """A dataclass of numbers and flags from a table of the same keys: flags take booleans,
    whole-number fields whole numbers (never negative), the rest numbers (negative only if
    ``signed``). ``other_keys`` are known keys the caller reads itself."""
    numeric = {f.name: field_default(cls, f.name) for f in fields(cls)}
    numeric = {k: v for k, v in numeric.items() if isinstance(v, int | float)}
    _unknown(table, [*numeric, *other_keys], path, problems)
    values: dict[str, Any] = {}
    for key in table:
        if key not in numeric:
            continue
        default = numeric[key]
        if isinstance(default, bool):
            values[key] = _setting(table, key, "bool", path, problems, default)
            continue
        whole = isinstance(default, int)
        kind = "signed" if signed and not whole else "number"
        chosen = _setting(table, key, kind, path, problems, default)
        if whole and chosen != int(chosen):
            problems.append(Problem((*path, key), f"must be a whole number (got {chosen})"))
            chosen = default
        values[key] = type(default)(chosen)
    return cls(**values)


def _trust(table: Mapping[str, Any], problems: list[Problem]) -> TrustConfig:
    path: KeyPath = ("scoring", "trust")
    config = _figures(
        TrustConfig, table, path, problems, signed=False, other_keys=("weights", "grade_bounds")
    )
    extra: dict[str, Any] = {}
    if "weights" in table:
        extra["weights"] = _trust_weights(table["weights"], problems)
    if "grade_bounds" in table:
        bounds = _grade_bounds(table["grade_bounds"], problems)
        if bounds is not None:
            extra["grade_bounds"] = bounds
    config = TrustConfig(**{**config.__dict__, **extra})
    if not 0 < config.fail_p <= config.warn_p < 1:
        problems.append(Problem((*path, "fail_p"), "need 0 < fail_p <= warn_p < 1"))
        config = TrustConfig(**{**config.__dict__, "fail_p": TrustConfig.fail_p,
                                "warn_p": TrustConfig.warn_p})  # fmt: skip
    if not 0 < config.gating_base_rate < 1:
        problems.append(Problem((*path, "gating_base_rate"), "must be between 0 and 1"))
        config = TrustConfig(
            **{**config.__dict__, "gating_base_rate": TrustConfig.gating_base_rate}
        )
    return config


def _trust_weights(value: Any, problems: list[Problem]) -> dict[str, float]:
    path: KeyPath = ("scoring", "trust", "weights")
    if not isinstance(value, Mapping):
        problems.append(Problem(path, f"must be a table (got {type_name(value)})"))
        return dict(TRUST_WEIGHTS)
    weights = dict(TRUST_WEIGHTS)
    for key in value:
        if key not in TRUST_WEIGHTS:
            known = ", ".join(TRUST_WEIGHTS)
            problems.append(Problem((*path, key), f"unknown weight (known: {known})"))
        else:
            weights[key] = float(_setting(value, key, "signed", path, problems, weights[key]))
    return weights


def _grade_bounds(value: Any, problems: list[Problem]) -> tuple[tuple[str, float], ...] | None:
    """``[["A", 0.95], ["B", 0.85], ...]``: grades best first, shares falling; None if bad."""
    path: KeyPath = ("scoring", "trust", "grade_bounds")
    entries = value if isinstance(value, list) and value else [None]
    bounds = []
    for entry in entries:
        if (
            not isinstance(entry, list)
            or len(entry) != 2
            or entry[0] not in GRADE_POINTS
            or entry[0] == "F"
            or type_problem(entry[1], "number") is not None
            or not 0 <= entry[1] <= 1
        ):
            problems.append(
                Problem(path, 'must be a list of [grade, share] pairs like ["A", 0.95]')
            )
            return None
        bounds.append((entry[0], float(entry[1])))
    shares = [share for _, share in bounds]
    grades = [grade for grade, _ in bounds]
    if shares != sorted(shares, reverse=True) or grades != sorted(set(grades)):
        problems.append(Problem(path, "must go from the best grade down, shares falling"))
        return None
    return tuple(bounds)


def _badges(
    scoring: Mapping[str, Any], table: Mapping[str, Any], problems: list[Problem]
) -> BadgeRules:
    path: KeyPath = ("scoring", "badges")
    _unknown(table, ("min_contenders", "trusted_grades"), path, problems)
    default = BadgeRules()
    grades = _setting(table, "trusted_grades", "strings", path, problems, default.trusted_grades)
    unknown = [grade for grade in grades if grade not in GRADE_POINTS]
    if unknown:
        known = ", ".join(GRADE_POINTS)
        problems.append(
            Problem((*path, "trusted_grades"), f'unknown grade "{unknown[0]}" (known: {known})')
        )
        grades = default.trusted_grades
    return BadgeRules(
        min_reviews=_setting(scoring, "min_reviews", "int", ("scoring",), problems,
                             default.min_reviews),
        min_contenders=_setting(table, "min_contenders", "int", path, problems,
                                default.min_contenders, _at_least(1)),
        trusted_grades=tuple(grades),
    )  # fmt: skip


def _prices(table: Mapping[str, Any], max_age_hours: float, problems: list[Problem]) -> PriceRules:
    path: KeyPath = ("scoring", "prices")
    _unknown(table, ("good_within", "min_history_days"), path, problems)
    default = PriceRules()
    good_within = _setting(table, "good_within", "number", path, problems, default.good_within)
    return PriceRules(
        max_age_hours=float(max_age_hours),
        good_within=Decimal(str(good_within)),
        min_history_days=_setting(
            table, "min_history_days", "int", path, problems, default.min_history_days
        ),
    )


def _aspects(table: Mapping[str, Any], problems: list[Problem]) -> tuple[AspectOverride, ...]:
    """Each entry: a list of keywords (replacing the aspect's, or a new aspect; empty drops
    it) or a table ``{label = "...", keywords = [...], extra_keywords = [...]}``."""
    overrides = []
    for name, entry in table.items():
        path: KeyPath = ("scoring", "aspects", name)
        if isinstance(entry, list):
            keywords = _setting(table, name, "strings", path[:-1], problems, None)
            if keywords is not None:
                overrides.append(AspectOverride(name=name, keywords=_kept(keywords)))
        elif isinstance(entry, Mapping):
            before = len(problems)
            _unknown(entry, ("label", "keywords", "extra_keywords"), path, problems)
            label = _setting(entry, "label", "str", path, problems, None)
            if label is not None and not label.strip():
                problems.append(Problem((*path, "label"), "must not be empty"))
            keywords = _setting(entry, "keywords", "strings", path, problems, None)
            extra = _setting(entry, "extra_keywords", "strings", path, problems, ())
            if len(problems) == before:
                overrides.append(
                    AspectOverride(
                        name=name,
                        label=label.strip() if label else None,
                        keywords=None if keywords is None else _kept(keywords),
                        extra_keywords=_kept(extra),
                    )
                )
        else:
            problems.append(
                Problem(path, f"must be a list of keywords or a table (got {type_name(entry)})")
            )
    return tuple(overrides)


def _kept(keywords: Iterable[str]) -> tuple[str, ...]:
    return tuple(keyword for keyword in keywords if keyword.strip())


_BOUND_KEY = re.compile(rf"(min|max)_({'|'.join(SPEC_NAMES)})")


def spec_bounds(entry: Mapping[str, Any], path: KeyPath, problems: list[Problem]) -> SpecBounds:
    """The ``min_<spec>``/``max_<spec>`` keys of one table as bounds (other keys ignored)."""
    bounds = SpecBounds()
    for key in entry:
        match = _BOUND_KEY.fullmatch(str(key))
        if match is not None:
            value = _setting(entry, key, "number", path, problems, None)
            if value is not None:
                (bounds.minimums if match[1] == "min" else bounds.maximums)[match[2]] = float(value)
    return bounds


def _subcategory_specs(
    table: Mapping[str, Any], category_slugs: Iterable[str] | None, problems: list[Problem]
) -> dict[str, SpecBounds]:
    """``[scoring.subcategory_specs.<slug>]`` spec bounds per category slug."""
    slugs = None if category_slugs is None else set(category_slugs)
    result: dict[str, SpecBounds] = {}
    for slug, entry in table.items():
        path: KeyPath = ("scoring", "subcategory_specs", slug)
        if slugs is not None and slug not in slugs:
            problems.append(Problem(path, "no category has this slug"))
        elif not isinstance(entry, Mapping):
            problems.append(Problem(path, f"must be a table (got {type_name(entry)})"))
        else:
            _unknown(entry, SPEC_BOUND_KEYS, path, problems)
            result[slug] = spec_bounds(entry, path, problems)
    return result
