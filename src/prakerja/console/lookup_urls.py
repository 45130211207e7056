"""The participant look-up under /console/peserta/."""

from django.urls import URLPattern, path

from prakerja.console.lookup_views import search_view, timeline_view

app_name = "console_lookup"

urlpatterns: list[URLPattern] = [
    path("", search_view, name="search"),
    path("<int:registrant_id>/", timeline_view, name="timeline"),
]
