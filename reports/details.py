"""The optional scoring columns (report card, breakdown, pros/cons, specs...) as view tuples."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from backrank.core.settings import GRADE_POINTS
from reports import values

TRUST_GRADES = tuple(GRADE_POINTS)  # best first
SPEC_LABELS = {
    "max_user_weight_lb": "Maximum user weight",
    "height_min_in": "Minimum user height",
    "height_max_in": "Maximum user height",
    "traction_force_lb": "Traction force",
    "waist_min_in": "Minimum waist",
    "waist_max_in": "Maximum waist",
    "warranty_years": "Warranty",
}
BADGE_LABELS = {
    "best-overall": "Best overall",
    "best-budget": "Best budget pick",
    "most-trusted": "Most trusted reviews",
}
STATUSES = ("Pass", "Warn", "Fail")


@dataclass(frozen=True, kw_only=True)
class Badge:
    slug: str
    label: str


@dataclass(frozen=True, kw_only=True)
class ScorePart:
    """One component of the composite score: its weight, 0-10 value and points contributed."""

    label: str
    weight: float | None
    value: float | None
    contribution: float | None


@dataclass(frozen=True, kw_only=True)
class TrustTest:
    """One row of the trust report card."""

    test: str
    status: str  # Pass | Warn | Fail | Not run
    description: str | None
    subset_size: int | None
    share: float | None
    subset_mean: float | None
    rest_mean: float | None
    p_value: float | None


@dataclass(frozen=True, kw_only=True)
class StoreRating:
    """One store's reviews of a product beside the other stores' (the rating gap)."""

    store: str
    reviews: int | None
    rating: float | None
    low_share: float | None  # share of its rated reviews with 1-3 stars
    others_rating: float | None  # mean rating of the product's reviews at the other stores

    @property
    def gap(self) -> float | None:
        """Stars this store's reviews rate the product above (+) or below (-) the others'."""
        if self.rating is None or self.others_rating is None:
            return None
        return self.rating - self.others_rating


@dataclass(frozen=True, kw_only=True)
class Quote:
    text: str
    store: str


@dataclass(frozen=True, kw_only=True)
class Aspect:
    """A pro or con: what reviewers mention, how often, and quotes we may show."""

    label: str
    count: int | None
    quotes: tuple[Quote, ...]


@dataclass(frozen=True, kw_only=True)
class Spec:
    label: str
    value: str
    source: str | None


@dataclass(frozen=True, kw_only=True)
class PriceSummary:
    """One store's observed prices for a product."""

    store: str
    observed_since: datetime | None
    low: Decimal | None
    high: Decimal | None
    median: Decimal | None
    current: Decimal | None
    current_at: datetime | None
    is_current: bool
    good_price: bool | None


def trust_grade(value: object) -> str | None:
    grade = values.text(value)
    return grade.strip().upper() if grade and grade.strip().upper() in TRUST_GRADES else None


def badges(value: object, category_names: Mapping[str, str]) -> tuple[Badge, ...]:
    result = []
    for item in values.items(value):
        slug = values.text(item)
        if slug is None:
            continue
        if slug in BADGE_LABELS:
            label = BADGE_LABELS[slug]
        elif slug.startswith("best-in-"):
            category = slug.removeprefix("best-in-")
            label = f"Best in {category_names.get(category, category.replace('-', ' '))}"
        else:
            label = slug.replace("-", " ").capitalize()
        result.append(Badge(slug=values.slugify(slug), label=label))
    return tuple(result)


def score_breakdown(value: object) -> tuple[ScorePart, ...]:
    return tuple(
        ScorePart(
            label=values.text(part.get("label")) or values.text(part.get("component")) or "—",
            weight=values.number(part.get("weight")),
            value=values.number(part.get("value")),
            contribution=values.number(part.get("contribution")),
        )
        for part in map(values.mapping, values.items(value))
        if part
    )


def report_card(value: object) -> tuple[TrustTest, ...]:
    rows = []
    for row in map(values.mapping, values.items(value)):
        if not row:
            continue
        status = values.text(row.get("status"))
        rows.append(
            TrustTest(
                test=values.text(row.get("test")) or "—",
                status=status.capitalize()
                if status and status.capitalize() in STATUSES
                else "Not run",
                description=values.text(row.get("description")),
                subset_size=values.integer(row.get("subset_size")),
                share=values.number(row.get("share")),
                subset_mean=values.number(row.get("subset_mean")),
                rest_mean=values.number(row.get("rest_mean")),
                p_value=values.number(row.get("p_value")),
            )
        )
    return tuple(rows)


def store_ratings(value: object) -> tuple[StoreRating, ...]:
    """Per-store ratings, the store with the most reviews first; () when absent."""
    rows = []
    for row in map(values.mapping, values.items(value)):
        store = values.text(row.get("store"))
        if not store:
            continue
        rows.append(
            StoreRating(
                store=store,
                reviews=values.integer(row.get("reviews")),
                rating=values.number(row.get("rating")),
                low_share=values.number(row.get("low_share")),
                others_rating=values.number(row.get("others_rating")),
            )
        )
    return tuple(sorted(rows, key=lambda r: (-(r.reviews or 0), r.store)))


def aspects(
    value: object, may_quote: Callable[[str], bool], max_quotes: int = 2
) -> tuple[Aspect, ...]:
    """Pros or cons; a quote is kept only when its store's catalog entry allows quoting."""
    result = []
    for aspect in map(values.mapping, values.items(value)):
        label = values.text(aspect.get("label")) or values.text(aspect.get("aspect"))
        if not label:
            continue
        quotes = []
        for quote in map(values.mapping, values.items(aspect.get("quotes"))):
            text, store = values.text(quote.get("text")), values.text(quote.get("store"))
            if text and store and may_quote(store) and len(quotes) < max_quotes:
                quotes.append(Quote(text=text, store=store))
        result.append(
            Aspect(label=label, count=values.integer(aspect.get("count")), quotes=tuple(quotes))
        )
    return tuple(result)


def _spec_value(raw: Any, unit: str | None) -> str | None:
    amount = values.number(raw)
    if amount is None:
        shown = values.text(raw)
    else:
        shown = f"{amount:,.1f}".removesuffix(".0")
    if shown is None:
        return None
    if unit == "years" and amount == 1:
        unit = "year"
    return f"{shown} {unit}" if unit else shown


def specs(value: object) -> tuple[Spec, ...]:
    """Known specs first, in a fixed order, then any others by name."""
    table = values.mapping(value)
    order = list(SPEC_LABELS) + sorted(k for k in table if k not in SPEC_LABELS)
    result = []
    for name in order:
        if name not in table:
            continue
        spec = table[name] if isinstance(table[name], dict) else {"value": table[name]}
        shown = _spec_value(spec.get("value"), values.text(spec.get("unit")))
        if shown is not None:
            result.append(
                Spec(
                    label=SPEC_LABELS.get(name, str(name).replace("_", " ").capitalize()),
                    value=shown,
                    source=values.text(spec.get("source")),
                )
            )
    return tuple(result)


def rating_histogram(value: object) -> dict[int, int]:
    """``{"1": n, ...}`` as ``{1: n, ..., 5: n}``; {} when absent or empty."""
    table = values.mapping(value)
    counts = {
        star: values.integer(table.get(str(star), table.get(star))) or 0 for star in range(1, 6)
    }
    return counts if any(counts.values()) else {}


def price_summary(value: object) -> tuple[PriceSummary, ...]:
    rows = []
    for row in map(values.mapping, values.items(value)):
        store = values.text(row.get("store"))
        if not store:
            continue
        good = row.get("good_price")
        rows.append(
            PriceSummary(
                store=store,
                observed_since=values.timestamp(row.get("observed_since")),
                low=values.decimal(row.get("low")),
                high=values.decimal(row.get("high")),
                median=values.decimal(row.get("median")),
                current=values.decimal(row.get("current")),
                current_at=values.timestamp(row.get("current_at")),
                is_current=row.get("is_current") is True,
                good_price=good if isinstance(good, bool) else None,
            )
        )
    return tuple(rows)
