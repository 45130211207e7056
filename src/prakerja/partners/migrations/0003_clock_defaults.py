"""Model defaults read the program's clock (prakerja.common.clock.now), so the simulation sets
one clock instead of patching time. A callable default never reaches the database: the state
changes, the tables do not (SQLite would otherwise rebuild each table for nothing)."""

from django.db import migrations, models

import prakerja.common.clock


class Migration(migrations.Migration):
    dependencies = [
        ("partners", "0002_idempotent_call_partner_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="deliveryattempt",
                    name="attempted_at",
                    field=models.DateTimeField(default=prakerja.common.clock.now),
                ),
                migrations.AlterField(
                    model_name="idempotentcall",
                    name="created_at",
                    field=models.DateTimeField(db_index=True, default=prakerja.common.clock.now),
                ),
                migrations.AlterField(
                    model_name="outboundevent",
                    name="created_at",
                    field=models.DateTimeField(default=prakerja.common.clock.now),
                ),
                migrations.AlterField(
                    model_name="outboundevent",
                    name="next_attempt_at",
                    field=models.DateTimeField(default=prakerja.common.clock.now),
                ),
                migrations.AlterField(
                    model_name="partner",
                    name="created_at",
                    field=models.DateTimeField(default=prakerja.common.clock.now),
                ),
                migrations.AlterField(
                    model_name="partnersecret",
                    name="created_at",
                    field=models.DateTimeField(default=prakerja.common.clock.now),
                ),
            ],
            database_operations=[],
        ),
    ]
