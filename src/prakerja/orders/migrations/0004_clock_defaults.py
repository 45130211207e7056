"""Model defaults read the program's clock (prakerja.common.clock.now), so the simulation sets
one clock instead of patching time. A callable default never reaches the database: the state
changes, the tables do not (SQLite would otherwise rebuild each table for nothing)."""

from django.db import migrations, models

import prakerja.common.clock


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0003_fewer_order_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="order",
                    name="issued_at",
                    field=models.DateTimeField(default=prakerja.common.clock.now),
                ),
                migrations.AlterField(
                    model_name="order",
                    name="updated_at",
                    field=models.DateTimeField(default=prakerja.common.clock.now),
                ),
                migrations.AlterField(
                    model_name="review",
                    name="created_at",
                    field=models.DateTimeField(default=prakerja.common.clock.now),
                ),
                migrations.AlterField(
                    model_name="review",
                    name="updated_at",
                    field=models.DateTimeField(default=prakerja.common.clock.now),
                ),
                migrations.AlterField(
                    model_name="settlement",
                    name="prepared_at",
                    field=models.DateTimeField(default=prakerja.common.clock.now),
                ),
            ],
            database_operations=[],
        ),
    ]
