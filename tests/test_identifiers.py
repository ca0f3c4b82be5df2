"""Product identifier rules (backrank.core.identifiers): GTIN check digits and form, ASIN, MPN."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backrank.core.identifiers import (
    canonical_asin,
    canonical_gtin,
    canonical_mpn,
    gtin_check_digit,
    is_gtin,
    read_gtin,
)


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("96385074", True),  # EAN-8
        ("036000291452", True),  # UPC-A
        ("4006381333931", True),  # EAN-13
        ("10036000291459", True),  # GTIN-14 with packaging indicator 1
        ("00036000291452", True),  # GTIN-14 form of the UPC-A
        ("036000291453", False),  # wrong check digit
        ("4006381333932", False),
        ("9638507", False),  # seven digits: no GTIN length
        ("00000000", False),  # all zeros pass the arithmetic but name nothing
        ("0000000000000", False),
        ("４００６３８１３３３９３１", False),  # full-width digits are not a printed code
    ],
)
def test_is_gtin_checks_length_digits_and_check_digit(code: str, valid: bool) -> None:
    assert is_gtin(code) is valid


def test_check_digit_weights_three_from_the_right() -> None:
    assert gtin_check_digit("03600029145") == "2"
    assert gtin_check_digit("400638133393") == "1"
    assert gtin_check_digit("9638507") == "4"


@pytest.mark.parametrize(
    ("value", "gtin"),
    [
        ("5901885533094", "5901885533094"),
        (4054278533728, "4054278533728"),
        (4054278533728.0, "4054278533728"),  # a code read into a float column
        ("810575035433", "810575035433"),  # a UPC-A stays as printed
        ("0883929689613", "0883929689613"),
        ("96385074", "96385074"),
        ("EAN: 6935364088101", "6935364088101"),
        ("590-1885-533094", "5901885533094"),
        (" 0 36000 29145 2 ", "036000291452"),  # spaces on the label
        ("5901885533094 / 6935364088101", None),  # two different codes: neither is trusted
        ("5901885533095", None),
        ("12345", None),
        ("238368885", None),
        ("00000000", None),
        ("abc", None),
        (float("nan"), None),
        (True, None),
        (None, None),
    ],
)
def test_read_gtin_keeps_the_printed_digits(value: object, gtin: str | None) -> None:
    assert read_gtin(value) == gtin


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        ("036000291452", "0036000291452"),  # UPC-A
        ("0036000291452", "0036000291452"),  # the same item as EAN-13
        ("00036000291452", "0036000291452"),  # and as GTIN-14
        (" 0 36000 29145 2 ", "0036000291452"),
        ("4006381333931", "4006381333931"),  # EAN-13
        ("96385074", "0000096385074"),  # EAN-8, zero-padded
        ("10036000291459", "10036000291459"),  # a case of them keeps its indicator digit
        ("036000291453", None),
        ("0000000000000", None),
        (None, None),
    ],
)
def test_canonical_gtin_is_one_form_per_item(value: object, canonical: str | None) -> None:
    assert canonical_gtin(value) == canonical


@given(st.text(alphabet="0123456789", min_size=7, max_size=13))
def test_a_body_with_its_check_digit_is_a_gtin_and_one_off_is_not(body: str) -> None:
    code = body + gtin_check_digit(body)
    if body.strip("0") and len(code) in (8, 12, 13, 14):
        assert is_gtin(code)
        assert canonical_gtin(code) == canonical_gtin(code.zfill(14))
        wrong = code[:-1] + str((int(code[-1]) + 1) % 10)
        assert read_gtin(wrong) is None


@pytest.mark.parametrize(
    ("value", "asin"),
    [
        ("B001FK81PU", "B001FK81PU"),
        (" b07g2l3jmm ", "B07G2L3JMM"),
        ("\u200eB00SVBPJI8\u200e", "B00SVBPJI8"),  # Amazon's left-to-right marks
        ("B001 FK81PU", "B001FK81PU"),
        ("0316769487", "0316769487"),  # a book's ASIN is its ISBN-10
        ("B001FK81P", None),
        ("B001FK81PUX", None),
        ("B001-FK81P", None),
        (float("nan"), None),
        (None, None),
    ],
)
def test_canonical_asin(value: object, asin: str | None) -> None:
    assert canonical_asin(value) == asin


@pytest.mark.parametrize(
    ("value", "mpn"),
    [
        ("VGP-BKB1", "vgpbkb1"),
        ("tr 893 b", "tr893b"),
        ("Ñ-100", "n100"),  # accents fold away
        ("X3", "x3"),  # short, but Teeter's model name
        (1234, "1234"),
        ("N/A", None),
        ("Does not apply", None),
        ("unknown", None),
        ("", None),
        (None, None),
    ],
)
def test_canonical_mpn(value: object, mpn: str | None) -> None:
    assert canonical_mpn(value) == mpn


@given(st.one_of(st.none(), st.text(max_size=40), st.integers(), st.floats(), st.booleans()))
def test_identifier_rules_never_crash_and_give_their_shape(value: object) -> None:
    gtin = canonical_gtin(value)
    assert gtin is None or (gtin.isdigit() and len(gtin) in (13, 14))
    asin = canonical_asin(value)
    assert asin is None or (len(asin) == 10 and asin.isalnum() and asin == asin.upper())
    mpn = canonical_mpn(value)
    assert mpn is None or (mpn.isalnum() and mpn == mpn.lower())
