from django.db import migrations

from prakerja.common.immutable import forbid_update_operation


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [
        forbid_update_operation("ledger_transaction"),
        forbid_update_operation("ledger_leg"),
    ]
