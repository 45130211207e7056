"""Settings, URLs, the Celery app and the table of environment variables."""

from prakerja.config.celery import app as celery_app

__all__ = ["celery_app"]
