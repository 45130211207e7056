from datetime import UTC, datetime
from decimal import Decimal

import pytest

from prakerja.common.money import format_rupiah, require_rupiah
from prakerja.common.timeutil import format_wib, to_wib


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (0, "Rp0"),
        (999, "Rp999"),
        (1_000, "Rp1.000"),
        (1_000_000, "Rp1.000.000"),
        (3_550_000, "Rp3.550.000"),
        (1_600_000_000_000, "Rp1.600.000.000.000"),
        (-50_000, "-Rp50.000"),
    ],
)
def test_rupiah_is_written_the_indonesian_way(amount, text):
    assert format_rupiah(amount) == text


@pytest.mark.parametrize("amount", [1.0, Decimal("1000"), True, "1000"])
def test_only_integers_are_rupiah(amount):
    with pytest.raises(TypeError):
        require_rupiah(amount)


def test_times_are_shown_in_wib_from_utc():
    # 64.251 participants had been credited by 17:36 WIB on 22 April 2020 = 10:36 UTC
    moment = datetime(2020, 4, 22, 10, 36, tzinfo=UTC)
    assert to_wib(moment).hour == 17
    assert format_wib(moment) == "22 Apr 2020 17.36 WIB"
    assert format_wib(moment, language="en") == "22 Apr 2020 17:36 WIB"
    assert format_wib(datetime(2020, 8, 16, 20, 0, tzinfo=UTC)) == "17 Agu 2020 03.00 WIB"


def test_naive_times_are_refused():
    with pytest.raises(ValueError):
        to_wib(datetime(2020, 4, 22, 10, 36))
