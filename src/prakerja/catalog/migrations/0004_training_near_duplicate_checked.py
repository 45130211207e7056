"""A platform's new training waits for the near-duplicate check (catalog.flags) instead of the
partner call doing it: the trainings already there were checked when they were published."""

from django.db import migrations, models


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
    ]
