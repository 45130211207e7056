"""The project's URLs with handler500 = common.middleware.server_error, for the test of an
exception raised outside ApplicationErrorMiddleware."""

from prakerja.config.urls import urlpatterns

__all__ = ["urlpatterns"]

handler500 = "prakerja.common.middleware.server_error"
