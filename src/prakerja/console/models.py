"""The console's own permissions, which belong to no stored record: roles (console/roles.py) are
groups of these and of the models' permissions."""

from django.db import models


class ConsoleAccess(models.Model):
    """No table: only the carrier of the console-wide permissions."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_dashboards", "Can view and export the dashboards"),
            ("view_audit_log", "Can view the audit log"),
            ("lookup_participant", "Can look up a participant's record (masked)"),
            ("unmask_personal_data", "Can unmask a participant's personal data (audited)"),
        ]

    def __str__(self) -> str:
        return "console"
