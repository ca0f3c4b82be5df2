"""Badges: best overall, best in each subcategory, best budget pick and most trusted reviews."""

from __future__ import annotations

import pandas as pd

from backrank.core.settings import GRADE_POINTS, BadgeRules
from pipelines.scores import composite_order, subcategory_of


def _in_stock(products: pd.DataFrame) -> pd.Series:
    """``in_stock`` as plain bool; unknown counts as not in stock."""
    return pd.Series(
        [False if v is None or v is pd.NA else bool(v) for v in products["in_stock"]],
        index=products.index,
        dtype=bool,
    )


def badge_eligible(products: pd.DataFrame, rules: BadgeRules) -> pd.Series:
    """In stock, priced, scored and with at least ``rules.min_reviews`` reviews."""
    reviews = pd.to_numeric(products["review_count"], errors="coerce").astype(float).fillna(0.0)
    priced = products["best_price"].map(lambda p: p is not None and not pd.isna(p)).astype(bool)
    return (
        _in_stock(products)
        & priced
        & products["composite_score"].astype(float).notna()
        & (reviews >= rules.min_reviews)
    )


def cheapest_third(products: pd.DataFrame) -> pd.Series:
    """True for products priced in the cheapest third of their subcategory (same currency).

    Counted among the subcategory's in-stock priced products: fewer than a third of them are
    strictly cheaper. Equal prices share a place.
    """
    stocked = _in_stock(products)
    price = pd.Series(
        [
            float(p) if p is not None and not pd.isna(p) else float("nan")
            for p in products["best_price"]
        ],
        index=products.index,
        dtype="float64",
    ).where(stocked)
    groups = [subcategory_of(products).fillna(""), products["currency"].fillna("").astype(str)]
    cheaper = price.groupby(groups).rank(method="min") - 1
    market = price.groupby(groups).transform("count")
    return (cheaper < market / 3).astype(bool)  # NaN (unpriced) compares False


def _best(products: pd.DataFrame, candidates: pd.Series) -> object | None:
    """Index label of the best candidate by composite_order, or None."""
    pool = products[candidates]
    if pool.empty:
        return None
    return composite_order(pool, pool["composite_score"])[0]


def assign_badges(products: pd.DataFrame, rules: BadgeRules) -> pd.DataFrame:
    """Add ``badges``: a list of "best-overall", "best-in-<subcategory>", "best-budget" (per
    subcategory) and "most-trusted" (best grade, then most reviews) per product."""
    eligible = badge_eligible(products, rules)
    subcategory = subcategory_of(products).fillna("")
    awarded: dict[object, list[str]] = {label: [] for label in products.index}

    overall = _best(products, eligible)
    if overall is not None:
        awarded[overall].append("best-overall")
    cheap = cheapest_third(products)
    contenders = eligible.groupby(subcategory).transform("sum")
    for slug in sorted(subcategory[eligible & (contenders >= rules.min_contenders)].unique()):
        in_subcategory = eligible & (subcategory == slug)
        best = _best(products, in_subcategory)
        if best is not None and slug:
            awarded[best].append(f"best-in-{slug}")
        budget = _best(products, in_subcategory & cheap)
        if budget is not None:
            awarded[budget].append("best-budget")

    if "trust_grade" in products.columns:
        trusted = eligible & products["trust_grade"].isin(rules.trusted_grades)
        if trusted.any():
            pool = products[trusted]
            points = pool["trust_grade"].map(GRADE_POINTS).astype(float)
            reviews = pd.to_numeric(pool["review_count"], errors="coerce").astype(float)
            winner = (
                pd.DataFrame(
                    {
                        "points": points,
                        "reviews": reviews.fillna(0.0),
                        "id": pool["product_id"].astype(str),
                    }
                )
                .sort_values(["points", "reviews", "id"], ascending=[False, False, True])
                .index[0]
            )
            awarded[winner].append("most-trusted")
    return products.assign(
        badges=pd.Series(
            [awarded[label] for label in products.index], index=products.index, dtype=object
        )
    )


__all__ = ["BadgeRules", "assign_badges", "badge_eligible", "cheapest_third"]
