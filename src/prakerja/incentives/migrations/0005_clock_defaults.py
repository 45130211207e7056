"""Model defaults read the program's clock (prakerja.common.clock.now), so the simulation sets
one clock instead of patching time. A callable default never reaches the database: the state
changes, the tables do not (SQLite would otherwise rebuild each table for nothing)."""

from django.db import migrations, models

import prakerja.common.clock


class Migration(migrations.Migration):
    dependencies = [
        ("incentives", "0004_held_by_reason"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="disbursementrun",
                    name="prepared_at",
                    field=models.DateTimeField(default=prakerja.common.clock.now),
                ),
                migrations.AlterField(
                    model_name="entitlement",
                    name="created_at",
                    field=models.DateTimeField(default=prakerja.common.clock.now),
                ),
                migrations.AlterField(
                    model_name="entitlement",
                    name="updated_at",
                    field=models.DateTimeField(default=prakerja.common.clock.now),
                ),
                migrations.AlterField(
                    model_name="paymentaccount",
                    name="created_at",
                    field=models.DateTimeField(default=prakerja.common.clock.now),
                ),
                migrations.AlterField(
                    model_name="statement",
                    name="received_at",
                    field=models.DateTimeField(default=prakerja.common.clock.now),
                ),
                migrations.AlterField(
                    model_name="surveyresponse",
                    name="submitted_at",
                    field=models.DateTimeField(default=prakerja.common.clock.now),
                ),
            ],
            database_operations=[],
        ),
    ]
