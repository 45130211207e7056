import datetime
import re
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from prakerja.audit.models import AuditEvent
from prakerja.common.actors import Actor
from prakerja.waves.models import ProgramScheme
from prakerja.waves.selectors import NoActiveScheme, scheme_active
from prakerja.waves.services import scheme_save

pytestmark = pytest.mark.django_db


def test_the_active_scheme_is_2020_with_program_md_numbers():
    scheme = scheme_active()
    assert scheme.code == "2020"
    assert (
        scheme.training_balance_idr,
        scheme.first_purchase_window_days,
        scheme.balance_expiry_date,
        scheme.incentive_monthly_idr,
        scheme.incentive_months,
        scheme.survey_incentive_idr,
        scheme.survey_count,
        scheme.wave_quota,
        scheme.daily_disbursement_capacity,
        scheme.max_participants_per_family,
        scheme.min_age_years,
    ) == (1_000_000, 30, datetime.date(2020, 12, 15), 600_000, 4, 50_000, 3, 200_000, 80_000, 2, 18)
    assert scheme.incentive_total_idr == 2_400_000
    assert scheme.survey_total_idr == 150_000
    assert scheme.max_per_participant_idr == 3_550_000


def test_the_2023_scheme_is_data_too():
    scheme = ProgramScheme.objects.get(code="2023")
    assert scheme.is_active is False
    assert scheme.max_per_participant_idr == 3_500_000 + 600_000 + 100_000
    assert scheme.first_purchase_window_days == 15


def test_activating_a_scheme_deactivates_the_other_and_is_audited():
    admin = Actor("user", 1, "user:admin")
    scheme = ProgramScheme.objects.get(code="2023")
    scheme.is_active = True

    scheme_save(scheme=scheme, actor=admin)

    assert scheme_active().code == "2023"
    assert ProgramScheme.objects.filter(is_active=True).count() == 1
    event = AuditEvent.objects.get(event_type="scheme.changed")
    assert event.actor_label == "user:admin"
    assert event.subject_id == str(scheme.pk)
    assert event.details == {"changes": {"is_active": [False, True]}}


def test_an_invalid_scheme_edit_is_refused_and_changes_nothing():
    scheme = scheme_active()
    scheme.training_balance_idr = 0
    with pytest.raises(ValidationError):
        scheme_save(scheme=scheme, actor=Actor.system("tests"))
    assert scheme_active().training_balance_idr == 1_000_000
    assert AuditEvent.objects.count() == 0


def test_no_active_scheme_is_a_clear_error():
    ProgramScheme.objects.update(is_active=False)
    with pytest.raises(NoActiveScheme) as refused:
        scheme_active()
    assert refused.value.code == "NO_ACTIVE_SCHEME"


SCHEME_NUMBERS = re.compile(
    r"(?<![\w.])(1_?000_?000|600_?000|2_?400_?000|50_?000|150_?000|200_?000|80_?000|3_?550_?000)(?![\w.])"
)


def test_no_code_outside_the_scheme_states_the_scheme_numbers():
    source = Path(__file__).resolve().parents[2] / "src" / "prakerja"
    allowed = {source / "waves" / "models.py"}
    offenders = [
        f"{path.relative_to(source)}:{number}: {line.strip()}"
        for path in source.rglob("*.py")
        if path not in allowed and "migrations" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if SCHEME_NUMBERS.search(line) and "# not a scheme value:" not in line
    ]
    assert offenders == []


def test_an_operator_edits_the_scheme_in_the_admin_and_the_edit_is_audited(admin_client):
    scheme = scheme_active()
    form = {
        "code": "2020",
        "name": "Kartu Prakerja 2020",
        "is_active": "on",
        "training_balance_idr": "1000000",
        "first_purchase_window_days": "30",
        "balance_expiry_date": "2020-12-15",
        "incentive_monthly_idr": "600000",
        "incentive_months": "3",  # the first article's count (000): the count is a setting
        "survey_incentive_idr": "50000",
        "survey_count": "3",
        "wave_quota": "200000",
        "daily_disbursement_capacity": "80000",
        "max_participants_per_family": "2",
        "min_age_years": "18",
        "rating_min_reviews": "10",
    }

    answer = admin_client.post(f"/admin/waves/programscheme/{scheme.pk}/change/", form)

    assert answer.status_code == 302
    assert scheme_active().incentive_months == 3
    assert scheme_active().max_per_participant_idr == 1_000_000 + 1_800_000 + 150_000
    event = AuditEvent.objects.get(event_type="scheme.changed")
    assert event.actor_label == "user:admin"
    assert event.details == {"changes": {"incentive_months": [4, 3]}}


def test_the_admin_refuses_an_invalid_amount_and_changes_nothing(admin_client):
    scheme = scheme_active()
    page = admin_client.get(f"/admin/waves/programscheme/{scheme.pk}/change/")
    assert page.status_code == 200
    answer = admin_client.post(
        f"/admin/waves/programscheme/{scheme.pk}/change/",
        {"code": "2020", "name": "x", "training_balance_idr": "-5"},
    )
    assert answer.status_code == 200  # the form comes back with its errors
    assert scheme_active().training_balance_idr == 1_000_000
    assert scheme_active().name == "Kartu Prakerja 2020"
    assert AuditEvent.objects.exclude(event_type="console.action").count() == 0
