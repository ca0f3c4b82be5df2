"""Jinja2 filters that format values for people: money, stars, ratings, scores, dates, stock."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

# Symbol placed before the amount; other currencies show their ISO code after it.
CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CAD": "CA$", "AUD": "A$", "JPY": "¥"}
ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW"})
MISSING = "—"
STOCK_LABELS = {"in_stock": "In stock", "out_of_stock": "Out of stock", "unknown": "Stock unknown"}


def money(amount: Decimal | None, currency: str | None = None) -> str:
    """``Decimal("1299.5"), "USD"`` -> ``"$1,299.50"``; ``"—"`` when unknown, never ``$0``."""
    if amount is None or not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        return MISSING
    code = (currency or "").upper()
    places = Decimal(1) if code in ZERO_DECIMAL_CURRENCIES else Decimal("0.01")
    number = f"{amount.quantize(places, rounding=ROUND_HALF_UP):,}"
    if code in CURRENCY_SYMBOLS:
        return f"{CURRENCY_SYMBOLS[code]}{number}"
    return f"{number} {code}" if code else number


def _rating(value: float | None) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return min(max(float(value), 0.0), 5.0)


def stars(value: float | None) -> str:
    """A 0-5 rating as five star glyphs, rounded to the nearest whole star; "" when unrated."""
    rating = _rating(value)
    if rating is None:
        return ""
    full = int(Decimal(str(rating)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return "★" * full + "☆" * (5 - full)


def rating(value: float | None) -> str:
    """``4.26`` -> ``"4.3 out of 5"``; ``"Not rated yet"`` when unrated."""
    number = _rating(value)
    if number is None:
        return "Not rated yet"
    return f"{Decimal(str(number)).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)} out of 5"


def count(value: int | None, noun: str = "review") -> str:
    """``1234`` -> ``"1,234 reviews"``; ``"—"`` when unknown (never "0 reviews" for unknown)."""
    if value is None:
        return MISSING
    return f"{value:,} {noun}{'' if value == 1 else 's'}"


def datetime_filter(value: datetime | None) -> str:
    """An aware datetime as ``"2024-07-01 14:05 UTC"``; ``"—"`` when unknown."""
    if value is None:
        return MISSING
    moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def stock(value: str | None) -> str:
    """``in_stock`` -> ``"In stock"``."""
    return STOCK_LABELS.get(value or "unknown", STOCK_LABELS["unknown"])


def score(value: float | None) -> str:
    """A 0-10 composite as ``"8.4/10"``; ``"—"`` when not scored."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    clipped = min(max(float(value), 0.0), 10.0)
    return f"{Decimal(str(clipped)).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}/10"


def number(value: float | None, places: int = 1) -> str:
    """A plain number with ``places`` decimals; ``"—"`` when unknown."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return MISSING
    step = Decimal(1).scaleb(-places)
    return f"{Decimal(str(float(value))).quantize(step, rounding=ROUND_HALF_UP):,}"


def percent(value: float | None) -> str:
    """A share in [0, 1] as ``"42%"``; ``"—"`` when unknown."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return MISSING
    return f"{Decimal(str(float(value) * 100)).quantize(Decimal(1), rounding=ROUND_HALF_UP)}%"


def gap(value: float | None) -> str:
    """A rating difference in stars, signed: ``"+0.42"``, ``"−0.30"``; ``"—"`` when unknown."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return MISSING
    shown = Decimal(str(abs(float(value)))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if shown == 0:
        return "0.00"
    return f"{'+' if value > 0 else '−'}{shown}"


def pvalue(value: float | None) -> str:
    """A p-value: ``"p < 0.001"`` for tiny ones, else three decimals; ``"—"`` when not run."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return MISSING
    return "p < 0.001" if value < 0.001 else f"p = {value:.3f}"


def date(value: datetime | None) -> str:
    """An aware datetime as ``"2024-07-01"``; ``"—"`` when unknown."""
    if value is None:
        return MISSING
    moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return moment.strftime("%Y-%m-%d")


def sort_key(value: float | Decimal | None) -> str:
    """A number for a ``data-sort`` attribute; "" when unknown (sorted last by the script)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if isinstance(value, Decimal) and not value.is_finite():
        return ""
    return str(value)


FILTERS = {
    "score": score,
    "number": number,
    "percent": percent,
    "pvalue": pvalue,
    "gap": gap,
    "date": date,
    "sort_key": sort_key,
    "money": money,
    "stars": stars,
    "rating": rating,
    "count": count,
    "datetime": datetime_filter,
    "stock": stock,
}
