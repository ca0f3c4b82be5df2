"""Normalisers: tables of real-world strings, and properties that hold for any text."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backrank.core.identifiers import canonical_asin, read_gtin
from spiders.items import Listing, Review
from spiders.normalise import (
    normalise_availability,
    normalise_listing,
    normalise_review,
    parse_count,
    parse_currency,
    parse_helpful_votes,
    parse_price,
    parse_rating,
    parse_review_date,
)


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("8,33 €", "8.33"),
        ("$ 2,199 .99", "2199.99"),
        ("499€\n499€\n499", "499.00"),
        ("dès 20,00€", "20.00"),
        ("$49.94 ($49.94/cu ft)", "49.94"),
        ("32 zł/ szt.", "32.00"),
        ("1.149,00 €", "1149.00"),
        ("£48.99", "48.99"),
        ("GBP 1.99", "1.99"),
        ("49.1", "49.10"),
        (3, "3.00"),
        (49.94, "49.94"),
        (Decimal("12.5"), "12.50"),
        ("Currently unavailable", None),
        ("", None),
        (None, None),
        (-5, None),
    ],
)
def test_parse_price(text: object, amount: str | None) -> None:
    expected = Decimal(amount) if amount is not None else None
    assert parse_price(text) == expected


@pytest.mark.parametrize(
    ("text", "hint", "currency"),
    [
        ("8,33 €", None, "EUR"),
        ("£48.99", None, "GBP"),
        ("32 zł/ szt.", None, "PLN"),
        ("pln", None, "PLN"),
        ("GBP 1.99", None, "GBP"),
        ("$34.98", None, "USD"),
        ("$249.99", "CAD", "CAD"),
        ("€", None, "EUR"),
        ("49.94", None, None),
        (None, "USD", None),
    ],
)
def test_parse_currency(text: str | None, hint: str | None, currency: str | None) -> None:
    assert parse_currency(text, hint) == currency


@pytest.mark.parametrize(
    ("text", "state"),
    [
        ("http://schema.org/InStock", "in_stock"),
        ("https://schema.org/OutOfStock", "out_of_stock"),
        ("://schema.org/InStock", "in_stock"),
        ("//schema.org/InStock", "in_stock"),
        ("InStock", "in_stock"),
        ("SoldOut", "out_of_stock"),
        ("In Stock.", "in_stock"),
        ("In stock. Only 1 left in stock.", "in_stock"),
        ("Only 1 left in stock - order soon.", "in_stock"),
        ("Currently unavailable.", "out_of_stock"),
        ("Temporarily out of stock.", "out_of_stock"),
        ("Auf Lager.", "in_stock"),
        ("Derzeit nicht verfügbar.", "out_of_stock"),
        ("Disponibile", "in_stock"),
        ("Disponibilità immediata.", "in_stock"),
        ("Non disponibile", "out_of_stock"),
        ("En stock", "in_stock"),
        ("Rupture de stock", "out_of_stock"),
        ("Agotado", "out_of_stock"),
        ("Esgotado", "out_of_stock"),
        ("Niedostępny", "out_of_stock"),
        ("Dostępny", "in_stock"),
        ("Op voorraad", "in_stock"),
        ("IN_STOCK", "in_stock"),
        ("OUT_OF_STOCK", "out_of_stock"),
        ("Ships in 3 weeks", "unknown"),
        (None, None),
    ],
)
def test_normalise_availability(text: str | None, state: str | None) -> None:
    assert normalise_availability(text) == state


@pytest.mark.parametrize(
    ("text", "rating"),
    [
        ("4,7 von 5 Sternen", 4.7),
        ("4.6 out of 5 stars", 4.6),
        ("4,4 su 5 stelle", 4.4),
        ("4,7 su 5", 4.7),
        ("Rated 4 out of 5", 4.0),
        ("Rating 4.757894736842105 out of 5", 4.757894736842105),
        ("4.72", 4.72),
        (3.4, 3.4),
        (5, 5.0),
        ("8 out of 10", None),
        ("7.5", None),
        (-1, None),
        ("no rating", None),
        (None, None),
    ],
)
def test_parse_rating(text: object, rating: float | None) -> None:
    assert parse_rating(text) == (pytest.approx(rating) if rating is not None else None)


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("2,842 ratings", 2842),
        ("1.091 Sternebewertungen", 1091),
        ("(36 Reviews)", 36),
        ("2.345 valutazioni", 2345),
        ("5,849 global ratings", 5849),
        ("45 voti", 45),
        ("1 234 avis", 1234),
        (72, 72),
        ("0", 0),
        ("1.2K ratings", None),
        ("4.5", None),
        ("no ratings", None),
        (-3, None),
        (None, None),
    ],
)
def test_parse_count(text: object, count: int | None) -> None:
    assert parse_count(text) == count


@pytest.mark.parametrize(
    ("text", "votes"),
    [
        ("12 people found this helpful", 12),
        ("One person found this helpful", 1),
        ("Eine Person fand diese Informationen hilfreich", 1),
        ("3 Personen fanden diese Informationen hilfreich", 3),
        ("Una persona lo ha trovato utile", 1),
        (7, 7),
        ("Helpful", None),
    ],
)
def test_parse_helpful_votes(text: object, votes: int | None) -> None:
    assert parse_helpful_votes(text) == votes


@pytest.mark.parametrize(
    ("text", "language", "iso"),
    [
        ("Reviewed in the United States on July 1, 2024", "en", "2024-07-01"),
        ("Reviewed in the United Kingdom on 3 March 2021", "en", "2021-03-03"),
        ("Rezension aus Deutschland vom 7. Juni 2018", "de", "2018-06-07"),
        ("Recensito in Italia il 3 marzo 2021", "it", "2021-03-03"),
        ("Commenté en France le 12 janvier 2020", "fr", "2020-01-12"),
        ("Revisado en España el 5 de mayo de 2019", "es", "2019-05-05"),
        ("7/1/2024", "en", "2024-07-01"),
        ("01.07.2020", "de", "2020-07-01"),
        ("2024-07-01T10:00:00+00:00", None, "2024-07-01"),
        ("2024-02-30", None, None),
        ("June 2020", "en", None),
        ("2 days ago", "en", None),
        ("yesterday", "en", None),
        ("Verified Purchase", "en", None),
        ("", "en", None),
        (None, None, None),
    ],
)
def test_parse_review_date(text: str | None, language: str | None, iso: str | None) -> None:
    assert parse_review_date(text, language) == iso


def test_normalise_listing_types_every_field() -> None:
    raw = Listing(
        url="https://www.amazon.de/dp/B00SVBPJI8",
        title="  Ankerkraut Texas Chicken,\n 230g ",
        brand="Ankerkraut",
        price="8,33 €",
        list_price="9,99 €",
        availability="Auf Lager.",
        rating="4,7 von 5 Sternen",
        review_count="1.091 Sternebewertungen",
        asin="b00svbpji8",
        sku=127,
        gtin="not a gtin",
    )
    listing = normalise_listing(raw)
    assert listing is not raw and raw.price == "8,33 €"
    assert listing.title == "Ankerkraut Texas Chicken, 230g"
    assert listing.price == Decimal("8.33") and listing.list_price == Decimal("9.99")
    assert listing.currency == "EUR"
    assert listing.availability == "in_stock"
    assert listing.rating == pytest.approx(4.7)
    assert listing.review_count == 1091
    assert listing.asin == "B00SVBPJI8"
    assert listing.sku == "127"
    assert listing.gtin is None


def test_normalise_listing_uses_the_store_hint_for_a_bare_dollar() -> None:
    listing = normalise_listing(
        Listing(url="https://x.example/p", price="$249.99"), currency_hint="CAD"
    )
    assert listing.currency == "CAD"
    assert normalise_listing(Listing(url="https://x.example/p", price="$249.99")).currency == "USD"


def test_normalise_listing_keeps_missing_as_none_not_zero() -> None:
    listing = normalise_listing(Listing(url="https://x.example/p"))
    assert (listing.price, listing.currency, listing.rating, listing.review_count) == (None,) * 4
    assert listing.availability is None


def test_normalise_review() -> None:
    review = normalise_review(
        Review(
            url="https://www.amazon.de/dp/B00SVBPJI8",
            author=" Kunde ",
            rating="4,0 von 5 Sternen",
            date="Rezension aus Deutschland vom 7. Juni 2018",
            helpful_votes="Eine Person fand diese Informationen hilfreich",
            language="de",
            verified=True,
        )
    )
    assert (review.author, review.rating, review.date, review.helpful_votes) == (
        "Kunde",
        4.0,
        "2018-06-07",
        1,
    )
    assert review.verified is True


anything = st.one_of(
    st.none(), st.text(max_size=60), st.integers(), st.floats(allow_nan=True), st.booleans()
)


@settings(max_examples=200, deadline=None)
@given(anything)
def test_normalisers_never_crash(value: object) -> None:
    parse_price(value)
    parse_currency(value)
    normalise_availability(value)
    parse_rating(value)
    parse_count(value)
    parse_helpful_votes(value)
    read_gtin(value)
    canonical_asin(value)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=40), st.sampled_from(["en", "de", "it", "fr", "es", None]))
def test_review_dates_are_iso_or_none(text: str, language: str | None) -> None:
    date = parse_review_date(text, language)
    assert date is None or re.fullmatch(r"\d{4}-\d{2}-\d{2}", date)


@settings(max_examples=60, deadline=None)
@given(
    st.text(alphabet=st.characters(blacklist_categories=("Nd", "No", "Nl")), max_size=40),
    st.sampled_from(["en", "de", "it", None]),
)
def test_no_digits_no_date(text: str, language: str | None) -> None:
    # dateparser would happily read "today"; a date we did not see must not be invented.
    assert parse_review_date(text, language) is None


@given(st.text(alphabet=st.characters(blacklist_categories=("Nd", "No", "Nl")), max_size=60))
def test_text_without_digits_never_yields_a_number(text: str) -> None:
    assert parse_price(text) is None
    assert parse_rating(text) is None
    assert parse_count(text) is None
    assert read_gtin(text) is None


@given(st.one_of(st.text(max_size=30), st.floats(allow_nan=True), st.integers()))
def test_rating_is_within_zero_and_five_or_none(value: object) -> None:
    rating = parse_rating(value)
    assert rating is None or 0 <= rating <= 5


@given(st.decimals(min_value=0, max_value=999999, places=2, allow_nan=False))
def test_formatted_prices_round_trip(amount: Decimal) -> None:
    assert parse_price(f"€{amount:,.2f}") == amount
    german = f"{amount:,.2f}".replace(",", " ").replace(".", ",")
    assert parse_price(f"{german} €") == amount
