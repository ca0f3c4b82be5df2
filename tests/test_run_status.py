"""The one run-status rule: every case of ok, warnings and failed, as a table."""

from __future__ import annotations

import pytest

from spiders.run_status import crawl_errors, run_status

STORED = {"backrank/stored/listings": 12, "response_received_count": 40}

CASES = [
    # (why, stats, complete, store statuses, status)
    ("a clean crawl", STORED, True, (), "ok"),
    ("a clean crawl, every store healthy", STORED, True, ("ok", "ok"), "ok"),
    ("nothing stored", {"response_received_count": 9}, True, (), "failed"),
    ("nothing stored, however healthy", {"backrank/stored/listings": 0}, True, ("ok",), "failed"),
    ("stopped before its end", STORED, False, (), "failed"),
    ("stopped before its end, with errors", STORED | {"backrank/errors/timeout": 1}, False,
     (), "failed"),
    ("a resumed run's earlier listings count",
     {"backrank/stored/listings": 0, "backrank/resumed_listings": 5}, True, (), "ok"),
    ("a failed request", STORED | {"backrank/errors/http_503": 2}, True, (), "warnings"),
    ("a spider exception", STORED | {"spider_exceptions/KeyError": 1}, True, (), "warnings"),
    ("a robot-check page", STORED | {"backrank/blocked": 1}, True, (), "warnings"),
    ("a store drifted", STORED, True, ("ok", "drifted"), "warnings"),
    ("a store stored nothing", STORED, True, ("failed", "ok"), "warnings"),
    ("refused by robots.txt is no error", STORED | {"backrank/skipped/robots_forbidden": 4},
     True, (), "ok"),
    ("a dropped item is no error", STORED | {"backrank/dropped/off_niche": 3}, True, (), "ok"),
    # Failures are counted by kind above; a logged ERROR line alone says nothing more.
    ("an ERROR log line alone", STORED | {"log_count/ERROR": 1}, True, (), "ok"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("stats", "complete", "stores", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_run_status(stats: dict, complete: bool, stores: tuple[str, ...], expected: str) -> None:
    assert run_status(stats, complete=complete, store_statuses=stores) == expected


def test_crawl_errors_count_failed_requests_and_spider_exceptions_only() -> None:
    stats = {
        "backrank/errors/http_503": 2,
        "backrank/errors/timeout": 1,
        "spider_exceptions/KeyError": 1,
        "backrank/blocked": 3,
        "log_count/ERROR": 7,
    }
    assert crawl_errors(stats) == 4
