import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from prakerja.ledger.models import AccountKind
from prakerja.ledger.selectors import account_balance
from prakerja.ops.demo import demo_seed
from prakerja.ops.demo_program import demo_program_seed


def test_check_passes_on_demo_data_with_money_moved(db, capsys):
    demo_seed()
    demo_program_seed()  # wave 1 drawn: 40 participants credited
    demo_program_seed()  # a restarted demo adds nothing

    call_command("ledger", "check")

    assert capsys.readouterr().out.startswith("ledger check OK: 43 accounts, 40 transactions")
    assert account_balance(kind=AccountKind.PROGRAM_BUDGET) == -40 * 1_000_000


def test_check_names_the_account_whose_balance_row_was_corrupted(book, capsys):
    participant = book.participant(42, credit=1_000_000)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE ledger_balance SET amount = amount + 1 WHERE account_id = %s", [participant]
        )

    with pytest.raises(CommandError, match="1 problem"):
        call_command("ledger", "check")

    assert capsys.readouterr().err.strip() == (
        f"MISMATCH account #{participant} (training_balance, owner 42): balance row says "
        "Rp1.000.001 but its legs sum to Rp1.000.000"
    )


def test_check_flags_a_flag_flipped_to_allow_a_negative_participant(book, capsys):
    participant = book.participant(7)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE ledger_balance SET may_go_negative = %s WHERE account_id = %s",
            [True, participant],
        )
    with pytest.raises(CommandError):
        call_command("ledger", "check")
    assert "may_go_negative flag does not fit its kind" in capsys.readouterr().err


def test_prakerja_ledger_check_exits_non_zero_from_the_console(child_env, actor):
    from tests.ledger.conftest import Book

    book = Book(actor)
    participant = book.participant(3, credit=5_000)
    ok = subprocess.run(
        [sys.executable, "-m", "prakerja.cli", "ledger", "check"],
        env=child_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE ledger_balance SET amount = 4000 WHERE account_id = %s", [participant]
        )

    broken = subprocess.run(
        [sys.executable, "-m", "prakerja.cli", "ledger", "check"],
        env=child_env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert broken.returncode == 1
    assert f"account #{participant} (training_balance, owner 3)" in broken.stderr
    assert "Rp4.000 but its legs sum to Rp5.000" in broken.stderr
