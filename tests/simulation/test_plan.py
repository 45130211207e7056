"""The plan meets figures.md's shares exactly, the same seed gives the same plan, and the texts and
answers the simulated people write keep the properties the simulation relies on."""

import datetime
from collections import Counter

import pytest

from prakerja.orders.reviews import text_hash
from prakerja.simulation import figures as F
from prakerja.simulation.plan import (
    NAME_TYPO,
    NIK_TYPO,
    NO_EMAIL,
    NO_PHONE,
    VERIFIED,
    plan_build,
)
from prakerja.simulation.texts import ShareDealer, review_text, ring_text


@pytest.fixture(scope="module")
def plan():
    return plan_build(0.0005, 11)


def test_every_registration_stage_has_exactly_its_published_share(plan):
    fates = Counter(plan.fates)

    assert plan.registrants == 11_585
    assert fates[VERIFIED] == 6_000  # 12,0 M of 23,17 M
    assert fates[VERIFIED] + fates[NO_PHONE] == 6_700  # NIK validated: 13,4 M
    assert fates[VERIFIED] + fates[NO_PHONE] + fates[NAME_TYPO] + fates[NIK_TYPO] == 9_000
    assert fates[NO_EMAIL] == 2_585


def test_arrivals_follow_the_published_snapshots(plan):
    by_22_april = (datetime.date(2020, 4, 22) - F.START).days
    arrived = sum(1 for day in plan.arrival_day if day <= by_22_april)

    assert arrived == round(11_585 * 7_600_000 / F.REGISTRANTS)
    assert max(plan.arrival_day) == (F.END - F.START).days
    assert list(plan.arrival_day) == sorted(plan.arrival_day)


def test_the_injected_families_and_excluded_people_all_verify_and_families_come_in_wave_1(plan):
    wave_1 = (F.WAVES[0].closes - F.START).days
    members = [k for trio in plan.kk_families for k in trio]

    assert len(plan.kk_families) == 5 and len(plan.excluded_before) == 50
    assert all(plan.fates[k] == VERIFIED for k in [*members, *plan.excluded_before])
    assert all(plan.arrival_day[k] <= wave_1 for k in members)
    assert all(plan.sign_up(k).employment == "laid_off" for k in members)
    for trio in plan.kk_families:
        assert len({plan.people[plan.order[k]].kk_number for k in trio}) == 1
    assert len(plan.duplicate_of) == 25


def test_the_same_seed_gives_the_same_plan_and_another_seed_another(plan):
    again = plan_build(0.0005, 11)
    other = plan_build(0.0005, 12)

    assert (again.order, again.fates, again.arrival_day) == (
        plan.order,
        plan.fates,
        plan.arrival_day,
    )
    assert [again.sign_up(k) for k in range(50)] == [plan.sign_up(k) for k in range(50)]
    assert other.order != plan.order


def test_typos_make_the_registry_check_fail_the_way_the_plan_says(plan):
    name_typo = next(k for k in range(plan.registrants) if plan.fates[k] == NAME_TYPO)
    nik_typo = next(k for k in range(plan.registrants) if plan.fates[k] == NIK_TYPO)
    person = plan.people[plan.order[name_typo]]

    assert plan.sign_up(name_typo).nik == person.nik
    assert plan.sign_up(name_typo).full_name.upper() != person.full_name
    assert plan.sign_up(nik_typo).nik != plan.people[plan.order[nik_typo]].nik
    assert plan.sign_up(nik_typo).nik[12:] >= "9000"


def test_honest_reviews_never_share_a_text_and_ring_members_do():
    hashes = {text_hash(review_text(participant)) for participant in range(1, 60_001)}

    assert len(hashes) == 60_000
    assert all(len(review_text(p)) >= 20 for p in range(1, 200))
    assert text_hash(ring_text(4)) != text_hash(ring_text(5))
    assert ring_text(4) == ring_text(4)


def test_answers_are_dealt_to_their_shares_within_one():
    dealer = ShareDealer(F.SURVEY_EMPLOYMENT, {})
    for n in range(1, 1001):
        dealer.deal()
        for code, share in F.SURVEY_EMPLOYMENT.items():
            assert abs(dealer.given[code] - n * share) <= 1

    assert dealer.given == {"unemployed": 808, "employee": 121, "business_owner": 71}


def test_fates_meet_the_participant_shares_wave_after_wave_and_a_replayed_wave_keeps_them():
    from prakerja.simulation.fates import FateBook, Training

    book = FateBook(0.0005, 3, [Training(1, 10, 250_000, 8), Training(2, 11, 400_000, 30)])
    sizes = [84, 144, 112, 400, 400, 400, 400]
    first_id = 1
    for number, size in enumerate(sizes, start=1):
        ids = list(range(first_id, first_id + size))
        made = book.add_wave(number, F.WAVES[number - 1].closes, ids)
        first_id += size
        seen = sum(sizes[:number])
        fates = list(book.fates.values())
        assert len(made) == size
        assert sum(f.buys for f in fates) == round(seen * F.BOUGHT / F.PARTICIPANTS)
        assert sum(f.completes for f in fates) == round(seen * F.COMPLETED / F.PARTICIPANTS)
        assert sum(f.recipient for f in fates) == round(
            seen * F.RECEIVED_INCENTIVE / F.PARTICIPANTS
        )
    before = dict(book.fates)

    assert book.add_wave(7, F.WAVES[6].closes, list(range(first_id - 400, first_id))) == []
    assert book.fates == before
    assert all(f.complete_day is None or f.complete_day <= F.END for f in before.values())
    rings: dict[int, set[tuple]] = {}
    for f in before.values():
        if f.bad == "review_ring":
            rings.setdefault(f.ring, set()).add((f.training_id, f.buy_day, f.complete_day))
    assert len(rings) == 3 and all(len(days) == 1 for days in rings.values())
