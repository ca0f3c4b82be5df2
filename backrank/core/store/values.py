"""Cells between pandas, Python and the database: exact money text, JSON-ready values, typed frames."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd

from backrank.core.frames import BOOL, COUNT, DECIMAL, FLOAT, INT


def decimal_text(value: Any) -> str | None:
    """A price as exact decimal text; None stays None."""
    if value is None:
        return None
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError(f"not a decimal price: {value!r}") from exc
    if not amount.is_finite():
        raise ValueError(f"not a finite price: {value!r}")
    return str(amount)


def decimal_or_none(text: str | None) -> Decimal | None:
    """Stored decimal text as a Decimal; None stays None."""
    return None if text is None else Decimal(text)


def typed(frame: pd.DataFrame, dtypes: Mapping[str, str]) -> pd.DataFrame:
    """Give ``frame``'s columns their declared dtypes (``backrank.core.frames``); text and
    nested columns stay object with None for NULL, columns ``dtypes`` lacks stay as they are."""
    for column, dtype in dtypes.items():
        if column not in frame.columns:
            continue
        cells = frame[column]
        if dtype == FLOAT:
            frame[column] = pd.Series(
                [math.nan if v is None else float(v) for v in cells], index=frame.index, dtype=FLOAT
            )
        elif dtype in (INT, COUNT):
            frame[column] = pd.Series(list(cells), index=frame.index, dtype=object).astype(dtype)
        elif dtype == DECIMAL:
            frame[column] = pd.Series(
                [decimal_or_none(v) for v in cells], index=frame.index, dtype=object
            )
        elif dtype == BOOL:
            frame[column] = pd.Series(
                [None if v is None else bool(v) for v in cells], index=frame.index, dtype=BOOL
            )
    return frame


def as_mapping(record: Mapping[str, Any] | Any) -> Mapping[str, Any]:
    """An item as a mapping: a dataclass (a spider item) as its fields, a mapping as is."""
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return dataclasses.asdict(record)
    return record


def int_or_none(value: Any) -> int | None:
    """An integer cell; None stays None."""
    return None if value is None else int(value)


def float_or_none(value: Any) -> float | None:
    """A float cell; None and NaN are None."""
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def json_default(value: Any) -> Any:
    """JSON for the values scoring produces beyond plain Python: Decimal as text, numpy scalars."""
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, datetime | pd.Timestamp):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} as JSON: {value!r}")


def utc_datetime(value: object) -> datetime | None:
    """An aware UTC datetime from an ISO string (a stored timestamp), a datetime or a pandas
    Timestamp (naive ones are UTC); None when absent (None, NA, NaT, NaN) or unreadable."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def now_text() -> str:
    """The current UTC time as ISO text, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def plain(value: Any) -> Any:
    """A cell as a JSON-ready Python value (Decimal as text, NaN/NA as None)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, datetime | pd.Timestamp):
        return value.isoformat()
    return value
