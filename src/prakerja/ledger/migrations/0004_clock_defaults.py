"""Model defaults read the program's clock (prakerja.common.clock.now), so the simulation sets
one clock instead of patching time. A callable default never reaches the database: the state
changes, the tables do not (SQLite would otherwise rebuild each table for nothing)."""

from django.db import migrations, models

import prakerja.common.clock


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0003_platform_pending"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="account",
                    name="created_at",
                    field=models.DateTimeField(default=prakerja.common.clock.now),
                ),
                migrations.AlterField(
                    model_name="transaction",
                    name="created_at",
                    field=models.DateTimeField(db_index=True, default=prakerja.common.clock.now),
                ),
            ],
            database_operations=[],
        ),
    ]
