"""The near-duplicate check's band keys (catalog.flags), stored for the trainings already there.

The backfill calls catalog.flags.band_keys, the code of the day: keys are a function of the text and
the fixed MinHash parameters, and the check only works when every training's keys come from the
same parameters."""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models

BATCH = 2000


def _backfill(apps: Any, schema_editor: Any) -> None:
    from prakerja.catalog.flags import band_keys, shingles

    training_model = apps.get_model("catalog", "Training")
    band_model = apps.get_model("catalog", "TrainingTextBand")
    rows = training_model.objects.order_by("pk").values_list(
        "pk", "category", "title", "description"
    )
    last = 0
    while batch := list(rows.filter(pk__gt=last)[:BATCH]):
        band_model.objects.bulk_create(
            band_model(training_id=pk, category=category, key=key)
            for pk, category, title, description in batch
            for key in band_keys(shingles(title, description))
        )
        last = batch[-1][0]


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0002_training_search"),
    ]

    operations = [
        migrations.CreateModel(
            name="TrainingTextBand",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("category", models.CharField(max_length=60)),
                ("key", models.BigIntegerField()),
                (
                    "training",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="catalog.training",
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["category", "key"], name="catalog_band_lookup")],
            },
        ),
        migrations.RunPython(_backfill, migrations.RunPython.noop),
    ]
