"""An idempotency key's row is written on every partner call: the partner's own index goes, since
the unique (partner, external_id) index starts with the partner and serves the same lookups."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("partners", "0001_initial")]

    operations = [
        migrations.AlterField(
            model_name="idempotentcall",
            name="partner",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="partners.partner",
            ),
        ),
    ]
