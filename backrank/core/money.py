"""Read one price cell as money: a finite Decimal, or None when it is missing or not a number."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import pandas as pd


def as_decimal(value: object) -> Decimal | None:
    """A price as Decimal (from Decimal, str or int), None when missing or not a number.

    A float is refused (TypeError): it has already lost cents.
    """
    if value is None or (not isinstance(value, str | Decimal) and pd.isna(value)):
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, float):
        raise TypeError(f"price {value!r} is a float; prices must be Decimal or decimal strings")
    try:
        price = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return price if price.is_finite() else None
