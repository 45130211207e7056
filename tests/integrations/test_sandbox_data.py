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
from tests.catalog.kit import make_partner, training_body
from tests.orders.kit import (
    BALANCE,
    active_training,
    balance,
    pending,
    platform,
    scheme_valid_for_a_year,
    snapshot,
)
from tests.waves.factory import open_wave

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


def _a_wave_open(toko: Partner) -> str:
    open_wave(quota=10)
    return toko.code


REFUSALS: list[tuple[Callable[[Partner], str], str]] = [
    (lambda toko: "nobody", "no partner with code 'nobody'"),
    (_other_platforms_only, "partner bank-sandbox is not a digital platform (institution)"),
    (_suspended, "platform toko-sandbox is suspended: its trainings are not sold"),
    (_no_active_training, "platform kosong has no active training that a training balance of "),
    (_only_dear_trainings, "platform mahal has no active training that a training balance of "),
    (_balances_lapsed, "the active scheme 2020's training balances lapsed after "),
    (_a_wave_open, "wave 1 is open for applications: sandbox data draws its participants in a "),
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
    from prakerja.waves import services

    real_create = services.wave_create

    def smaller_wave(**kwargs: Any) -> Wave:
        return real_create(**{**kwargs, "quota": kwargs["quota"] - 1})

    monkeypatch.setattr(sandbox_data.waves, "wave_create", smaller_wave)
    before = everything()

    # when vouchers are asked for, then the run is refused and rolled back whole
    with pytest.raises(CommandError, match="the draw selected 2 of the 3 synthetic applicants"):
        run("--platform", "toko-sandbox", "--n", "3")
    assert everything() == before


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
