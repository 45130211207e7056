"""The Celery app. With CELERY_BROKER_URL set, tasks go to `prakerja worker`; without it they run
inline in the caller."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prakerja.config.settings")

app = Celery("prakerja")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
