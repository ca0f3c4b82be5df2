"""Review dates: fast paths read the common shapes as dateparser does; repeats are cached."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from spiders.normalise import _review_date, dateparser_date, parse_review_date, quick_date

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]  # fmt: skip
# Every 37th day of seven years: all months, both month/day orders ambiguous and not.
DAYS = [date(2019, 1, 1) + timedelta(days=37 * n) for n in range(70)]
SHAPES = {
    "M/D/YYYY en": (lambda d: f"{d.month}/{d.day}/{d.year}", "en"),
    "MM/DD/YYYY en": (lambda d: f"{d.month:02}/{d.day:02}/{d.year}", "en"),
    "D.M.YYYY de": (lambda d: f"{d.day}.{d.month}.{d.year}", "de"),
    "DD/MM/YYYY fr": (lambda d: f"{d.day:02}/{d.month:02}/{d.year}", "fr"),
    "D-M-YYYY nl": (lambda d: f"{d.day}-{d.month}-{d.year}", "nl"),
    "Month D, YYYY en": (lambda d: f"{MONTHS[d.month - 1]} {d.day}, {d.year}", "en"),
    "Month D, YYYY unknown": (lambda d: f"{MONTHS[d.month - 1]} {d.day}, {d.year}", None),
    "D Month YYYY en": (lambda d: f"{d.day} {MONTHS[d.month - 1]} {d.year}", "en"),
    "Mon D, YYYY en": (lambda d: f"{MONTHS[d.month - 1][:3]} {d.day}, {d.year}", "en"),
    "Mon. D, YYYY en": (lambda d: f"{MONTHS[d.month - 1][:3]}. {d.day}, {d.year}", "en"),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_fast_path_reads_each_shape_as_dateparser_does(shape: str) -> None:
    write, language = SHAPES[shape]
    for day in DAYS:
        text = write(day)
        assert quick_date(text, language) == day.isoformat(), text
        assert dateparser_date(text, language) == day.isoformat(), text


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("2/30/2024", "en"),  # no such day: dateparser has the last word
        ("13/1/2024", "en"),
        ("1/2/24", "en"),  # two-digit year
        ("3 marzo 2021", "it"),
        ("March 3, 2021", "de"),  # English words on a German page: not ours to guess
        ("7/1/2024", None),  # no language, no day/month order
        ("June 2020", "en"),
    ],
)
def test_fast_path_leaves_other_shapes_to_dateparser(text: str, language: str | None) -> None:
    assert quick_date(text, language) is None


@pytest.mark.parametrize(
    ("text", "language", "iso"),
    [
        ("2025-01-18 20:15:27 UTC", None, "2025-01-18"),  # Judge.me's timestamp
        ("2025-01-18T23:59:59Z", None, "2025-01-18"),
        ("Reviewed in the United States on January 20, 2025", "en", "2025-01-20"),
        ("Reviewed in the United States on January 20, 2025", "en-US", "2025-01-20"),
        ("12/3/2024", "en", "2024-12-03"),
        ("12/3/2024", "de", "2024-03-12"),
        ("Sept. 5, 2024", "en", "2024-09-05"),
        ("2/30/2024", "en", None),
    ],
)
def test_parse_review_date_common_shapes(text: str, language: str | None, iso: str | None) -> None:
    assert parse_review_date(text, language) == iso


def test_repeated_dates_are_read_once() -> None:
    text = "Reviewed in the United States on February 29, 2024"
    parse_review_date(text, "en")
    hits = _review_date.cache_info().hits
    assert [parse_review_date(f"  {text} ", "en") for _ in range(3)] == ["2024-02-29"] * 3
    assert _review_date.cache_info().hits == hits + 3
