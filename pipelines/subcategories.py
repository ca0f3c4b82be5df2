"""Assign each product a subcategory slug from catalog rules: title keywords plus spec conditions."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from backrank.core.settings import SpecBounds
from pipelines.categories import OTHER, CategoryRuleLike, fold_text


@dataclass(frozen=True, kw_only=True)
class SubcategoryRule:
    """A subcategory: keywords (any one must appear) and spec bounds (all must hold).

    ``minimums``/``maximums`` map a spec name to a bound; a product whose spec is unknown
    does not meet a bound (a heavy-duty claim needs a stated capacity).
    """

    name: str
    slug: str
    keywords: tuple[str, ...] = ()
    minimums: dict[str, float] = field(default_factory=dict)
    maximums: dict[str, float] = field(default_factory=dict)


def subcategory_rules(
    categories: Iterable[CategoryRuleLike], specs: Mapping[str, SpecBounds] | None = None
) -> list[SubcategoryRule]:
    """The catalog's category rules with spec bounds attached, in catalog order.

    Bounds come from the ``[[categories]]`` entry itself (``min_max_user_weight_lb = 300``;
    a rule object carrying ``minimums``/``maximums``) and from
    ``[scoring.subcategory_specs.<slug>]`` (``ScoringConfig.subcategory_specs``), which wins.
    """
    specs = specs or {}
    rules = []
    for rule in categories:
        extra = specs.get(rule.slug, SpecBounds())
        rules.append(
            SubcategoryRule(
                name=rule.name,
                slug=rule.slug,
                keywords=tuple(rule.keywords),
                minimums=dict(getattr(rule, "minimums", {}) or {}) | extra.minimums,
                maximums=dict(getattr(rule, "maximums", {}) or {}) | extra.maximums,
            )
        )
    return rules


def _keyword_mask(text: pd.Series, keywords: Iterable[str]) -> np.ndarray:
    """True where a keyword appears at a word start (so "inversion table" matches "tables")."""
    folded = [re.sub(r"[\W_]+", " ", kw.casefold()).strip() for kw in keywords]
    alternatives = [re.escape(kw) for kw in folded if kw]
    if not alternatives:
        return np.ones(len(text), dtype=bool)
    pattern = f" (?:{'|'.join(alternatives)})"
    return text.str.contains(pattern, regex=True).to_numpy(dtype=bool, copy=True)


def _spec_values(specs: pd.Series, name: str) -> np.ndarray:
    """Each product's value of spec ``name`` as float, NaN when unknown."""
    values = [
        s[name]["value"]
        if isinstance(s, dict)
        and isinstance(s.get(name), dict)
        and s[name].get("value") is not None
        else np.nan
        for s in specs
    ]
    return np.asarray(values, dtype=float)


def assign_subcategory(
    products: pd.DataFrame,
    rules: Iterable[SubcategoryRule | CategoryRuleLike],
    specs: pd.DataFrame,
    *,
    text_column: str = "name",
) -> pd.DataFrame:
    """Add ``subcategory``: the slug of the first rule whose keywords and spec bounds all hold.

    ``specs`` is ``product_specs(...)`` output (``[product_id, specs]``); products no rule
    takes get ``"other"``. Plain category rules (no bounds) work too.
    """
    text = fold_text(products[text_column]) if len(products) else pd.Series(dtype=str)
    by_product = specs.set_index("product_id")["specs"] if len(specs) else pd.Series(dtype=object)
    product_specs = products["product_id"].map(by_product)
    conditions, slugs = [], []
    for rule in rules:
        mask = _keyword_mask(text, rule.keywords)
        for name, bound in (getattr(rule, "minimums", None) or {}).items():
            mask &= _spec_values(product_specs, name) >= bound  # NaN (unknown) fails
        for name, bound in (getattr(rule, "maximums", None) or {}).items():
            mask &= _spec_values(product_specs, name) <= bound
        if rule.keywords or getattr(rule, "minimums", None) or getattr(rule, "maximums", None):
            conditions.append(mask)
            slugs.append(rule.slug)
    subcategory = np.select(conditions, slugs, default=OTHER) if conditions else OTHER
    return products.assign(subcategory=pd.Series(subcategory, index=products.index, dtype=object))
