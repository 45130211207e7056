"""The published 2020 figures (../shared/spec/figures.md) and the calendar the simulation plays.

The calendar is an assumption where the sources are silent: waves 1–3 as announced in April 2020,
wave 4 postponed to June (program.md §3), waves 5–7 a fortnight apart, and 15 September 2020, the
day of the funnel snapshot, as the last day played. The quota of each wave is what it selected in
2020: 168.111, 288.154 and 224.000 for waves 1–3 (the 680.000 of 19 May), 800.000 each for waves
4–6 and 799.735 for wave 7, which sum to the 3,88 million participants of 15 September.
"""

import datetime
import itertools
from dataclasses import dataclass

D = datetime.date

START = D(2020, 4, 11)
END = D(2020, 9, 15)  # the snapshot of figures.md

REGISTRANTS = 23_170_000
EMAIL_VERIFIED = 18_000_000
NIK_VALIDATED = 13_400_000
PHONE_VERIFIED = 12_000_000
PARTICIPANTS = 3_880_000
BOUGHT = 3_200_000
COMPLETED = 2_000_000
RECEIVED_INCENTIVE = 1_200_000
INCENTIVE_DISBURSED_IDR = 1_600_000_000_000
TRANSFERS_PER_DAY = (60_000, 80_000)  # not a scheme value: what the PMO did (the capacity is)
QUOTA_TARGET = 5_600_000

SURVEY_EFFECTIVE = 0.92
SURVEY_HELPED = 0.96
SURVEY_EMPLOYMENT = {"unemployed": 0.808, "employee": 0.121, "business_owner": 0.071}

# Registrants by that day, cumulative (figures.md's snapshots); linear in between.
ARRIVALS = (
    (START, 0),
    (D(2020, 4, 22), 7_600_000),
    (D(2020, 6, 8), 11_000_000),
    (END, REGISTRANTS),
)


@dataclass(frozen=True)
class WaveDates:
    number: int
    opens: datetime.date
    closes: datetime.date  # applications until the end of this day; drawn the next morning
    selected: int  # participants it selected in 2020


WAVES = (
    WaveDates(1, D(2020, 4, 11), D(2020, 4, 16), 168_111),
    WaveDates(2, D(2020, 4, 20), D(2020, 4, 23), 288_154),
    WaveDates(3, D(2020, 4, 26), D(2020, 4, 30), 224_000),
    WaveDates(4, D(2020, 6, 20), D(2020, 6, 25), 800_000),
    WaveDates(5, D(2020, 7, 4), D(2020, 7, 9), 800_000),
    WaveDates(6, D(2020, 7, 18), D(2020, 7, 23), 800_000),
    WaveDates(7, D(2020, 8, 1), D(2020, 8, 6), 799_735),
)
assert sum(w.selected for w in WAVES) == 3_880_000


def scaled(value: int, scale: float) -> int:
    return round(value * scale)


def registrants_by(day: datetime.date, scale: float) -> int:
    """Scaled registrants who have signed up by the end of `day`."""
    total = scaled(REGISTRANTS, scale)
    for (d0, n0), (d1, n1) in itertools.pairwise(ARRIVALS):
        if day <= d1:
            if day < d0:
                return 0
            span = (d1 - d0).days
            share = (n0 + (n1 - n0) * ((day - d0).days + 1) / (span + 1)) / REGISTRANTS
            return min(total, round(total * share))
    return total
