"""Voucher codes: 12 random Crockford base32 symbols and the mod-37 check symbol; grouped for people,
read back leniently, and a malformed code refused as VOUCHER_NOT_FOUND without reading the
database."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from prakerja.common.actors import Actor
from prakerja.orders import services, vouchers
from prakerja.orders.errors import VoucherNotFound
from prakerja.orders.vouchers import (
    ALPHABET,
    CHECK_ALPHABET,
    check_symbol,
    voucher_code_format,
    voucher_code_new,
    voucher_code_parse,
)
from prakerja.partners.models import Partner, PartnerKind


def code_of(number: int) -> str:
    """The stored code of a 60-bit number (the check symbol appended)."""
    symbols = ""
    for _ in range(12):
        number, value = divmod(number, 32)
        symbols = ALPHABET[value] + symbols
    return symbols


def test_a_code_is_twelve_random_symbols_and_a_check_symbol():
    code = voucher_code_new()

    assert len(code) == 13
    assert all(symbol in ALPHABET for symbol in code[:12])
    number = int("".join(f"{ALPHABET.index(s):05b}" for s in code[:12]), 2)
    assert code[12] == CHECK_ALPHABET[number % 37]
    assert voucher_code_parse(code) == code


def test_the_random_part_carries_sixty_bits(monkeypatch):
    drawn = []
    real = vouchers.secrets.randbits

    def spy(bits: int) -> int:
        drawn.append(bits)
        return real(bits)

    monkeypatch.setattr(vouchers.secrets, "randbits", spy)
    voucher_code_new()
    assert drawn == [60]


def test_known_values_of_the_check_symbol():
    assert check_symbol(0) == "0"
    assert check_symbol(32) == "*"
    assert check_symbol(33) == "~"
    assert check_symbol(34) == "$"
    assert check_symbol(35) == "="
    assert check_symbol(36) == "U"
    assert check_symbol(37) == "0"
    top = 2**60 - 1
    assert code_of(top) == "ZZZZZZZZZZZZ"
    assert top % 37 == 9
    assert check_symbol(top) == "9"


def test_shown_in_groups_of_four():
    assert voucher_code_format("ABCDEFGHJKMNP") == "ABCD-EFGH-JKMN-P"


def test_read_back_in_lower_case_with_hyphens_spaces_and_aliases():
    number = 0b00001_00000_00000_00000_00000_00000_00000_00000_00000_00000_00000_00001
    code = code_of(number) + check_symbol(number)
    assert code == "100000000001" + check_symbol(number)
    typed = "i0oO-OOOO oooL-" + check_symbol(number).lower()
    assert voucher_code_parse(typed) == code
    assert voucher_code_parse(voucher_code_format(code).lower()) == code


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "ABCD-EFGH-JKMN",  # twelve symbols: the check symbol is missing
        "ABCD-EFGH-JKMN-PP",  # fourteen
        "ABCD-EFGH-JKMU-P",  # U is only a check symbol
        "ABCD-EFGH-JK#N-P",
        "ABCD-EFGH-JKMN-Ä",
    ],
)
def test_a_malformed_code_is_voucher_not_found(typed: str):
    with pytest.raises(VoucherNotFound) as refused:
        voucher_code_parse(typed)
    assert refused.value.details == {"voucher_code": "MALFORMED"}
    assert (refused.value.code, refused.value.http_status) == ("VOUCHER_NOT_FOUND", 404)


@given(st.integers(min_value=0, max_value=2**60 - 1), st.integers(0, 11), st.integers(1, 31))
def test_every_single_wrong_symbol_is_caught(number: int, position: int, shift: int):
    code = code_of(number) + check_symbol(number)
    wrong = ALPHABET[(ALPHABET.index(code[position]) + shift) % 32]
    typo = code[:position] + wrong + code[position + 1 :]
    with pytest.raises(VoucherNotFound):
        voucher_code_parse(typo)


@given(st.integers(min_value=0, max_value=2**60 - 1), st.integers(0, 10))
def test_every_swap_of_two_adjacent_symbols_is_caught(number: int, position: int):
    code = code_of(number) + check_symbol(number)
    if code[position] == code[position + 1]:
        return
    swapped = code[:position] + code[position + 1] + code[position] + code[position + 2 :]
    with pytest.raises(VoucherNotFound):
        voucher_code_parse(swapped)


@pytest.mark.django_db
@pytest.mark.parametrize("service", ["status", "redeem"])
def test_a_wrong_check_symbol_is_refused_before_any_database_read(service: str):
    code = voucher_code_new()
    wrong = code[:12] + CHECK_ALPHABET[(CHECK_ALPHABET.index(code[12]) + 1) % 37]
    platform = Partner(pk=1, code="toko", kind=PartnerKind.PLATFORM)
    with CaptureQueriesContext(connection) as queries, pytest.raises(VoucherNotFound):
        if service == "status":
            services.voucher_status(platform=platform, voucher_code=wrong)
        else:
            services.voucher_redeem(
                platform=platform,
                voucher_code=wrong,
                platform_user_ref="user-1",
                actor=Actor.partner(1, "toko"),
            )
    assert len(queries) == 0
