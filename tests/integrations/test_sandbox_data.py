"""`prakerja sandbox-data vouchers`: synthetic participants drawn and credited through the real
selection path, each buying one active training of the platform; the vouchers printed exactly as the
database holds them; every refusal writes nothing."""

import datetime
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django.utils import timezone

from prakerja.audit.models import AuditEvent
from prakerja.catalog.models import Training
from prakerja.catalog.services import training_upsert
from prakerja.common.actors import Actor
from prakerja.common.timeutil import WIB
from prakerja.ledger.models import AccountKind
from prakerja.ledger.selectors import account_balance, ledger_integrity_report
from prakerja.orders.models import Order, OrderStatus
from prakerja.orders.selectors import iso_wib
from prakerja.orders.services import participant_ref_of
from prakerja.orders.vouchers import voucher_code_format
from prakerja.partners.models import OutboundEvent, Partner, PartnerStatus
from prakerja.registration.models import Registrant
from prakerja.waves.models import Participant, ProgramScheme, Wave, WaveApplication, WaveStatus
from prakerja.waves.revocation import participants_revoke_due
from prakerja.waves.selection import wave_select
from tests.catalog.kit import make_partner, training_body
from tests.orders.kit import (
    BALANCE,
    active_training,
    balance,
    credited,
    pending,
    platform,
    scheme_valid_for_a_year,
    snapshot,
)
from tests.waves.factory import OPERATOR, closed, join, open_wave, verified

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("sandbox_data", "vouchers", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def toko() -> Partner:
    """A platform with two active trainings the balance covers, one it does not, and one waiting
    for review."""
    scheme_valid_for_a_year()
    partner, _ = platform("toko-sandbox")
    active_training(partner, "kelas-a", price=300_000)
    active_training(partner, "kelas-b", price=450_000)
    active_training(partner, "kelas-mahal", price=BALANCE + 1_000)
    training_upsert(
        platform=partner,
        external_id="kelas-baru",
        data=training_body(title="Kelas Baru Menunggu", price_idr=100_000),
        actor=Actor.partner(partner.pk, partner.code),
    )
    return partner


def test_vouchers_are_issued_to_synthetic_participants_through_the_real_path(toko):
    # when five vouchers are asked for, as JSON
    printed = json.loads(run("--platform", "toko-sandbox", "--n", "5", "--json"))

    # then five orders exist, and the output is exactly what the database holds
    orders = list(Order.objects.select_related("training").order_by("pk"))
    assert printed == {
        "platform": "toko-sandbox",
        "vouchers": [
            {
                "voucher_code": voucher_code_format(order.voucher_code),
                "order_id": order.pk,
                "training_external_id": order.training.external_id,
                "price_idr": order.price_idr,
                "participant_ref": participant_ref_of(
                    platform_id=toko.pk, participant_id=order.participant_id
                ),
                "expires_at": iso_wib(order.expires_at),
            }
            for order in orders
        ],
    }
    # the active trainings the balance covers, in turn; all issued to the platform
    assert [(o.training.external_id, o.price_idr, o.status) for o in orders] == [
        ("kelas-a", 300_000, OrderStatus.ISSUED),
        ("kelas-b", 450_000, OrderStatus.ISSUED),
        ("kelas-a", 300_000, OrderStatus.ISSUED),
        ("kelas-b", 450_000, OrderStatus.ISSUED),
        ("kelas-a", 300_000, OrderStatus.ISSUED),
    ]
    assert {o.platform_id for o in orders} == {toko.pk}
    assert len({v["participant_ref"] for v in printed["vouchers"]}) == 5
    assert all(len(v["voucher_code"]) == 16 for v in printed["vouchers"])  # 13 symbols, 3 hyphens

    # drawn in a wave of their own, which is closed and drawn, each credited once
    (wave,) = Wave.objects.all()
    assert (wave.number, wave.quota, wave.status, wave.credited_at is not None) == (
        1,
        5,
        WaveStatus.SELECTED,
        True,
    )
    participants = list(Participant.objects.order_by("pk"))
    assert [p.pk for p in participants] == sorted(o.participant_id for o in orders)
    assert {p.wave_id for p in participants} == {wave.pk}
    assert WaveApplication.objects.filter(wave=wave, outcome="selected").count() == 5
    registrants = Registrant.objects.filter(pk__in=[p.registrant_id for p in participants])
    assert all(r.email.endswith("@sandbox.prakerja.test") for r in registrants)
    assert len({r.kk_index for r in registrants}) == 5

    # the money: each balance credited then charged the price, the platform's pending payable holds
    # the five prices, and the ledger is whole
    assert [balance(p) for p in participants] == [
        BALANCE - order.price_idr for order in sorted(orders, key=lambda o: o.participant_id)
    ]
    assert pending(toko) == 300_000 * 3 + 450_000 * 2
    assert account_balance(kind=AccountKind.PROGRAM_BUDGET) == -5 * BALANCE
    assert ledger_integrity_report().ok

    # and the platform is sent voucher.issued for each, in order per order id
    assert list(
        OutboundEvent.objects.filter(event_type="voucher.issued")
        .order_by("pk")
        .values_list("partner_id", "subject")
    ) == [(toko.pk, str(o.pk)) for o in orders]
    assert set(
        AuditEvent.objects.filter(event_type="order.purchased").values_list(
            "actor_label", flat=True
        )
    ) == {"system:cli:sandbox-data"}


def test_a_second_run_makes_a_new_wave_and_new_people(toko):
    first = json.loads(run("--platform", "toko-sandbox", "--n", "2", "--json"))
    second = json.loads(run("--platform", "toko-sandbox", "--n", "3", "--json"))

    assert (len(first["vouchers"]), len(second["vouchers"])) == (2, 3)
    assert Order.objects.count() == 5
    assert list(Wave.objects.order_by("number").values_list("number", "quota")) == [(1, 2), (2, 3)]
    assert Registrant.objects.count() == Participant.objects.count() == 5
    assert ledger_integrity_report().ok


def test_without_json_the_vouchers_are_a_table(toko):
    printed = run("--platform", "toko-sandbox", "--n", "2")

    lines = printed.splitlines()
    assert lines[0].split() == [
        "voucher_code",
        "order_id",
        "training_external_id",
        "price",
        "participant_ref",
    ]
    orders = list(Order.objects.select_related("training").order_by("pk"))
    for line, order in zip(lines[1:3], orders, strict=True):
        assert line.split() == [
            voucher_code_format(order.voucher_code),
            str(order.pk),
            order.training.external_id,
            f"Rp{order.price_idr:,}".replace(",", "."),
            participant_ref_of(platform_id=toko.pk, participant_id=order.participant_id),
        ]
    assert "2 vouchers of platform toko-sandbox (synthetic participants of wave 1)" in printed


def _other_platforms_only(toko: Partner) -> str:
    make_partner("bank-sandbox", kind="institution")
    return "bank-sandbox"


def _suspended(toko: Partner) -> str:
    Partner.objects.filter(pk=toko.pk).update(status=PartnerStatus.SUSPENDED)
    return toko.code


def _no_active_training(toko: Partner) -> str:
    platform("kosong")
    return "kosong"


def _only_dear_trainings(toko: Partner) -> str:
    dear, _ = platform("mahal")
    active_training(dear, "kelas-mahal-2", price=BALANCE + 1)
    return "mahal"


def _balances_lapsed(toko: Partner) -> str:
    ProgramScheme.objects.filter(code="2020").update(
        balance_expiry_date=timezone.localdate(timezone=WIB) - datetime.timedelta(days=1)
    )
    return toko.code


REFUSALS: list[tuple[Callable[[Partner], str], str]] = [
    (lambda toko: "nobody", "no partner with code 'nobody'"),
    (_other_platforms_only, "partner bank-sandbox is not a digital platform (institution)"),
    (_suspended, "platform toko-sandbox is suspended: its trainings are not sold"),
    (_no_active_training, "platform kosong has no active training that a training balance of "),
    (_only_dear_trainings, "platform mahal has no active training that a training balance of "),
    (_balances_lapsed, "the active scheme 2020's training balances lapsed after "),
]


@pytest.mark.parametrize(("prepare", "message"), REFUSALS)
def test_a_refusal_says_why_and_writes_nothing(toko, prepare, message):
    # given a reason to refuse
    code = prepare(toko)
    before = everything()

    # when vouchers are asked for
    with pytest.raises(CommandError) as refused:
        run("--platform", code, "--n", "5", "--json")

    # then the command says why, and nothing was written
    assert str(refused.value).startswith(message)
    assert str(refused.value).endswith("(nothing was written)")
    assert everything() == before


@pytest.mark.parametrize("n", ["0", "-1", "501"])
def test_a_count_out_of_range_is_refused(toko, n):
    before = everything()
    with pytest.raises(CommandError, match=f"--n must be between 1 and 500, not {n}"):
        run("--platform", "toko-sandbox", "--n", n)
    assert everything() == before


@override_settings(SANDBOX_DATA_ALLOWED=False)
def test_outside_a_sandbox_setting_nothing_is_written(toko):
    before = everything()
    with pytest.raises(CommandError, match="not in a sandbox setting"):
        run("--platform", "toko-sandbox", "--n", "5", "--json")
    assert everything() == before


def test_a_draw_that_leaves_someone_out_keeps_nothing(toko, monkeypatch):
    # given a draw that selects fewer people than applied (here: the wave's quota shrunk)
    from prakerja.integrations.platform import sandbox_data

    real_wave = sandbox_data._wave_of_its_own

    def smaller_wave(**kwargs: Any) -> Wave:
        return real_wave(**{**kwargs, "quota": kwargs["quota"] - 1})

    monkeypatch.setattr(sandbox_data, "_wave_of_its_own", smaller_wave)
    before = everything()

    # when vouchers are asked for, then the run is refused and rolled back whole
    with pytest.raises(CommandError, match="the draw selected 2 of the 3 synthetic applicants"):
        run("--platform", "toko-sandbox", "--n", "3")
    assert everything() == before


# --- whatever the program's waves are doing -------------------------------------------------------

PROGRAM_SEED = "the-program-s-own-wave"


def _the_program(state: str) -> Wave | None:
    """The program's own waves: wave 1 drawn, three participants, one of whom bought nothing in
    time and was revoked (a place freed for the next draw); then wave 2 open with three applicants,
    or closed with them and not drawn yet, or no wave 2."""
    first = credited(3)
    Participant.objects.filter(pk=first[0].pk).update(
        purchase_deadline=timezone.now() - datetime.timedelta(hours=1)
    )
    assert participants_revoke_due(actor=OPERATOR) == 1
    if state == "none":
        return None
    wave = open_wave(quota=5, seed=PROGRAM_SEED)
    join(wave, verified(3))
    return closed(wave) if state == "closed" else wave


def the_program_s_state(wave_ids: list[int]) -> dict[str, Any]:
    return {
        "waves": list(
            Wave.objects.filter(pk__in=wave_ids)
            .order_by("pk")
            .values_list(
                "pk",
                "number",
                "status",
                "quota",
                "quota_freed",
                "seed_commitment",
                "carried_into_id",
                "opens_at",
                "closes_at",
            )
        ),
        "applications": list(
            WaveApplication.objects.filter(wave_id__in=wave_ids)
            .order_by("pk")
            .values_list("pk", "wave_id", "registrant_id", "outcome", "carried_from_id")
        ),
        "participants": list(
            Participant.objects.filter(wave_id__in=wave_ids)
            .order_by("pk")
            .values_list("pk", "status", "quota_returned_to_id", "credited_at")
        ),
    }


@pytest.mark.parametrize("state", ["open", "closed", "none"])
def test_it_works_whatever_the_program_s_waves_are_doing_and_leaves_them_as_they_were(
    toko: Partner, state: str
):
    # given the program's own waves in that state, with a place freed by a revocation
    program_wave = _the_program(state)
    program_waves = list(Wave.objects.order_by("pk").values_list("pk", flat=True))
    before = the_program_s_state(program_waves)

    # when sandbox data is asked for three times in a row
    runs = [json.loads(run("--platform", "toko-sandbox", "--n", "5", "--json")) for _ in range(3)]

    # then every run issued five vouchers, to fifteen people in all, in three waves of their own
    assert [len(printed["vouchers"]) for printed in runs] == [5, 5, 5]
    orders = list(Order.objects.filter(platform=toko).order_by("pk"))
    assert [o.pk for o in orders] == [v["order_id"] for r in runs for v in r["vouchers"]]
    assert len({o.participant_id for o in orders}) == 15
    own = list(Wave.objects.exclude(pk__in=program_waves).order_by("number"))
    first_number = len(program_waves) + 1
    assert [
        (w.number, w.status, w.quota, w.quota_freed, w.credited_at is not None, w.carried_into_id)
        for w in own
    ] == [(first_number + i, WaveStatus.SELECTED, 5, 0, True, None) for i in range(3)]
    assert WaveApplication.objects.filter(wave__in=own).exclude(outcome="selected").count() == 0
    # the program's waves, applications, participants and freed place are exactly as they were
    assert the_program_s_state(program_waves) == before
    revoked = Participant.objects.get(status="revoked")
    assert revoked.quota_returned_to_id is None
    # (each run's draw took the freed place over, as every draw does, and gave it back)
    assert AuditEvent.objects.filter(event_type="wave.quota_given_back").count() == 3
    # the money: each synthetic participant credited once from the budget and charged the price;
    # the ledger is whole, as `prakerja ledger check` says
    program_people = Participant.objects.filter(wave_id__in=program_waves).count()
    assert account_balance(kind=AccountKind.PROGRAM_BUDGET) == -(program_people + 15) * BALANCE
    # each run alternates kelas-a and kelas-b from kelas-a: three of one, two of the other
    assert pending(toko) == sum(o.price_idr for o in orders) == 3 * (3 * 300_000 + 2 * 450_000)
    assert [balance(o.participant) for o in orders] == [BALANCE - o.price_idr for o in orders]
    checked = io.StringIO()
    call_command("ledger", "check", stdout=checked)
    assert checked.getvalue().startswith("ledger check OK")

    # and the program goes on: its wave still takes applicants, and its draw gets the freed place
    if program_wave is None:
        return
    if state == "open":
        join(program_wave, verified(1))
        program_wave = closed(program_wave)
    drawn = wave_select(wave=program_wave, seed=PROGRAM_SEED, actor=OPERATOR)
    applicants = 4 if state == "open" else 3
    assert (drawn.quota, drawn.selected) == (5 + 1, applicants)
    assert Participant.objects.get(pk=revoked.pk).quota_returned_to_id == program_wave.pk
    assert ledger_integrity_report().ok


def everything() -> dict[str, Any]:
    return {
        **snapshot(),
        "registrants": Registrant.objects.count(),
        "waves": list(Wave.objects.order_by("pk").values_list("pk", "status")),
        "applications": WaveApplication.objects.count(),
        "participants": Participant.objects.count(),
        "trainings": list(Training.objects.order_by("pk").values_list("pk", "status", "buyers")),
    }


@pytest.mark.django_db(transaction=True)
def test_the_command_runs_as_prakerja_sandbox_data(child_env):
    # given a platform with an active training, in a database a subprocess can reach
    ProgramScheme.objects.get_or_create(
        code="2020", defaults={"name": "Kartu Prakerja 2020", "is_active": True}
    )
    scheme_valid_for_a_year()
    partner, _ = platform("toko-cli")
    active_training(partner, "kelas-cli", price=250_000)

    def prakerja(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "prakerja.cli", *args],
            env=child_env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    # when it is run as people type it
    done = prakerja("sandbox-data", "vouchers", "--platform", "toko-cli", "--n", "2", "--json")
    refused = prakerja("sandbox-data", "vouchers", "--platform", "nobody")

    # then it prints the vouchers as JSON, and a refusal exits non-zero with the reason
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert [v["order_id"] for v in printed["vouchers"]] == list(
        Order.objects.order_by("pk").values_list("pk", flat=True)
    )
    assert refused.returncode == 1
    assert "no partner with code 'nobody' (nothing was written)" in refused.stderr
    assert Order.objects.count() == 2


@pytest.mark.parametrize(
    ("variables", "allowed"),
    [
        ({}, True),  # the embedded default: email kept in the sandbox inbox
        ({"PRAKERJA_EMAIL_URL": "smtp://mail.example:587"}, False),
        ({"PRAKERJA_EMAIL_URL": "smtp://mail.example:587", "PRAKERJA_DEBUG": "true"}, True),
        ({"PRAKERJA_SANDBOX_DATA_ALLOWED": "false"}, False),
        (
            {"PRAKERJA_EMAIL_URL": "smtp://mail.example:587", "PRAKERJA_SANDBOX_DATA_ALLOWED": "1"},
            True,
        ),
    ],
)
def test_sandbox_data_is_allowed_only_in_a_sandbox_setting(variables, allowed, tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PRAKERJA_EMAIL_URL", "PRAKERJA_DEBUG", "PRAKERJA_SANDBOX_DATA_ALLOWED")
    }
    env.update(variables, PRAKERJA_DATA_DIR=str(tmp_path))
    env["DJANGO_SETTINGS_MODULE"] = "prakerja.config.settings"
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.conf import settings; print(settings.SANDBOX_DATA_ALLOWED)",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert shown.stdout.strip() == str(allowed)
