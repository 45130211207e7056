from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ConsoleConfig(AppConfig):
    name = "prakerja.console"
    verbose_name = "Console"

    def ready(self) -> None:
        from prakerja.console import auth_audit
        from prakerja.console.roles import sync_after_migrate

        post_migrate.connect(sync_after_migrate, dispatch_uid="console-roles-sync")
        auth_audit.connect()
