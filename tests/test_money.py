"""Money cells: one reading for pipelines and reports; missing is None (never 0), floats refused."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from backrank.core.money import as_decimal
from reports import values


@pytest.mark.parametrize("read", [as_decimal, values.decimal])
@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("19.99", Decimal("19.99")),
        (" 24.50 ", Decimal("24.50")),
        (Decimal("0.00"), Decimal("0.00")),  # a real zero stays zero
        (129, Decimal(129)),
        (np.int64(7), Decimal(7)),
    ],
)
def test_prices_read_as_exact_decimals(read, cell: object, expected: Decimal) -> None:
    price = read(cell)
    assert price == expected and str(price) == str(expected)


@pytest.mark.parametrize("read", [as_decimal, values.decimal])
@pytest.mark.parametrize(
    "cell", [None, pd.NA, pd.NaT, float("nan"), np.nan, "", "call for price", "NaN", "inf",
             Decimal("NaN"), Decimal("Infinity")],
)  # fmt: skip
def test_missing_or_non_numeric_prices_are_none_never_zero(read, cell: object) -> None:
    assert read(cell) is None


@pytest.mark.parametrize("read", [as_decimal, values.decimal])
def test_a_float_price_is_refused_since_it_already_lost_cents(read) -> None:
    with pytest.raises(TypeError, match="is a float"):
        read(19.99)
