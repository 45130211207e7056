"""The admin app with the console's own site (admin_site.ConsoleAdminSite) as its default site, so
every `@admin.register` lands on a site that demands the second factor. Kept apart from
admin_site.py: INSTALLED_APPS imports this before the models are ready."""

from django.contrib.admin.apps import AdminConfig


class ConsoleAdminConfig(AdminConfig):
    default_site = "prakerja.console.admin_site.ConsoleAdminSite"
