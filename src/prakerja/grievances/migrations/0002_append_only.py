from django.db import migrations

from prakerja.common.immutable import forbid_update_operation


class Migration(migrations.Migration):
    dependencies = [("grievances", "0001_initial")]
    operations = [forbid_update_operation("grievances_complaintevent")]
