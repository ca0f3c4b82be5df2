"""The run status rule: ``ok``, ``warnings`` or ``failed``, from a crawl's stats and its stores' health."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from spiders.budgets import budgets_hit

# Stats counters of failures: failed requests (by kind) and exceptions the spider raised.
ERROR_PREFIXES = ("backrank/errors/", "spider_exceptions/")
# Store verdicts of spiders.health that make a run that stored listings a run with warnings.
WARNING_STORE_STATUSES = frozenset({"drifted", "failed"})


def crawl_errors(stats: Mapping[str, Any]) -> int:
    """Failed requests and spider exceptions the crawl counted."""
    return sum(int(value) for key, value in stats.items() if key.startswith(ERROR_PREFIXES))


def run_status(
    stats: Mapping[str, Any], *, complete: bool = True, store_statuses: Iterable[str] = ()
) -> str:
    """How a crawl run ends, the one rule for every way a crawl runs.

    ``failed``: the crawl stopped before its end (``complete`` False) or stored no listing
    (listings an earlier process of a resumed run stored count). ``warnings``: a request
    failed, a page was a robot check, the spider raised, a crawl budget stopped part of the
    crawl (``spiders.budgets``), or a store judged after the crawl
    (``store_statuses``, see ``spiders.health``) drifted or stored nothing. ``ok`` otherwise.
    """
    stored = int(stats.get("backrank/stored/listings", 0))
    if not complete or (stored == 0 and not stats.get("backrank/resumed_listings")):
        return "failed"
    if crawl_errors(stats) or int(stats.get("backrank/blocked", 0)) or budgets_hit(stats):
        return "warnings"
    if any(status in WARNING_STORE_STATUSES for status in store_statuses):
        return "warnings"
    return "ok"
