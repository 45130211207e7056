"""Model defaults read the program's clock (prakerja.common.clock.now), so the simulation sets
one clock instead of patching time. A callable default never reaches the database: the state
changes, the tables do not (SQLite would otherwise rebuild each table for nothing)."""

from django.db import migrations, models

import prakerja.common.clock


class Migration(migrations.Migration):
    dependencies = [
        ("registration", "0002_signup_token_and_nik_claim"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="apitoken",
                    name="created_at",
                    field=models.DateTimeField(default=prakerja.common.clock.now),
                ),
                migrations.AlterField(
                    model_name="exclusionimport",
                    name="started_at",
                    field=models.DateTimeField(default=prakerja.common.clock.now),
                ),
                migrations.AlterField(
                    model_name="onetimecode",
                    name="created_at",
                    field=models.DateTimeField(default=prakerja.common.clock.now),
                ),
                migrations.AlterField(
                    model_name="registrant",
                    name="created_at",
                    field=models.DateTimeField(default=prakerja.common.clock.now),
                ),
                migrations.AlterField(
                    model_name="verificationstep",
                    name="at",
                    field=models.DateTimeField(default=prakerja.common.clock.now),
                ),
            ],
            database_operations=[],
        ),
    ]
