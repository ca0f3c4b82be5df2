"""Read one frame cell as a plain typed value: None for missing, Decimal for money, UTC times."""

from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pandas as pd

from backrank.core.money import as_decimal
from backrank.core.store.values import utc_datetime

MAX_SLUG_LENGTH = 80
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]")


def missing(value: object) -> bool:
    """True for None, pandas NA/NaT and float NaN."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def text(value: object) -> str | None:
    return None if missing(value) or str(value).strip() == "" else str(value)


def number(value: object) -> float | None:
    """A finite float, or None (also for text that is not a number)."""
    if missing(value) or isinstance(value, bool):
        return None
    try:
        result = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


def integer(value: object) -> int | None:
    result = number(value)
    return None if result is None else int(result)


# Money: a Decimal or decimal string, read as the pipelines read it; a float is refused.
decimal = as_decimal


# Moments: a stored ISO timestamp, datetime or Timestamp as an aware UTC datetime, as the
# store reads them.
timestamp = utc_datetime


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """``frame.to_dict("records")``, column by column: pandas boxes text cells one at a time."""
    names = [str(name) for name in frame.columns]
    columns = [frame[name].tolist() for name in frame.columns]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def items(value: object) -> list[Any]:
    """A list cell (list or tuple); [] when absent or of another type."""
    return list(value) if isinstance(value, list | tuple) else []


def mapping(value: object) -> dict[str, Any]:
    """A dict cell; {} when absent or of another type."""
    return dict(value) if isinstance(value, dict) else {}


def safe_http_url(value: object) -> str | None:
    """``value`` as an http(s) URL with a host, or None (drops ``javascript:``, ``data:``...)."""
    if not isinstance(value, str):
        return None
    url = value.strip()
    if not url or _CONTROL_OR_SPACE.search(url):
        return None
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return urlunsplit(parts)


def slugify(value: str) -> str:
    """``[a-z0-9-]`` only, no leading/trailing dash, at most MAX_SLUG_LENGTH characters."""
    slug = re.sub(r"[^a-z0-9]+", "-", value.casefold()).strip("-")
    return slug[:MAX_SLUG_LENGTH].rstrip("-") or "product"
