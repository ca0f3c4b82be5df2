"""Jinja2 filters that format values for people: money, stars, ratings, dates, stock."""

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


FILTERS = {
    "money": money,
    "stars": stars,
    "rating": rating,
    "count": count,
    "datetime": datetime_filter,
    "stock": stock,
}
