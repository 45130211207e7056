"""A platform's new training waits for the near-duplicate check (catalog.flags) instead of the
partner call doing it: the trainings already there were checked when they were published.

SQLite rebuilds the table to add the column, which drops the full-text triggers and raw indexes of
0002: they are installed again (0002's install_sqlite, safe to run again)."""

import importlib
from typing import Any

from django.db import migrations, models


def _search_again(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "sqlite":
        search = importlib.import_module("prakerja.catalog.migrations.0002_training_search")
        search.install_sqlite(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0003_training_text_bands"),
        ("partners", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="training",
            name="near_duplicate_checked",
            field=models.BooleanField(default=True),
        ),
        migrations.AddIndex(
            model_name="training",
            index=models.Index(
                condition=models.Q(("near_duplicate_checked", False)),
                fields=["id"],
                name="catalog_training_unchecked",
            ),
        ),
        migrations.RunPython(_search_again, migrations.RunPython.noop),
    ]
