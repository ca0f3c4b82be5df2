"""Assign each product a category slug from the catalog's keyword rules."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Protocol

import numpy as np
import pandas as pd

OTHER = "other"


class CategoryRuleLike(Protocol):
    """What a rule needs (``backrank.core.config.CategoryRule`` has it)."""

    name: str
    slug: str
    keywords: Iterable[str]


def fold_text(text: pd.Series) -> pd.Series:
    """Casefolded text with every run of non-letters/digits as one space, padded by spaces."""
    folded = text.fillna("").astype(str).str.casefold()
    return " " + folded.str.replace(r"[\W_]+", " ", regex=True).str.strip() + " "


def _keyword_pattern(keywords: Iterable[str]) -> str | None:
    """Regex matching any keyword at a word start (so "inversion table" matches "tables")."""
    folded = [re.sub(r"[\W_]+", " ", kw.casefold()).strip() for kw in keywords]
    alternatives = [re.escape(kw) for kw in folded if kw]
    return f" (?:{'|'.join(alternatives)})" if alternatives else None


def assign_category(
    products: pd.DataFrame, rules: Iterable[CategoryRuleLike], *, text_column: str = "name"
) -> pd.DataFrame:
    """Add ``category``: the slug of the first rule (in rule order) whose keyword is in the text.

    Products no rule matches get ``"other"``.
    """
    text = fold_text(products[text_column]) if len(products) else pd.Series(dtype=str)
    conditions, slugs = [], []
    for rule in rules:
        pattern = _keyword_pattern(rule.keywords)
        if pattern is not None:
            conditions.append(text.str.contains(pattern, regex=True).to_numpy(dtype=bool))
            slugs.append(rule.slug)
    category = np.select(conditions, slugs, default=OTHER) if conditions else OTHER
    return products.assign(category=pd.Series(category, index=products.index, dtype=object))
