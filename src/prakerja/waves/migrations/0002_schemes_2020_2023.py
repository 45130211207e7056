"""The 2020 scheme (active; the model's defaults) and the 2023 scheme as a second, inactive row:
program.md §7 — later schemes change the numbers, so the numbers are data."""

import datetime

from django.db import migrations


def add_schemes(apps, schema_editor):  # type: ignore[no-untyped-def]
    scheme = apps.get_model("waves", "ProgramScheme")
    scheme.objects.get_or_create(
        code="2020", defaults={"name": "Kartu Prakerja 2020", "is_active": True}
    )
    scheme.objects.get_or_create(
        code="2023",
        defaults={
            "name": "Kartu Prakerja 2023",
            "is_active": False,
            "training_balance_idr": 3_500_000,
            "first_purchase_window_days": 15,
            "balance_expiry_date": datetime.date(2023, 12, 31),
            "incentive_monthly_idr": 600_000,
            "incentive_months": 1,
            "survey_incentive_idr": 50_000,
            "survey_count": 2,
        },
    )


class Migration(migrations.Migration):
    dependencies = [("waves", "0001_initial")]
    operations = [migrations.RunPython(add_schemes, migrations.RunPython.noop)]
