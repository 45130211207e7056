import re

import pytest

import prakerja.ledger.services
import prakerja.waves.selectors  # noqa: F401
from prakerja.common.errors import ApplicationError, InsufficientBalance, all_error_classes


def test_error_body_follows_the_partner_api_contract():
    error = InsufficientBalance(details={"account_id": 7})
    assert error.body("en") == {
        "error": {
            "code": "INSUFFICIENT_BALANCE",
            "message": "The balance is not enough for this transaction.",
            "details": {"account_id": 7},
        }
    }
    assert error.body("id")["error"]["message"] == "Saldo tidak mencukupi untuk transaksi ini."


@pytest.mark.parametrize("error_class", all_error_classes(), ids=lambda c: c.code)
def test_every_error_has_a_stable_code_and_both_languages(error_class: type[ApplicationError]):
    assert re.fullmatch(r"[A-Z][A-Z0-9_]+", error_class.code)
    assert 400 <= error_class.http_status < 600
    assert error_class.message_id and error_class.message_en
    assert error_class.message_id != error_class.message_en


def test_codes_are_unique():
    codes = [cls.code for cls in all_error_classes()]
    assert len(codes) == len(set(codes))


def test_message_templates_take_parameters():
    class Demo(ApplicationError):
        code = "DEMO_ONLY_FOR_TEST"
        message_id = "Sisa {left} kali."
        message_en = "{left} attempts left."

    assert Demo(left=2).message("id") == "Sisa 2 kali."
    assert Demo(left=2).message("en") == "2 attempts left."
