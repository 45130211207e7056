"""Masks of personal data on console screens: exact shapes, and nothing of the hidden part left."""

import datetime

import pytest

from prakerja.console.masking import (
    mask_account_number,
    mask_birth_date,
    mask_card,
    mask_email,
    mask_name,
    mask_nik,
    mask_phone,
)


def test_nik_keeps_the_region_and_the_last_two_digits():
    assert mask_nik("3201011508900001") == "3201**********01"


def test_phone_keeps_the_operator_prefix_and_the_last_three_digits():
    assert mask_phone("+62812345678789") == "+62812****789"
    assert mask_phone("+6281234567789") == "+62812****789"  # the length does not show
    assert mask_phone(None) == ""
    assert mask_phone("+6281") == "****"


@pytest.mark.parametrize(
    ("email", "masked"),
    [
        ("andi@domain.com", "a***@d***.com"),
        ("budi.santoso@contoh.co.id", "b***@c***.id"),
        ("x@localhost", "x***@l***"),
        ("not-an-email", "****"),
    ],
)
def test_email_keeps_first_letters_and_the_top_level_domain(email, masked):
    assert mask_email(email) == masked


def test_name_keeps_the_first_letter_of_each_word():
    assert mask_name("Budi  Santoso Putra") == "B*** S*** P***"
    assert mask_name("") == ""


def test_card_and_account_numbers_keep_the_last_four_digits():
    assert mask_card("5123456789012346") == "**** 2346"
    assert mask_account_number("6281234567789") == "**** 7789"
    assert mask_card("12") == "****"


def test_birth_date_shows_the_year_only():
    assert mask_birth_date(datetime.date(1990, 8, 15)) == "1990"
