"""The sign-up patterns the participant API's schema states are the services' own rules: what the
NIK pattern admits parses, what it refuses does not; phone numbers are read by their pattern."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prakerja.registration.field_rules import nik_pattern, phone_e164
from prakerja.registration.nik import NikProblem, parse_nik

NIK = re.compile(nik_pattern())


@settings(max_examples=300, deadline=None)
@given(st.from_regex(nik_pattern(), fullmatch=True))
def test_every_nik_the_pattern_admits_parses(nik):
    parse_nik(nik)


@settings(max_examples=500, deadline=None)
@given(st.from_regex(r"^[0-9]{16}$", fullmatch=True))
def test_a_nik_the_pattern_refuses_does_not_parse(nik):
    try:
        parse_nik(nik)
    except NikProblem:
        assert not NIK.fullmatch(nik)
    else:
        assert NIK.fullmatch(nik)


@pytest.mark.parametrize(
    ("nik", "admitted"),
    [
        ("3201011508900001", True),
        ("3201015508900001", True),  # a woman: day + 40
        ("3201012902000001", True),  # 29 February
        ("3201013002000001", False),  # 30 February
        ("3201013104000001", False),  # 31 April
        ("3201017101000001", True),  # 31 January, a woman
        ("3201011508900000", False),  # serial 0000
        ("9901011508900001", False),  # no province 99
        ("3201013208900001", False),  # day 32
        ("320101150890000", False),  # 15 digits
    ],
)
def test_examples_of_the_nik_pattern(nik, admitted):
    assert bool(NIK.fullmatch(nik)) is admitted
    if admitted:
        parse_nik(nik)
    else:
        with pytest.raises(NikProblem):
            parse_nik(nik)


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("0812-3456-7890", "+6281234567890"),
        ("62 812 3456 7890", "+6281234567890"),
        ("+6281234567890", "+6281234567890"),
        ("0895 1234 5678", "+6289512345678"),
        ("0812345678", "+62812345678"),
    ],
)
def test_mobile_numbers_in_any_common_spelling(raw, e164):
    assert phone_e164(raw) == e164


@pytest.mark.parametrize(
    "raw", ["12345", "+6531234567", "021 555 1234", "0812--3456-7890", "08123456", "08123456789012"]
)
def test_what_is_not_a_mobile_number(raw):
    with pytest.raises(ValueError, match="PHONE_INVALID"):
        phone_e164(raw)
