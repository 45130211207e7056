from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "prakerja.notifications"
    verbose_name = "Messages to participants"
