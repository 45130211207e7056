"""Model defaults read the program's clock (prakerja.common.clock.now), so the simulation sets
one clock instead of patching time. A callable default never reaches the database: the state
changes, the tables do not (SQLite would otherwise rebuild each table for nothing)."""

from django.db import migrations, models

import prakerja.common.clock


class Migration(migrations.Migration):
    dependencies = [
        ("grievances", "0002_append_only"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="complaint",
                    name="filed_at",
                    field=models.DateTimeField(default=prakerja.common.clock.now),
                ),
                migrations.AlterField(
                    model_name="complaintevent",
                    name="at",
                    field=models.DateTimeField(default=prakerja.common.clock.now),
                ),
            ],
            database_operations=[],
        ),
    ]
